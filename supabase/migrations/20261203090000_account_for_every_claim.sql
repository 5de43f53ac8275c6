-- Every claimed job accounted for (issue 10): the claim takes over expired leases, fills its
-- batch around queues at their concurrency limit, and tells a drain when jobs wait for a slot;
-- a completed job carries no error; a failed attempt keeps its latest progress; empty drains
-- leave liveness, not a row each.

-- ---------------------------------------------------------------------------------------------
-- Expired leases, shared by the claim and reap_expired_leases.

create function edgejobs.reap_leases(p_max integer)
returns table (id uuid, outcome text, run_at timestamptz)
language plpgsql volatile
set search_path = ''
as $$
declare
  v_items jsonb;
begin
  -- jobs_lease_idx holds processing rows only (workers x batch): a probe that finds nothing
  -- expired reads a handful of index entries.
  -- retry_at = the job's own run_at: back in the queue at its old place in claim order, not
  -- behind every job that became ready while its worker was dead.
  select jsonb_agg(jsonb_build_object(
           'id', x.id, 'lease_token', x.lease_token, 'retry_at', x.run_at,
           'error', jsonb_build_object('message', 'lease expired: the worker ' || coalesce(x.locked_by, '?')
             || ' stopped renewing it (crashed, killed or timed out)', 'code', 'lease_expired')))
    into v_items
  from (
    select j.id, j.lease_token, j.locked_by, j.run_at from edgejobs.jobs j
    where j.status = 'processing' and j.locked_until < now()
    order by j.locked_until
    limit p_max
    for update skip locked
  ) x;
  if v_items is null then
    return;
  end if;
  return query select * from edgejobs.fail_leased_jobs(v_items);
end
$$;
comment on function edgejobs.reap_leases(integer) is
  'Moves up to p_max jobs whose lease expired back to queued (claimable at once, at their old place in claim order), or to failed when out of attempts, or cancelled when cancel was requested, recording a lease_expired error for the lost attempt. Used by claim_jobs and reap_expired_leases.';

create or replace function public.reap_expired_leases(max_jobs integer default 1000)
returns table (id uuid, outcome text, run_at timestamptz)
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  if reap_expired_leases.max_jobs is null or reap_expired_leases.max_jobs not between 1 and 100000 then
    raise exception 'edgejobs: max_jobs must be between 1 and 100000' using errcode = 'EJ001';
  end if;
  return query select * from edgejobs.reap_leases(reap_expired_leases.max_jobs);
end
$$;
comment on function public.reap_expired_leases(integer) is
  'edgejobs worker/operator: jobs whose lease expired (their worker died) go back to the queue at once, or to failed when out of attempts, or cancelled when cancel was requested; the lost attempt is recorded as an error with code lease_expired. claim_jobs does this itself before it claims, so workers need not call it.';

-- ---------------------------------------------------------------------------------------------
-- The claim.
--
-- 1. Expired leases first (graphile-worker treats a stale lock the same way): a killed worker's
--    jobs are claimable on the next claim, so recovery takes one lease plus one claim, not a lease
--    plus the next reaper pass.
-- 2. Queue concurrency limits without crowding: the batch is taken in claim order; rows of a
--    limited queue beyond its free slots are dropped and that queue is closed for this claim, and
--    the claim looks again for the rest of the batch among the other queues. Each pass closes at
--    least one more queue, so passes are bounded by the limited queues a batch touches.
--    Limited queues are locked in name order in the first pass (claimers never deadlock: a later
--    pass takes only locks it can get at once and treats the others as full).

