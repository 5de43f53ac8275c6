-- edgejobs: the worker API (service role only).
--
-- Fenced leases: claim_jobs gives every job a fresh lease_token and a short lease. Every later
-- write (heartbeat, progress, checkpoint, complete, fail, hand back) names the job AND its token;
-- a write whose token no longer matches (the lease expired and the job was reaped or claimed by
-- another worker) changes nothing and is reported back as 'lease_lost'. Batch functions take a
-- JSON array of {id, lease_token, ...} and answer one row per element, in order: one round trip
-- per batch.

create function edgejobs.parse_leases(p_jobs jsonb)
returns table (ord bigint, id uuid, lease_token uuid, item jsonb)
language plpgsql immutable
set search_path = ''
as $$
declare
  v_bad bigint;
  v_e jsonb;
begin
  if p_jobs is null or jsonb_typeof(p_jobs) <> 'array' then
    raise exception 'edgejobs: jobs must be a JSON array of {id, lease_token, ...} objects' using errcode = 'EJ001';
  end if;
  select t.ord - 1 into v_bad
  from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
  where jsonb_typeof(t.e) <> 'object'
     or jsonb_typeof(t.e -> 'id') is distinct from 'string'
     or jsonb_typeof(t.e -> 'lease_token') is distinct from 'string'
  order by t.ord limit 1;
  if found then
    raise exception 'edgejobs: jobs[%] must be an object with uuid "id" and "lease_token"', v_bad using errcode = 'EJ001';
  end if;
  begin
    return query
    select t.ord, (t.e ->> 'id')::uuid, (t.e ->> 'lease_token')::uuid, t.e
    from jsonb_array_elements(p_jobs) with ordinality as t(e, ord);
  exception when invalid_text_representation then
    -- Rare path: find the element whose id or lease_token is not a uuid.
    for v_bad, v_e in
      select t.ord - 1, t.e from jsonb_array_elements(p_jobs) with ordinality as t(e, ord) order by t.ord
    loop
      begin
        perform (v_e ->> 'id')::uuid, (v_e ->> 'lease_token')::uuid;
      exception when invalid_text_representation then
        raise exception 'edgejobs: jobs[%] must be an object with uuid "id" and "lease_token"', v_bad using errcode = 'EJ001';
      end;
    end loop;
    raise;
  end;
end
$$;
comment on function edgejobs.parse_leases(jsonb) is
  'Validates a worker batch (array of objects with uuid id and lease_token), raising EJ001 with the bad index; returns the elements in order.';

create function edgejobs.retry_delay(attempt integer, base_seconds double precision, max_seconds double precision)
returns interval
language sql volatile
set search_path = ''
as $$
  -- delay = min(max, base * 2^(attempt-1)) * U(0.75, 1.25): exponential, capped, +-25% jitter so
  -- that jobs failing together do not retry together. See docs/guarantees.md, "Retries and backoff".
  select make_interval(secs => least(max_seconds, base_seconds * power(2::double precision, greatest(attempt - 1, 0)))
                               * (0.75 + random() * 0.5))
$$;
comment on function edgejobs.retry_delay(integer, double precision, double precision) is
  'Retry delay after the given attempt failed: min(max, base * 2^(attempt-1)) with +-25% jitter.';

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

-- ---------------------------------------------------------------------------------------------
-- Claim. The plan is pinned to jobs_claim_idx (enable_bitmapscan/seqscan off): right after a bulk
-- enqueue, before autovacuum analyzed, the planner read and sorted every queued job instead of
-- walking the index for a handful of rows (30 ms instead of 4 ms per 1,000-job claim with 20,000
-- queued).

