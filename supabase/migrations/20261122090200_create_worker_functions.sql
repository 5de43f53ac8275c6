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
  v_bad record;
begin
  if p_jobs is null or jsonb_typeof(p_jobs) <> 'array' then
    raise exception 'edgejobs: jobs must be a JSON array of {id, lease_token, ...} objects' using errcode = 'EJ001';
  end if;
  select t.ord - 1 as idx into v_bad
  from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
  where jsonb_typeof(t.e) <> 'object'
     or not coalesce(edgejobs.is_uuid_text(t.e ->> 'id'), false)
     or not coalesce(edgejobs.is_uuid_text(t.e ->> 'lease_token'), false)
  order by t.ord limit 1;
  if found then
    raise exception 'edgejobs: jobs[%] must be an object with uuid "id" and "lease_token"', v_bad.idx using errcode = 'EJ001';
  end if;
  return query
  select t.ord, (t.e ->> 'id')::uuid, (t.e ->> 'lease_token')::uuid, t.e
  from jsonb_array_elements(p_jobs) with ordinality as t(e, ord);
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
  -- that jobs failing together do not retry together. See README "Retries and backoff".
  select make_interval(secs => least(max_seconds, base_seconds * power(2::double precision, greatest(attempt - 1, 0)))
                               * (0.75 + random() * 0.5))
$$;
comment on function edgejobs.retry_delay(integer, double precision, double precision) is
  'Retry delay after the given attempt failed: min(max, base * 2^(attempt-1)) with +-25% jitter.';

-- ---------------------------------------------------------------------------------------------

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
as $$
declare
  v_paused text[];
  v_limited text[];
  v_full text[];
  v_ids uuid[];
  v_queues text[];
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

  select coalesce(array_agg(q.name) filter (where q.paused), '{}'),
         coalesce(array_agg(q.name) filter (where not q.paused and q.concurrency_limit is not null), '{}')
    into v_paused, v_limited
  from edgejobs.queues q;

  if cardinality(v_limited) > 0 then
    -- Queues already at their limit are skipped (an unlocked count: the check below is the real one).
    select coalesce(array_agg(q.name), '{}') into v_full from edgejobs.queues q
    where q.name = any (v_limited)
      and q.concurrency_limit <= (select count(*) from edgejobs.jobs j where j.status = 'processing' and j.queue = q.name);
    v_paused := v_paused || v_full;
  end if;

  -- The claim: walks jobs_claim_idx in order and stops after max_jobs; rows that another worker
  -- is claiming right now are skipped, not waited for.
  select array_agg(c.id order by c.priority desc, c.run_at, c.id),
         array_agg(c.queue order by c.priority desc, c.run_at, c.id)
    into v_ids, v_queues
  from (
    select j.id, j.queue, j.priority, j.run_at from edgejobs.jobs j
    where j.status = 'queued' and j.run_at <= now()
      and j.type = any (claim_jobs.job_types)
      and (claim_jobs.queues is null or j.queue = any (claim_jobs.queues))
      and j.queue <> all (v_paused)
    order by j.priority desc, j.run_at, j.id
    limit claim_jobs.max_jobs
    for update skip locked
  ) c;
  if v_ids is null then
    return;
  end if;

  if v_limited && v_queues then
    -- Concurrency limits under concurrent claims: lock the limited queues this batch touches (in
    -- name order, so claimers never deadlock), then count running jobs. The lock is held until
    -- commit, and this statement's fresh snapshot sees every claim committed before it, so two
    -- claimers can never both take the last slot.
    perform 1 from edgejobs.queues q
    where q.name = any (v_limited) and q.name = any (v_queues)
    order by q.name
    for update;

    select array_agg(r.id order by r.ord) into v_ids
    from (
      select u.id, u.queue, u.ord, row_number() over (partition by u.queue order by u.ord) as rn
      from unnest(v_ids, v_queues) with ordinality as u(id, queue, ord)
    ) r
    left join (
      select q.name, q.concurrency_limit - (select count(*) from edgejobs.jobs j
                                           where j.status = 'processing' and j.queue = q.name) as free
      from edgejobs.queues q
      where q.name = any (v_limited) and q.name = any (v_queues)
    ) s on s.name = r.queue
    where s.name is null or r.rn <= s.free;
    if v_ids is null then
      return;
    end if;
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
  'edgejobs worker: claim up to max_jobs (1-1000) ready jobs of the given types, highest priority first then earliest run_at, skipping paused queues and respecting queue concurrency limits. Each job gets a fresh lease_token and a lease of lease_seconds (1-600, default 30); attempts is incremented. FOR UPDATE SKIP LOCKED: safe under any number of concurrent workers.';

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
    where j.id = i.id and j.lease_token = i.lease_token and j.status = 'processing'
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
    where j.id = i.id and j.lease_token = i.lease_token and j.status = 'processing'
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
    set status = 'completed', result = i.item -> 'result',
        progress = case when i.item ? 'progress' then i.item -> 'progress' else j.progress end,
        lease_token = null, locked_by = null, locked_until = null,
        finished_at = now(), expires_at = now() + j.keep_for, updated_at = now()
    from i
    where j.id = i.id and j.lease_token = i.lease_token and j.status = 'processing'
    returning j.id
  )
  select i.id, case when u.id is null then 'lease_lost' else 'completed' end
  from i left join u on u.id = i.id
  order by i.ord;