create or replace function public.claim_jobs(
  worker_id text,
  job_types text[],
  max_jobs integer default 10,
  lease_seconds integer default 30,
  queues text[] default null
)
returns table (id uuid, type text, queue text, input jsonb, priority integer, attempts integer,
               max_attempts integer, lease_token uuid, locked_until timestamptz, progress jsonb,
               checkpoint jsonb, run_at timestamptz, created_at timestamptz, idempotency_key text,
               owner_id uuid, cancel_requested boolean)
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_closed text[];           -- not claimed from in this claim: paused, or at their limit
  v_limited text[];          -- running queues with a concurrency limit
  v_locked text[] := '{}';   -- limited queues whose row this claim holds
  v_ids uuid[] := '{}';      -- taken so far, in claim order
  v_qs text[] := '{}';       -- their queues
  v_batch_ids uuid[];
  v_batch_qs text[];
  v_want integer;
  v_got text[];
  v_keep_ids uuid[];
  v_keep_qs text[];
  v_full text[];
  v_trimmed boolean;
  v_pass integer := 0;
begin
  if claim_jobs.worker_id is null or length(claim_jobs.worker_id) not between 1 and 200 then
    raise exception 'edgejobs: worker_id must be 1-200 characters' using errcode = 'EJ001';
  end if;
  if claim_jobs.job_types is null then
    raise exception 'edgejobs: job_types must list the job types this worker can run' using errcode = 'EJ001';
  end if;
  if claim_jobs.max_jobs is null or claim_jobs.max_jobs not between 1 and 1000 then
    raise exception 'edgejobs: max_jobs must be between 1 and 1000' using errcode = 'EJ001';
  end if;
  if claim_jobs.lease_seconds is null or claim_jobs.lease_seconds not between 1 and 600 then
    raise exception 'edgejobs: lease_seconds must be between 1 and 600' using errcode = 'EJ001';
  end if;

  perform 1 from edgejobs.reap_leases(1000);

  select coalesce(array_agg(q.name) filter (where q.paused), '{}'),
         coalesce(array_agg(q.name) filter (where not q.paused and q.concurrency_limit is not null), '{}')
    into v_closed, v_limited
  from edgejobs.queues q;

  if cardinality(v_limited) > 0 then
    -- Queues already at their limit are skipped (an unlocked count: the locked one below decides).
    v_closed := v_closed || coalesce((
      select array_agg(q.name) from edgejobs.queues q
      where q.name = any (v_limited)
        and q.concurrency_limit <= (select count(*) from edgejobs.jobs j where j.status = 'processing' and j.queue = q.name)), '{}');
  end if;

  loop
    v_pass := v_pass + 1;
    v_want := claim_jobs.max_jobs - cardinality(v_ids);
    -- Walks jobs_claim_idx in order and stops after v_want rows; rows another worker is claiming
    -- right now are skipped, not waited for.
    select array_agg(c.id order by c.priority desc, c.run_at, c.id),
           array_agg(c.queue order by c.priority desc, c.run_at, c.id)
      into v_batch_ids, v_batch_qs
    from (
      select j.id, j.queue, j.priority, j.run_at from edgejobs.jobs j
      where j.status = 'queued' and j.run_at <= now()
        and j.type = any (claim_jobs.job_types)
        and (claim_jobs.queues is null or j.queue = any (claim_jobs.queues))
        and j.queue <> all (v_closed)
        and j.id <> all (v_ids)
      order by j.priority desc, j.run_at, j.id
      limit v_want
      for update skip locked
    ) c;
    exit when v_batch_ids is null;

    if not (v_limited && v_batch_qs) then
      v_ids := v_ids || v_batch_ids;
      exit;
    end if;

    -- Lock the limited queues this batch touches, then count what runs: the lock is held until
    -- commit, and the next statement's fresh snapshot sees every claim committed before it, so
    -- two claimers can never both take the last slot.
    if v_pass = 1 then
      select coalesce(array_agg(l.name), '{}') into v_got from (
        select q.name from edgejobs.queues q
        where q.name = any (v_limited) and q.name = any (v_batch_qs)
        order by q.name
        for update
      ) l;
    else
      select coalesce(array_agg(l.name), '{}') into v_got from (
        select q.name from edgejobs.queues q
        where q.name = any (v_limited) and q.name = any (v_batch_qs) and q.name <> all (v_locked)
        order by q.name
        for update skip locked
      ) l;
    end if;
    v_locked := v_locked || v_got;

    -- Keep each limited queue's rows up to its free slots (minus what earlier passes took); a
    -- limited queue whose lock another claimer holds has no free slot for this claim.
    with b as (
      select u.id, u.queue, u.ord, row_number() over (partition by u.queue order by u.ord) as rn
      from unnest(v_batch_ids, v_batch_qs) with ordinality as u(id, queue, ord)
    ),
    s as (
      select q.name,
             case when q.name = any (v_locked) then
               q.concurrency_limit
               - (select count(*) from edgejobs.jobs j where j.status = 'processing' and j.queue = q.name)
               - (select count(*) from unnest(v_qs) t(queue) where t.queue = q.name)
             else 0 end as free
      from edgejobs.queues q
      where q.name = any (v_limited) and q.name = any (v_batch_qs)
    )
    select coalesce(array_agg(b.id order by b.ord) filter (where s.name is null or b.rn <= s.free), '{}'),
           coalesce(array_agg(b.queue order by b.ord) filter (where s.name is null or b.rn <= s.free), '{}'),
           coalesce(array_agg(distinct b.queue) filter (where s.name is not null and b.rn >= s.free), '{}'),
           coalesce(bool_or(s.name is not null and b.rn > s.free), false)
      into v_keep_ids, v_keep_qs, v_full, v_trimmed
    from b left join s on s.name = b.queue;

    v_ids := v_ids || v_keep_ids;
    v_qs := v_qs || v_keep_qs;
    v_closed := v_closed || v_full;
    -- Look again only when rows were dropped, the batch has room, and this pass found as many
    -- rows as it asked for (fewer means every candidate was seen).
    exit when not v_trimmed or cardinality(v_ids) >= claim_jobs.max_jobs
      or cardinality(v_batch_ids) < v_want or v_pass >= 16;
  end loop;

  if cardinality(v_ids) = 0 then
    return;
  end if;

  return query
  with u as (
    update edgejobs.jobs j
    set status = 'processing', attempts = j.attempts + 1, lease_token = gen_random_uuid(),
        locked_by = claim_jobs.worker_id,
        locked_until = now() + make_interval(secs => claim_jobs.lease_seconds),
        started_at = now(), updated_at = now()
    where j.id = any (v_ids)
    returning j.id, j.type, j.queue, j.input, j.priority, j.attempts, j.max_attempts, j.lease_token,
              j.locked_until, j.progress, j.checkpoint, j.run_at, j.created_at, j.idempotency_key,
              j.owner_id, j.cancel_requested_at is not null as cancel_requested
  )
  select * from u order by u.priority desc, u.run_at, u.id;
