-- Retention by count, besides each job's time-based keep_for: keep the latest N completed and the
-- latest M failed jobs of a type (BullMQ's removeOnComplete: {count}, removeOnFail), set per type
-- (defineJob's `keep`, or set_type_retention in SQL) and applied by purge_jobs (so by the hourly
-- edgejobs-purge too). Never touches queued or processing jobs. A job deleted by count goes before
-- its keep_for ends: its idempotency key can then be used again (docs/guarantees.md says so).

alter table edgejobs.job_types
  add column keep_completed integer,
  add column keep_failed integer,
  add constraint job_types_keep_counts_range check (
    (keep_completed is null or keep_completed between 0 and 1000000) and (keep_failed is null or keep_failed between 0 and 1000000));
comment on column edgejobs.job_types.keep_completed is 'Keep at most this many completed jobs of the type (the latest); purge_jobs deletes older ones. Null: by time only.';
comment on column edgejobs.job_types.keep_failed is 'Keep at most this many failed jobs of the type (the latest); purge_jobs deletes older ones. Null: by time only.';

create function public.set_type_retention(types jsonb)
returns table (type text, keep_completed integer, keep_failed integer)
language plpgsql volatile security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_bad record;
begin
  if set_type_retention.types is null or jsonb_typeof(set_type_retention.types) <> 'array' then
    raise exception 'edgejobs: types must be a JSON array of {type, keep_completed, keep_failed}' using errcode = 'EJ001';
  end if;
  select t.ord - 1 as idx, x.problem into v_bad
  from jsonb_array_elements(set_type_retention.types) with ordinality as t(e, ord)
  cross join lateral (select case
      when jsonb_typeof(t.e) <> 'object' then 'must be an object'
      when jsonb_typeof(t.e -> 'type') is distinct from 'string' then 'type must be a string'
      when exists (select from jsonb_object_keys(t.e) k where k not in ('type', 'keep_completed', 'keep_failed')) then 'may only hold type, keep_completed, keep_failed'
      when coalesce(t.e -> 'keep_completed', 'null') <> 'null' and (jsonb_typeof(t.e -> 'keep_completed') <> 'number' or (t.e ->> 'keep_completed') !~ '^\d+$'
        or (t.e ->> 'keep_completed')::numeric > 1000000) then 'keep_completed must be an integer from 0 to 1000000, or null'
      when coalesce(t.e -> 'keep_failed', 'null') <> 'null' and (jsonb_typeof(t.e -> 'keep_failed') <> 'number' or (t.e ->> 'keep_failed') !~ '^\d+$'
        or (t.e ->> 'keep_failed')::numeric > 1000000) then 'keep_failed must be an integer from 0 to 1000000, or null'
      when not exists (select from edgejobs.job_types jt where jt.type = t.e ->> 'type') then 'type ' || (t.e ->> 'type') || ' is not registered'
    end as problem) x
  where x.problem is not null
  order by t.ord limit 1;
  if found then
    raise exception 'edgejobs: types[%] %', v_bad.idx, v_bad.problem using errcode = 'EJ001';
  end if;
  return query
  update edgejobs.job_types jt
  set keep_completed = (t.e ->> 'keep_completed')::integer, keep_failed = (t.e ->> 'keep_failed')::integer
  from jsonb_array_elements(set_type_retention.types) t(e)
  where jt.type = t.e ->> 'type'
    -- Unchanged rows are not written (every process registers at start).
    and (jt.keep_completed, jt.keep_failed) is distinct from ((t.e ->> 'keep_completed')::integer, (t.e ->> 'keep_failed')::integer)
  returning jt.type, jt.keep_completed, jt.keep_failed;
end
$$;
comment on function public.set_type_retention(jsonb) is
  $$edgejobs operator: keep at most keep_completed completed and keep_failed failed jobs of each type (the latest; null: by time only), e.g. select * from set_type_retention('[{"type": "report.generate", "keep_completed": 100, "keep_failed": 500}]'). registerJobTypes() calls it with each type's defineJob `keep`. Returns the types it changed (an unchanged one is not written). Applied by purge_jobs.$$;

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
revoke execute on function public.set_type_retention(jsonb) from public, anon, authenticated;
grant execute on function public.set_type_retention(jsonb) to service_role;