end
$$;
comment on function public.complete_jobs(jsonb) is
  'edgejobs worker: complete [{id, lease_token, result?, progress?}]. Answers per job: completed, or lease_lost when the token no longer holds the job (nothing written).';

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
    select t.ord, (t.e ->> 'id')::uuid as id, (t.e ->> 'lease_token')::uuid as lease_token,
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
    set status = edgejobs.status_after_failure(j.cancel_requested_at, i.permanent, j.attempts, j.max_attempts),
        run_at = case when edgejobs.status_after_failure(j.cancel_requested_at, i.permanent, j.attempts, j.max_attempts) = 'queued'
                      then coalesce(i.retry_at, now() + edgejobs.retry_delay(j.attempts, j.backoff_base_seconds, j.backoff_max_seconds))
                      else j.run_at end,
        error = i.error || jsonb_build_object('attempt', j.attempts, 'at', now()),
        errors = j.errors || jsonb_build_array(i.error || jsonb_build_object('attempt', j.attempts, 'at', now())),
        lease_token = null, locked_by = null, locked_until = null,
        finished_at = case when edgejobs.status_after_failure(j.cancel_requested_at, i.permanent, j.attempts, j.max_attempts) = 'queued'
                           then null else now() end,
        expires_at = case when edgejobs.status_after_failure(j.cancel_requested_at, i.permanent, j.attempts, j.max_attempts) = 'queued'
                          then null else now() + j.keep_for end,
        updated_at = now()
    from i
    where j.id = i.id and j.lease_token = i.lease_token and j.status = 'processing'
    returning j.id, j.status, j.run_at
  )
  select i.id, case when u.id is null then 'lease_lost' when u.status = 'queued' then 'retrying' else u.status end,
         u.run_at
  from i left join u on u.id = i.id
  order by i.ord
$$;
comment on function edgejobs.fail_leased_jobs(jsonb) is
  'Core of fail_jobs and reap_expired_leases: records the error and moves each job to queued (retry), failed or cancelled.';

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
  'edgejobs worker: record failed attempts for [{id, lease_token, error: {message, code?, ...}, permanent?, retry_at?}]. A job is retried (outcome retrying; at retry_at or after exponential backoff with jitter) unless permanent or out of attempts (failed, the dead-letter state) or cancel was requested (cancelled). Every attempt''s error is kept in errors. lease_lost when the token no longer holds the job.';

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
        attempts = case when j.cancel_requested_at is null then j.attempts - 1 else j.attempts end,
        run_at = case when j.cancel_requested_at is null then now() else j.run_at end,
        checkpoint = case when i.item ? 'checkpoint' then i.item -> 'checkpoint' else j.checkpoint end,
        progress = case when i.item ? 'progress' then i.item -> 'progress' else j.progress end,
        lease_token = null, locked_by = null, locked_until = null,
        finished_at = case when j.cancel_requested_at is null then null else now() end,
        expires_at = case when j.cancel_requested_at is null then null else now() + j.keep_for end,
        updated_at = now()
    from i
    where j.id = i.id and j.lease_token = i.lease_token and j.status = 'processing'
    returning j.id, j.status
  )
  select i.id, case when u.id is null then 'lease_lost' else u.status end
  from i left join u on u.id = i.id
  order by i.ord;
end
$$;
comment on function public.hand_back_jobs(jsonb) is
  'edgejobs worker: return unfinished jobs to the queue at a deadline, [{id, lease_token, checkpoint?, progress?}]. The attempt is not counted and the checkpoint is kept, so the next run resumes. Outcome queued, cancelled (if cancel was requested) or lease_lost.';

create function public.reap_expired_leases(max_jobs integer default 1000)
returns table (id uuid, outcome text, run_at timestamptz)
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_items jsonb;
begin
  if reap_expired_leases.max_jobs is null or reap_expired_leases.max_jobs not between 1 and 100000 then
    raise exception 'edgejobs: max_jobs must be between 1 and 100000' using errcode = 'EJ001';
  end if;
  select jsonb_agg(jsonb_build_object(
           'id', x.id, 'lease_token', x.lease_token, 'retry_at', now(),
           'error', jsonb_build_object('message', 'lease expired: the worker ' || coalesce(x.locked_by, '?')
             || ' stopped renewing it (crashed, killed or timed out)', 'code', 'lease_expired')))
    into v_items
  from (
    select j.id, j.lease_token, j.locked_by from edgejobs.jobs j
    where j.status = 'processing' and j.locked_until < now()
    order by j.locked_until
    limit reap_expired_leases.max_jobs
    for update skip locked
  ) x;
  if v_items is null then
    return;
  end if;
  return query select * from edgejobs.fail_leased_jobs(v_items);
end
$$;
comment on function public.reap_expired_leases(integer) is
  'edgejobs worker: jobs whose lease expired (their worker died) go back to the queue at once, or to failed when out of attempts, or cancelled when cancel was requested; the lost attempt is recorded as an error with code lease_expired.';

-- ---------------------------------------------------------------------------------------------
-- Worker runs.

create function public.start_worker_run(worker_id text, trigger text, deadline_at timestamptz default null)
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
  insert into edgejobs.worker_runs (worker_id, trigger, deadline_at)
  values (start_worker_run.worker_id, start_worker_run.trigger, start_worker_run.deadline_at)
  returning edgejobs.worker_runs.id into v_id;
  return v_id;
end
$$;
comment on function public.start_worker_run(text, text, timestamptz) is
  'edgejobs worker: record the start of a drain (worker id, trigger such as cron or kick, deadline). Returns the run id for finish_worker_run.';

create function public.finish_worker_run(run_id uuid, summary jsonb default '{}'::jsonb, error jsonb default null)
returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_count integer;
  v_bad text;
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
  'edgejobs worker: record the end of a drain with its summary {claimed, completed, failed, retried, cancelled, handed_back, lease_lost, stop_reason}; a non-null error marks the run failed.';