end
$$;
-- The plan pinned to jobs_claim_idx (see 20261123090000_cheaper_worker_writes.sql: right after a
-- bulk enqueue, before autovacuum analyzed, the planner read and sorted every queued job).
alter function public.claim_jobs(text, text[], integer, integer, text[])
  set enable_bitmapscan = off
  set enable_seqscan = off;
comment on function public.claim_jobs(text, text[], integer, integer, text[]) is
  'edgejobs worker: claim up to max_jobs (1-1000) ready jobs of the given types, highest priority first then earliest run_at. Jobs whose lease expired are taken back first (claimable at once). Paused queues are skipped; a queue with a concurrency limit gets at most its free slots and the batch is filled from other queues. Each job gets a fresh lease_token and a lease of lease_seconds (1-600, default 30); attempts is incremented. FOR UPDATE SKIP LOCKED: safe under any number of concurrent workers.';

create function public.get_waiting_limited_queues(job_types text[], queues text[] default null)
returns text[]
language sql stable security definer
set search_path = ''
as $$
  -- Read after a claim came back short: ready jobs in a limited queue mean "wait for a slot", not
  -- "the queue is empty". Not only full queues: the claim may have found the queue full just
  -- before one of this drain's own completions committed, and that is exactly the slot to refill.
  -- (Ready jobs of a queue that is not full and that the claim skipped were locked by another
  -- claimer; waiting for a slot costs this drain one more look.) Runs only after short claims,
  -- and reads nothing of the jobs table when no queue has a limit.
  select coalesce(array_agg(q.name order by q.name), '{}')
  from edgejobs.queues q
  where not q.paused and q.concurrency_limit is not null
    and (get_waiting_limited_queues.queues is null or q.name = any (get_waiting_limited_queues.queues))
    and exists (
      select 1 from edgejobs.jobs j
      where j.status = 'queued' and j.run_at <= now() and j.queue = q.name
        and j.type = any (get_waiting_limited_queues.job_types))