create function public.claim_jobs(
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
set enable_bitmapscan = off
set enable_seqscan = off
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

create function public.heartbeat_jobs(jobs jsonb, lease_seconds integer default 30)
returns table (id uuid, outcome text, locked_until timestamptz, cancel_requested boolean)
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  if heartbeat_jobs.lease_seconds is null or heartbeat_jobs.lease_seconds not between 1 and 600 then
    raise exception 'edgejobs: lease_seconds must be between 1 and 600' using errcode = 'EJ001';
  end if;
  return query
  with i as (select * from edgejobs.parse_leases(heartbeat_jobs.jobs)),
  u as (
    update edgejobs.jobs j
    set locked_until = now() + make_interval(secs => heartbeat_jobs.lease_seconds), updated_at = now()
    from i
    where j.id = any (array(select i.id from i)) and j.id = i.id and j.lease_token = i.lease_token
    returning j.id, j.locked_until, j.cancel_requested_at is not null as cancel_requested
  )
  select i.id, case when u.id is null then 'lease_lost' else 'extended' end, u.locked_until,
         coalesce(u.cancel_requested, false)
  from i left join u on u.id = i.id
  order by i.ord;
end
$$;
comment on function public.heartbeat_jobs(jsonb, integer) is
  'edgejobs worker: extend the leases of [{id, lease_token}] by lease_seconds. Answers per job: outcome extended or lease_lost, the new lease end, and cancel_requested (abort the handler).';

create function public.save_job_progress(jobs jsonb)
returns table (id uuid, outcome text, cancel_requested boolean)
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  return query
  with i as (select * from edgejobs.parse_leases(save_job_progress.jobs)),
  u as (
    update edgejobs.jobs j
    set progress = case when i.item ? 'progress' then i.item -> 'progress' else j.progress end,
        checkpoint = case when i.item ? 'checkpoint' then i.item -> 'checkpoint' else j.checkpoint end,
        updated_at = now()
    from i
    where j.id = any (array(select i.id from i)) and j.id = i.id and j.lease_token = i.lease_token
    returning j.id, j.cancel_requested_at is not null as cancel_requested
  )
  select i.id, case when u.id is null then 'lease_lost' else 'saved' end, coalesce(u.cancel_requested, false)
  from i left join u on u.id = i.id
  order by i.ord;
end
$$;
comment on function public.save_job_progress(jsonb) is
  'edgejobs worker: store progress and/or checkpoint for [{id, lease_token, progress?, checkpoint?}] (a key left out keeps the old value). Answers per job: saved or lease_lost, and cancel_requested.';

create function public.complete_jobs(jobs jsonb)
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

create function edgejobs.status_after_failure(
  cancel_requested_at timestamptz, permanent boolean, attempts integer, max_attempts integer
) returns text
language sql immutable
set search_path = ''
as $$
  -- cancelled if a cancel was requested, failed if permanent or out of attempts, else queued.
  select case when cancel_requested_at is not null then 'cancelled'
              when permanent or attempts >= max_attempts then 'failed'
              else 'queued' end
$$;
comment on function edgejobs.status_after_failure(timestamptz, boolean, integer, integer) is
  'The state a failed attempt leads to: cancelled (cancel requested), failed (permanent or no attempts left) or queued (retry).';

create function edgejobs.fail_leased_jobs(p_items jsonb)
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

create function public.fail_jobs(jobs jsonb)
returns table (id uuid, outcome text, run_at timestamptz)
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_bad record;
begin
  perform edgejobs.parse_leases(fail_jobs.jobs);
  select t.ord - 1 as idx, 'retry_at must be an ISO 8601 timestamp' as problem into v_bad
  from jsonb_array_elements(fail_jobs.jobs) with ordinality as t(e, ord)
  where (t.e ->> 'retry_at') is not null
    and not (t.e ->> 'retry_at' ~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$')
  union all
  select t.ord - 1, 'permanent must be a boolean'
  from jsonb_array_elements(fail_jobs.jobs) with ordinality as t(e, ord)
  where (t.e ->> 'permanent') is not null and jsonb_typeof(t.e -> 'permanent') <> 'boolean'
  order by 1 limit 1;
  if found then
    raise exception 'edgejobs: jobs[%] %', v_bad.idx, v_bad.problem using errcode = 'EJ001';
  end if;
  return query select * from edgejobs.fail_leased_jobs(fail_jobs.jobs);
exception when invalid_datetime_format or datetime_field_overflow then
  raise exception 'edgejobs: a retry_at is not a valid timestamp (%)', sqlerrm using errcode = 'EJ001';
end
$$;
comment on function public.fail_jobs(jsonb) is
  'edgejobs worker: record failed attempts for [{id, lease_token, error: {message, code?, ...}, permanent?, retry_at?, progress?}]. A job is retried (outcome retrying; at retry_at or after exponential backoff with jitter) unless permanent or out of attempts (failed, the dead-letter state) or cancel was requested (cancelled). Every attempt''s error is kept in errors; progress, when given, is the handler''s latest. lease_lost when the token no longer holds the job.';

create function public.hand_back_jobs(jobs jsonb)
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

create function public.reap_expired_leases(max_jobs integer default 1000)
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
-- Worker runs.

create function public.start_worker_run(worker_id text, trigger text, deadline_at timestamptz default null,
                                        worker_name text default null, job_types text[] default null)
returns uuid
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_id uuid;
begin
  if start_worker_run.worker_id is null or length(start_worker_run.worker_id) not between 1 and 200 then
    raise exception 'edgejobs: worker_id must be 1-200 characters' using errcode = 'EJ001';
  end if;
  if start_worker_run.trigger is null or length(start_worker_run.trigger) not between 1 and 64 then
    raise exception 'edgejobs: trigger must be 1-64 characters' using errcode = 'EJ001';
  end if;
  if start_worker_run.worker_name is not null and length(start_worker_run.worker_name) not between 1 and 200 then
    raise exception 'edgejobs: worker_name must be 1-200 characters' using errcode = 'EJ001';
  end if;
  insert into edgejobs.worker_runs (worker_id, trigger, deadline_at)
  values (start_worker_run.worker_id, start_worker_run.trigger, start_worker_run.deadline_at)
  returning edgejobs.worker_runs.id into v_id;
  if start_worker_run.worker_name is not null and start_worker_run.job_types is not null then
    insert into edgejobs.job_type_workers as w (type, worker_name)
    select jt.type, start_worker_run.worker_name from edgejobs.job_types jt
    where jt.type = any(start_worker_run.job_types)
    order by 1
    on conflict on constraint job_type_workers_pkey do update set last_seen_at = now()
    where w.last_seen_at < now() - interval '5 seconds';
  end if;
  return v_id;
end
$$;
comment on function public.start_worker_run(text, text, timestamptz, text, text[]) is
  'edgejobs worker: record the start of a drain (worker id, trigger such as cron or kick, deadline). With worker_name and job_types (the types it runs), also marks that worker as seen for each registered type. Returns the run id for finish_worker_run.';

create function public.finish_worker_run(run_id uuid, summary jsonb default '{}'::jsonb, error jsonb default null)
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

create function public.register_job_types(types jsonb, worker_name text default null)
returns integer
language plpgsql volatile security definer
set search_path = ''
set lock_timeout = '5s'
as $$
declare
  v_allowed constant text[] := array['type', 'queue', 'priority', 'max_attempts', 'backoff_base_seconds',
    'backoff_max_seconds', 'keep_for_seconds', 'users_may_enqueue', 'anonymous_may_enqueue', 'input_schema'];
  v_bad record;
  v_count integer;
begin
  if register_job_types.types is null or jsonb_typeof(register_job_types.types) <> 'array'
     or jsonb_array_length(register_job_types.types) not between 1 and 1000 then
    raise exception 'edgejobs: types must be a JSON array of 1-1000 job type objects' using errcode = 'EJ001';
  end if;
  if register_job_types.worker_name is not null and length(register_job_types.worker_name) not between 1 and 200 then
    raise exception 'edgejobs: worker_name must be 1-200 characters' using errcode = 'EJ001';
  end if;
  select t.ord - 1 as idx,
    case
      when jsonb_typeof(t.e) <> 'object' then 'must be an object'
      when (t.e - v_allowed) <> '{}'::jsonb then
        'has unknown field ' || (select string_agg(quote_ident(k), ', ') from jsonb_object_keys(t.e - v_allowed) k)
      when jsonb_typeof(t.e -> 'users_may_enqueue') not in ('boolean', 'null') then 'users_may_enqueue must be a boolean'
      when jsonb_typeof(t.e -> 'anonymous_may_enqueue') not in ('boolean', 'null') then 'anonymous_may_enqueue must be a boolean'
      when (t.e -> 'anonymous_may_enqueue') = 'true' and (t.e -> 'users_may_enqueue') = 'false'
        then 'anonymous_may_enqueue needs users_may_enqueue'
      when jsonb_typeof(t.e -> 'input_schema') not in ('object', 'null') then 'input_schema must be a JSON Schema object'
      when (select count(*) from jsonb_array_elements(register_job_types.types) o where o ->> 'type' = t.e ->> 'type') > 1
        then 'names a type given more than once'
    end as problem
  into v_bad
  from jsonb_array_elements(register_job_types.types) with ordinality as t(e, ord)
  where jsonb_typeof(t.e) <> 'object' or (t.e - v_allowed) <> '{}'::jsonb
     or jsonb_typeof(t.e -> 'users_may_enqueue') not in ('boolean', 'null')
     or jsonb_typeof(t.e -> 'anonymous_may_enqueue') not in ('boolean', 'null')
     or ((t.e -> 'anonymous_may_enqueue') = 'true' and (t.e -> 'users_may_enqueue') = 'false')
     or jsonb_typeof(t.e -> 'input_schema') not in ('object', 'null')
     or (select count(*) from jsonb_array_elements(register_job_types.types) o where o ->> 'type' = t.e ->> 'type') > 1
  order by t.ord limit 1;
  if found then
    raise exception 'edgejobs: types[%] %', v_bad.idx, v_bad.problem using errcode = 'EJ001';
  end if;
  -- The type and option fields follow exactly the enqueue rules: check them with the same code.
  begin
    perform edgejobs.validate_job_specs((
      select jsonb_agg(t.e - array['users_may_enqueue', 'anonymous_may_enqueue', 'input_schema'] order by t.ord)
      from jsonb_array_elements(register_job_types.types) with ordinality as t(e, ord)));
  exception when sqlstate 'EJ001' then
    raise exception '%', replace(sqlerrm, 'edgejobs: jobs[', 'edgejobs: types[') using errcode = 'EJ001';
  end;

  insert into edgejobs.job_types as jt (type, queue, priority, max_attempts, backoff_base_seconds, backoff_max_seconds,
    keep_for, users_may_enqueue, anonymous_may_enqueue, input_schema)
  select t.e ->> 'type', t.e ->> 'queue', (t.e ->> 'priority')::integer, (t.e ->> 'max_attempts')::integer,
    (t.e ->> 'backoff_base_seconds')::double precision, (t.e ->> 'backoff_max_seconds')::double precision,
    make_interval(secs => (t.e ->> 'keep_for_seconds')::double precision),
    coalesce((t.e ->> 'users_may_enqueue')::boolean, true), coalesce((t.e ->> 'anonymous_may_enqueue')::boolean, false),
    nullif(t.e -> 'input_schema', 'null'::jsonb)
  from jsonb_array_elements(register_job_types.types) t(e)
  order by t.e ->> 'type' -- one lock order for concurrent registrations
  on conflict (type) do update
  set queue = excluded.queue, priority = excluded.priority, max_attempts = excluded.max_attempts,
      backoff_base_seconds = excluded.backoff_base_seconds, backoff_max_seconds = excluded.backoff_max_seconds,
      keep_for = excluded.keep_for,
      -- Who may enqueue a type is the app's to say (its routes register without a worker name): a
      -- worker's registration sets it only for a type it is the first to register, so a worker
      -- on older code cannot reopen a type the app has closed.
      users_may_enqueue = case when register_job_types.worker_name is null then excluded.users_may_enqueue else jt.users_may_enqueue end,
      anonymous_may_enqueue = case when register_job_types.worker_name is null then excluded.anonymous_may_enqueue else jt.anonymous_may_enqueue end,
      input_schema = excluded.input_schema, updated_at = now()
  -- A registration that changes nothing writes nothing (every cold start registers).
  where (jt.queue, jt.priority, jt.max_attempts, jt.backoff_base_seconds, jt.backoff_max_seconds, jt.keep_for, jt.input_schema)
    is distinct from
        (excluded.queue, excluded.priority, excluded.max_attempts, excluded.backoff_base_seconds, excluded.backoff_max_seconds,
         excluded.keep_for, excluded.input_schema)
     or (register_job_types.worker_name is null
         and (jt.users_may_enqueue, jt.anonymous_may_enqueue) is distinct from (excluded.users_may_enqueue, excluded.anonymous_may_enqueue));
  v_count := jsonb_array_length(register_job_types.types);

  if register_job_types.worker_name is not null then
    insert into edgejobs.job_type_workers as w (type, worker_name)
    select t.e ->> 'type', register_job_types.worker_name
    from jsonb_array_elements(register_job_types.types) t(e)
    order by 1
    on conflict on constraint job_type_workers_pkey do update set last_seen_at = now();
    -- This worker now runs exactly these types; forget workers unseen for 30 days.
    delete from edgejobs.job_type_workers w
    where (w.worker_name = register_job_types.worker_name
           and not exists (select from jsonb_array_elements(register_job_types.types) t(e) where t.e ->> 'type' = w.type))
       or w.last_seen_at < now() - interval '30 days';
  end if;
  return v_count;
end
$$;
comment on function public.register_job_types(jsonb, text) is
$$edgejobs: register job types (service role; the app and every worker call it when they start, from their defineJob registry; idempotent). `types` is a JSON array of {type, queue, priority, max_attempts, backoff_base_seconds, backoff_max_seconds, keep_for_seconds, users_may_enqueue (true), anonymous_may_enqueue (false), input_schema}; each row is replaced by what is given (last registration wins), except who may enqueue a type (users_may_enqueue, anonymous_may_enqueue): that is the app's registration's (no worker_name) to change; a worker's sets it only for a type new to the table. With `worker_name`, records that this worker runs exactly these types. Waits at most 5 s for locks. Returns the number of types.$$;