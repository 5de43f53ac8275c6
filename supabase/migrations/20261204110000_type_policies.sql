-- Two policies of a job type, set by the app's registration (defineJob's `keep` and
-- `retry.factor`) or in SQL (set_type_policies):
--
-- Retention by count, besides each job's time-based keep_for: keep the latest N completed and the
-- latest M failed jobs of a type (BullMQ's removeOnComplete: {count}, removeOnFail), applied by
-- purge_jobs (so by the hourly edgejobs-purge too). Never touches queued or processing jobs. A job
-- deleted by count goes before its keep_for ends: its idempotency key can then be used again
-- (docs/guarantees.md says so).
--
-- The backoff factor: the retry delay is min(max, base * factor^(attempt-1)) with +-25% jitter;
-- factor 2 unless the type says otherwise (retry: { baseDelayMs: 5000, factor: 5 } waits 5 s, 25 s,
-- 125 s). It is the type's at the time of the failure.

alter table edgejobs.job_types
  add column keep_completed integer,
  add column keep_failed integer,
  add column backoff_factor double precision,
  add constraint job_types_keep_counts_range check (
    (keep_completed is null or keep_completed between 0 and 1000000) and (keep_failed is null or keep_failed between 0 and 1000000)),
  add constraint job_types_backoff_factor_range check (backoff_factor is null or backoff_factor between 1 and 100);
comment on column edgejobs.job_types.keep_completed is 'Keep at most this many completed jobs of the type (the latest); purge_jobs deletes older ones. Null: by time only.';
comment on column edgejobs.job_types.keep_failed is 'Keep at most this many failed jobs of the type (the latest); purge_jobs deletes older ones. Null: by time only.';
comment on column edgejobs.job_types.backoff_factor is 'Each retry waits this many times longer than the one before (1-100; null: 2), up to the job''s backoff_max_seconds.';

create function public.set_type_policies(types jsonb)
returns table (type text, keep_completed integer, keep_failed integer, backoff_factor double precision)
language plpgsql volatile security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_bad record;
begin
  if set_type_policies.types is null or jsonb_typeof(set_type_policies.types) <> 'array' then
    raise exception 'edgejobs: types must be a JSON array of {type, keep_completed, keep_failed, backoff_factor}' using errcode = 'EJ001';
  end if;
  select t.ord - 1 as idx, x.problem into v_bad
  from jsonb_array_elements(set_type_policies.types) with ordinality as t(e, ord)
  cross join lateral (select case
      when jsonb_typeof(t.e) <> 'object' then 'must be an object'
      when jsonb_typeof(t.e -> 'type') is distinct from 'string' then 'type must be a string'
      when exists (select from jsonb_object_keys(t.e) k where k not in ('type', 'keep_completed', 'keep_failed', 'backoff_factor'))
        then 'may only hold type, keep_completed, keep_failed, backoff_factor'
      when coalesce(t.e -> 'keep_completed', 'null') <> 'null' and (jsonb_typeof(t.e -> 'keep_completed') <> 'number' or (t.e ->> 'keep_completed') !~ '^\d+$'
        or (t.e ->> 'keep_completed')::numeric > 1000000) then 'keep_completed must be an integer from 0 to 1000000, or null'
      when coalesce(t.e -> 'keep_failed', 'null') <> 'null' and (jsonb_typeof(t.e -> 'keep_failed') <> 'number' or (t.e ->> 'keep_failed') !~ '^\d+$'
        or (t.e ->> 'keep_failed')::numeric > 1000000) then 'keep_failed must be an integer from 0 to 1000000, or null'
      when coalesce(t.e -> 'backoff_factor', 'null') <> 'null' and (jsonb_typeof(t.e -> 'backoff_factor') <> 'number'
        or (t.e ->> 'backoff_factor')::numeric not between 1 and 100) then 'backoff_factor must be a number from 1 to 100, or null'
      when not exists (select from edgejobs.job_types jt where jt.type = t.e ->> 'type') then 'type ' || (t.e ->> 'type') || ' is not registered'
    end as problem) x
  where x.problem is not null
  order by t.ord limit 1;
  if found then
    raise exception 'edgejobs: types[%] %', v_bad.idx, v_bad.problem using errcode = 'EJ001';
  end if;
  return query
  update edgejobs.job_types jt
  set keep_completed = (t.e ->> 'keep_completed')::integer, keep_failed = (t.e ->> 'keep_failed')::integer,
      backoff_factor = (t.e ->> 'backoff_factor')::double precision
  from jsonb_array_elements(set_type_policies.types) t(e)
  where jt.type = t.e ->> 'type'
    -- Unchanged rows are not written (every process registers at start).
    and (jt.keep_completed, jt.keep_failed, jt.backoff_factor) is distinct from
        ((t.e ->> 'keep_completed')::integer, (t.e ->> 'keep_failed')::integer, (t.e ->> 'backoff_factor')::double precision)
  returning jt.type, jt.keep_completed, jt.keep_failed, jt.backoff_factor;
end
$$;
comment on function public.set_type_policies(jsonb) is
  $$edgejobs operator: per registered type, keep at most keep_completed completed and keep_failed failed jobs (the latest; null: by time only), applied by purge_jobs; and the retry backoff_factor (1-100; null: 2), e.g. select * from set_type_policies('[{"type": "report.generate", "keep_completed": 100, "keep_failed": 500, "backoff_factor": 5}]'). registerJobTypes() calls it with each type's defineJob `keep` and `retry.factor`. Returns the types it changed (an unchanged one is not written). Applied by purge_jobs.$$;

-- The jobs of one type and status past the latest `keep`, oldest first (jobs_type_finished_idx).
create function edgejobs.purge_by_count(p_max integer) returns integer
language plpgsql volatile
set search_path = ''
as $$
declare
  v_count integer := 0;
  v_rows integer;
  v_rule record;
begin
  for v_rule in
    select jt.type, s.status, s.keep
    from edgejobs.job_types jt
    cross join lateral (values ('completed', jt.keep_completed), ('failed', jt.keep_failed)) s(status, keep)
    where s.keep is not null
  loop
    exit when v_count >= p_max;
    delete from edgejobs.jobs j where j.id in (
      select k.id from edgejobs.jobs k
      where k.type = v_rule.type and k.finished_at is not null and k.status = v_rule.status
      order by k.finished_at desc
      offset v_rule.keep
      limit p_max - v_count
      for update skip locked);
    get diagnostics v_rows = row_count;
    v_count := v_count + v_rows;
  end loop;
  return v_count;
end
$$;
comment on function edgejobs.purge_by_count(integer) is
  'Deletes completed and failed jobs past each type''s keep_completed / keep_failed (the oldest first), at most p_max; returns how many.';

create or replace function public.purge_jobs(older_than interval default null, max_rows integer default 10000)
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_count integer;
begin
  if purge_jobs.older_than is not null and purge_jobs.older_than < interval '0' then
    raise exception 'edgejobs: older_than must not be negative' using errcode = 'EJ001';
  end if;
  if purge_jobs.max_rows is null or purge_jobs.max_rows not between 1 and 1000000 then
    raise exception 'edgejobs: max_rows must be between 1 and 1000000' using errcode = 'EJ001';
  end if;
  if purge_jobs.older_than is null then
    delete from edgejobs.jobs j where j.id in (
      select k.id from edgejobs.jobs k where k.expires_at < now() order by k.expires_at limit purge_jobs.max_rows
      for update skip locked);
  else
    delete from edgejobs.jobs j where j.id in (
      select k.id from edgejobs.jobs k
      where k.status in ('completed', 'failed', 'cancelled') and k.finished_at < now() - purge_jobs.older_than
      limit purge_jobs.max_rows
      for update skip locked);
  end if;
  get diagnostics v_count = row_count;
  -- Then by count: each type's keep_completed and keep_failed.
  if v_count < purge_jobs.max_rows then
    v_count := v_count + edgejobs.purge_by_count(purge_jobs.max_rows - v_count);
  end if;
  return v_count;
end
$$;
comment on function public.purge_jobs(interval, integer) is
  'edgejobs operator: delete finished jobs (completed, failed, cancelled) - those past their expires_at, or with older_than, those finished longer ago than that - and then completed and failed jobs past each type''s keep_completed / keep_failed (the latest are kept). Never touches queued or processing jobs. At most max_rows per call; returns how many were deleted.';

revoke all on function edgejobs.purge_by_count(integer) from public, anon, authenticated, service_role;
revoke execute on function public.set_type_policies(jsonb) from public, anon, authenticated;
grant execute on function public.set_type_policies(jsonb) to service_role;

-- The backoff with the type's factor: one definition, replacing the fixed doubling.
create function edgejobs.retry_delay(attempt integer, base_seconds double precision, max_seconds double precision, factor double precision)
returns interval
language sql volatile
set search_path = ''
as $$
  -- delay = min(max, base * factor^(attempt-1)) * U(0.75, 1.25): exponential, capped, +-25% jitter
  -- so that jobs failing together do not retry together. See docs/guarantees.md, "Retries and backoff".
  select make_interval(secs => least(max_seconds, base_seconds * power(coalesce(factor, 2), greatest(attempt - 1, 0)))
                               * (0.75 + random() * 0.5))
$$;
comment on function edgejobs.retry_delay(integer, double precision, double precision, double precision) is
  'Retry delay after the given attempt failed: min(max, base * factor^(attempt-1)) with +-25% jitter (factor null: 2).';

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
                      then coalesce(i.retry_at, now() + edgejobs.retry_delay(j.attempts, j.backoff_base_seconds, j.backoff_max_seconds,
                                                                           (select jt.backoff_factor from edgejobs.job_types jt where jt.type = j.type)))
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

drop function edgejobs.retry_delay(integer, double precision, double precision);
revoke all on function edgejobs.retry_delay(integer, double precision, double precision, double precision) from public, anon, authenticated, service_role;