$$;
comment on function public.get_waiting_limited_queues(text[], text[]) is
  'edgejobs worker: the queues with a concurrency limit that hold ready jobs of these types (optionally only these queues). After a claim that came back short, a non-empty answer means jobs wait for a free slot: the drain claims again when one of its own jobs in such a queue ends, and polls for slots others free.';

-- ---------------------------------------------------------------------------------------------
-- Outcomes.

-- A completed job's `error` is null: `error` is why a job ended badly (or why it waits for a
-- retry); the history stays in `errors`.
create or replace function public.complete_jobs(jobs jsonb)
returns table (id uuid, outcome text)
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  return query
  with i as (select * from edgejobs.parse_leases(complete_jobs.jobs)),
  u as (
    update edgejobs.jobs j
    set status = 'completed', result = i.item -> 'result', error = null,
        progress = case when i.item ? 'progress' then i.item -> 'progress' else j.progress end,
        lease_token = null, locked_by = null, locked_until = null,
        finished_at = now(), expires_at = now() + j.keep_for, updated_at = now()
    from i
    where j.id = any (array(select i.id from i)) and j.id = i.id and j.lease_token = i.lease_token
    returning j.id
  )
  select i.id, case when u.id is null then 'lease_lost' else 'completed' end
  from i left join u on u.id = i.id
  order by i.ord;
end
$$;
comment on function public.complete_jobs(jsonb) is
  'edgejobs worker: complete [{id, lease_token, result?, progress?}]; the job''s error is cleared (earlier attempts stay in errors). Answers per job: completed, or lease_lost when the token no longer holds the job (nothing written).';

-- The next state is computed once per row (a correlated sub-select in SET reads the row being
-- updated), and a failed attempt keeps the progress its handler last reported.
create or replace function edgejobs.fail_leased_jobs(p_items jsonb)
returns table (id uuid, outcome text, run_at timestamptz)
language sql volatile
set search_path = ''
as $$
  with i as (
    select t.ord, (t.e ->> 'id')::uuid as id, (t.e ->> 'lease_token')::uuid as lease_token, t.e as item,
           coalesce((t.e ->> 'permanent')::boolean, false) as permanent,
           (t.e ->> 'retry_at')::timestamptz as retry_at,
           jsonb_build_object('message', 'unknown error')
             || case when jsonb_typeof(t.e -> 'error') = 'object' then t.e -> 'error'
                     when (t.e ->> 'error') is not null then jsonb_build_object('message', t.e ->> 'error')
                     else '{}'::jsonb end as error
    from jsonb_array_elements(p_items) with ordinality as t(e, ord)
  ),
  u as (
    update edgejobs.jobs j
    set (status, run_at, finished_at, expires_at) = (
          select n.status,
                 case when n.status = 'queued'
                      then coalesce(i.retry_at, now() + edgejobs.retry_delay(j.attempts, j.backoff_base_seconds, j.backoff_max_seconds))
                      else j.run_at end,
                 case when n.status = 'queued' then null else now() end,
                 case when n.status = 'queued' then null else now() + j.keep_for end
          from (select edgejobs.status_after_failure(j.cancel_requested_at, i.permanent, j.attempts, j.max_attempts) as status) n),
        error = i.error || jsonb_build_object('attempt', j.attempts, 'at', now()),
        errors = j.errors || jsonb_build_array(i.error || jsonb_build_object('attempt', j.attempts, 'at', now())),
        progress = case when i.item ? 'progress' then i.item -> 'progress' else j.progress end,
        lease_token = null, locked_by = null, locked_until = null,
        updated_at = now()
    from i
    where j.id = any (array(select i.id from i)) and j.id = i.id and j.lease_token = i.lease_token
    returning j.id, j.status, j.run_at
  )
  select i.id, case when u.id is null then 'lease_lost' when u.status = 'queued' then 'retrying' else u.status end,
         u.run_at
  from i left join u on u.id = i.id
  order by i.ord
$$;
comment on function edgejobs.fail_leased_jobs(jsonb) is
  'Core of fail_jobs and reap_expired_leases: records the error (and the latest progress, when given) and moves each job to queued (retry), failed or cancelled.';

comment on function public.fail_jobs(jsonb) is
  'edgejobs worker: record failed attempts for [{id, lease_token, error: {message, code?, ...}, permanent?, retry_at?, progress?}]. A job is retried (outcome retrying; at retry_at or after exponential backoff with jitter) unless permanent or out of attempts (failed, the dead-letter state) or cancel was requested (cancelled). Every attempt''s error is kept in errors; progress, when given, is the handler''s latest. lease_lost when the token no longer holds the job.';

-- A hand-back never counts the attempt, also when the job ends cancelled: a job cancelled while
-- it waited in a drain (claimed, never started) is handed back, and its attempts show the runs
-- that happened.
create or replace function public.hand_back_jobs(jobs jsonb)
returns table (id uuid, outcome text)
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  return query
  with i as (select * from edgejobs.parse_leases(hand_back_jobs.jobs)),
  u as (
    update edgejobs.jobs j
    set status = case when j.cancel_requested_at is null then 'queued' else 'cancelled' end,
        attempts = j.attempts - 1,
        run_at = case when j.cancel_requested_at is null then now() else j.run_at end,
        checkpoint = case when i.item ? 'checkpoint' then i.item -> 'checkpoint' else j.checkpoint end,
        progress = case when i.item ? 'progress' then i.item -> 'progress' else j.progress end,
        lease_token = null, locked_by = null, locked_until = null,
        finished_at = case when j.cancel_requested_at is null then null else now() end,
        expires_at = case when j.cancel_requested_at is null then null else now() + j.keep_for end,
        updated_at = now()
    from i
    where j.id = any (array(select i.id from i)) and j.id = i.id and j.lease_token = i.lease_token
    returning j.id, j.status
  )
  select i.id, case when u.id is null then 'lease_lost' else u.status end
  from i left join u on u.id = i.id
  order by i.ord;
end
$$;
comment on function public.hand_back_jobs(jsonb) is
  'edgejobs worker: return unfinished jobs to the queue ([{id, lease_token, checkpoint?, progress?}]): at a deadline or a stop, or jobs claimed but never started. The attempt is not counted and the checkpoint is kept, so the next run resumes. Outcome queued, cancelled (if cancel was requested) or lease_lost.';
comment on column edgejobs.jobs.attempts is 'Runs started so far, counting the current one; a hand-back (deadline, stop, or a job that never started) does not count.';

-- ---------------------------------------------------------------------------------------------
-- Worker runs: a row for every drain that did something, liveness for the rest.
--
-- An Edge Function on a 5-second schedule, or a dev loop, drains an empty queue thousands of
-- times a day; a row each buried the runs operators read (367 of 383 after three minutes of
-- npm run dev). A drain still inserts its row when it starts (running drains are counted for
-- fan-out and the kick), but finish_worker_run deletes the row of a drain that claimed nothing
-- and did not fail, and records the look here instead.

create table edgejobs.worker_liveness (
  id boolean primary key default true,
  last_look_at timestamptz,
  last_worker_id text,
  last_trigger text,
  empty_looks bigint not null default 0,
  constraint worker_liveness_singleton check (id)
);
insert into edgejobs.worker_liveness default values;
alter table edgejobs.worker_liveness enable row level security;
revoke all on table edgejobs.worker_liveness from public, anon, authenticated, service_role;
comment on table edgejobs.worker_liveness is 'edgejobs: when a worker last looked for jobs and found none (such drains leave no worker_runs row). One row.';
comment on column edgejobs.worker_liveness.id is 'Always true: the table holds exactly one row.';
comment on column edgejobs.worker_liveness.last_look_at is 'When the last drain that claimed nothing finished.';
comment on column edgejobs.worker_liveness.last_worker_id is 'The worker id of that drain.';
comment on column edgejobs.worker_liveness.last_trigger is 'What started that drain (cron, kick, worker, dev, ...).';
comment on column edgejobs.worker_liveness.empty_looks is 'Drains that claimed nothing, counted instead of recorded in worker_runs.';

create or replace function public.finish_worker_run(run_id uuid, summary jsonb default '{}'::jsonb, error jsonb default null)
returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_count integer;
  v_bad text;
  v_run edgejobs.worker_runs;
begin
  if finish_worker_run.summary is null or jsonb_typeof(finish_worker_run.summary) <> 'object' then
    raise exception 'edgejobs: summary must be a JSON object' using errcode = 'EJ001';
  end if;
  select k into v_bad from unnest(array['claimed', 'completed', 'failed', 'retried', 'cancelled', 'handed_back', 'lease_lost']) k
  where (finish_worker_run.summary ->> k) is not null and not edgejobs.is_json_int(finish_worker_run.summary -> k, 0, 2147483647)
  limit 1;
  if found then
    raise exception 'edgejobs: summary.% must be a non-negative integer', v_bad using errcode = 'EJ001';
  end if;
  if finish_worker_run.error is null
     and coalesce((finish_worker_run.summary ->> 'claimed')::integer, 0) = 0
     and coalesce((finish_worker_run.summary ->> 'lease_lost')::integer, 0) = 0 then
    delete from edgejobs.worker_runs r
    where r.id = finish_worker_run.run_id and r.status = 'running'
    returning * into v_run;
    if v_run.id is null then
      raise exception 'edgejobs: worker run % not found or already finished', finish_worker_run.run_id using errcode = 'EJ004';
    end if;
    update edgejobs.worker_liveness l
    set last_look_at = now(), last_worker_id = v_run.worker_id, last_trigger = v_run.trigger,
        empty_looks = l.empty_looks + 1
    where l.id;
    return;
  end if;
  update edgejobs.worker_runs r
  set status = case when finish_worker_run.error is null then 'succeeded' else 'failed' end,
      finished_at = now(),
      claimed = coalesce((finish_worker_run.summary ->> 'claimed')::integer, 0),
      completed = coalesce((finish_worker_run.summary ->> 'completed')::integer, 0),
      failed = coalesce((finish_worker_run.summary ->> 'failed')::integer, 0),
      retried = coalesce((finish_worker_run.summary ->> 'retried')::integer, 0),
      cancelled = coalesce((finish_worker_run.summary ->> 'cancelled')::integer, 0),
      handed_back = coalesce((finish_worker_run.summary ->> 'handed_back')::integer, 0),
      lease_lost = coalesce((finish_worker_run.summary ->> 'lease_lost')::integer, 0),
      stop_reason = left(finish_worker_run.summary ->> 'stop_reason', 64),
      error = finish_worker_run.error
  where r.id = finish_worker_run.run_id and r.status = 'running';
  get diagnostics v_count = row_count;
  if v_count = 0 then
    raise exception 'edgejobs: worker run % not found or already finished', finish_worker_run.run_id using errcode = 'EJ004';
  end if;
end
$$;
comment on function public.finish_worker_run(uuid, jsonb, jsonb) is
  'edgejobs worker: record the end of a drain with its summary {claimed, completed, failed, retried, cancelled, handed_back, lease_lost, stop_reason}; a non-null error marks the run failed. A drain that claimed nothing and did not fail leaves no row: its run is deleted and counted in edgejobs.worker_liveness.';

comment on column edgejobs.worker_runs.stop_reason is 'Why the drain stopped: empty (nothing claimable), limited (jobs wait for a slot in a queue at its concurrency limit that other workers hold), deadline, aborted or error.';
comment on table edgejobs.worker_runs is 'One row per drain that claimed a job or failed (drains that found nothing leave edgejobs.worker_liveness instead): who ran it, why (trigger), when, what it did, and how it ended. A row left running past its deadline means the worker was killed.';

-- Health. A drain that found nothing ended well: it counts as a success (the last success, and
-- the end of a run of failures) and as a sighting of a worker, though it left no run row.
drop function public.get_queue_health();
create function public.get_queue_health()
returns table (ready bigint, scheduled bigint, processing bigint, oldest_ready_age_seconds double precision,
               last_run_started_at timestamptz, last_run_finished_at timestamptz, last_run_status text,
               last_success_at timestamptz, consecutive_failed_runs integer, last_seen_at timestamptz)
language sql stable security definer
set search_path = ''
as $$
  with runs as (
    -- A run still marked running a minute past its deadline was killed: it counts as failed.
    select r.started_at, r.finished_at,
           case when r.status = 'running' and r.deadline_at < now() - interval '1 minute' then 'lost' else r.status end as status
    from edgejobs.worker_runs r
    order by r.started_at desc
    limit 1000
  ),
  look as (select l.last_look_at from edgejobs.worker_liveness l),
  success as (
    select greatest((select max(r.started_at) from runs r where r.status = 'succeeded'), (select last_look_at from look)) as since,
           greatest((select max(r.finished_at) from runs r where r.status = 'succeeded'), (select last_look_at from look)) as at
  )
  select
    (select count(*) from edgejobs.jobs j where j.status = 'queued' and j.run_at <= now()),
    (select count(*) from edgejobs.jobs j where j.status = 'queued' and j.run_at > now()),
    (select count(*) from edgejobs.jobs j where j.status = 'processing'),
    (select extract(epoch from now() - min(j.run_at))::double precision from edgejobs.jobs j
      where j.status = 'queued' and j.run_at <= now()),
    (select max(r.started_at) from runs r),
    (select r.finished_at from runs r order by r.started_at desc limit 1),
    (select r.status from runs r order by r.started_at desc limit 1),
    (select s.at from success s),
    (select count(*)::integer from runs r
      where r.status in ('failed', 'lost') and r.started_at > coalesce((select s.since from success s), '-infinity')),
    greatest((select max(r.started_at) from runs r), (select max(r.finished_at) from runs r), (select last_look_at from look))
$$;
comment on function public.get_queue_health() is
  'edgejobs operator: queue depth (ready, scheduled, processing), age in seconds of the oldest ready job, the last recorded worker run and its status, the last success (a run that succeeded, or a drain that found nothing), how many runs in a row have failed or been lost since, and when a worker was last seen (a run started or finished, or a drain that found nothing).';

revoke execute on function public.get_queue_health(), public.get_waiting_limited_queues(text[], text[]) from public, anon, authenticated;
grant execute on function public.get_queue_health(), public.get_waiting_limited_queues(text[], text[]) to service_role;
revoke all on function edgejobs.reap_leases(integer) from public, anon, authenticated, service_role;
