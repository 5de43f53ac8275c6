-- Singleton keys: at most one job per (type, key, owner) queued or processing at a time. A second
-- enqueue with the key answers the live job (replayed: true) instead of storing another; unlike an
-- idempotency key, the key is free again as soon as the job ends (completed, failed, cancelled).
-- Per enqueue (`singleton_key`, `options.singletonKey`) or per type (defineJob's `singletonKey`).
-- Safe under concurrent enqueues: a unique index over the live jobs decides.

alter table edgejobs.jobs
  add column singleton_key text,
  add constraint jobs_singleton_key_length check (singleton_key is null or length(singleton_key) between 1 and 255);
comment on column edgejobs.jobs.singleton_key is 'While the job is queued or processing, no other job of its type and owner has this key (enqueue answers this one instead).';
create unique index jobs_singleton_live on edgejobs.jobs (type, singleton_key, coalesce(owner_id, '00000000-0000-0000-0000-000000000000'::uuid))
  where singleton_key is not null and status in ('queued', 'processing');

create or replace function edgejobs.validate_job_specs(p_jobs jsonb) returns void
language plpgsql stable
set search_path = ''
as $$
declare
  v_allowed constant text[] := array['type', 'input', 'queue', 'priority', 'run_at', 'delay_seconds',
    'max_attempts', 'backoff_base_seconds', 'backoff_max_seconds', 'idempotency_key', 'keep_for_seconds', 'singleton_key'];
  v_bad record;
begin
  if p_jobs is null or jsonb_typeof(p_jobs) <> 'array' then
    raise exception 'edgejobs: jobs must be a JSON array of job objects' using errcode = 'EJ001';
  end if;
  if jsonb_array_length(p_jobs) > 50000 then
    raise exception 'edgejobs: at most 50000 jobs per call, got %', jsonb_array_length(p_jobs) using errcode = 'EJ001';
  end if;
  -- One pass over the batch: the first element that is too big (EJ002) or malformed (EJ001).
  select v.idx, v.bytes, v.max_bytes, v.problem into v_bad
  from (
    select t.ord - 1 as idx, t.ord, s.max_input_bytes as max_bytes,
      case when jsonb_typeof(t.e) = 'object' then octet_length((t.e -> 'input')::text) end as bytes,
      case
      when jsonb_typeof(t.e) <> 'object' then 'must be an object'
      when (t.e - v_allowed) <> '{}'::jsonb then
        'has unknown field ' || (select string_agg(quote_ident(k), ', ') from jsonb_object_keys(t.e - v_allowed) k)
        || ' (allowed: ' || array_to_string(v_allowed, ', ') || ')'
      when jsonb_typeof(t.e -> 'type') is distinct from 'string' then 'type is required and must be a string'
      when length(t.e ->> 'type') not between 1 and 128 or t.e ->> 'type' ~ '[^A-Za-z0-9_.:/-]' then 'type must be 1-128 characters: letters, digits, _ . : / -'
      when (t.e ->> 'queue') is not null and (jsonb_typeof(t.e -> 'queue') <> 'string' or length(t.e ->> 'queue') not between 1 and 64 or t.e ->> 'queue' ~ '[^A-Za-z0-9_.:-]')
        then 'queue must be 1-64 characters: letters, digits, _ . : -'
      when (t.e ->> 'priority') is not null and not (case when jsonb_typeof(t.e -> 'priority') <> 'number' then false else scale((t.e -> 'priority')::numeric) = 0 and (t.e -> 'priority')::numeric between -1000000 and 1000000 end)
        then 'priority must be an integer between -1000000 and 1000000'
      when (t.e ->> 'run_at') is not null and (t.e ->> 'delay_seconds') is not null then 'give run_at or delay_seconds, not both'
      when (t.e ->> 'run_at') is not null and (jsonb_typeof(t.e -> 'run_at') <> 'string'
        or not (t.e ->> 'run_at' ~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$'))
        then 'run_at must be an ISO 8601 timestamp, like 2026-01-31T12:00:00Z'
      when (t.e ->> 'delay_seconds') is not null and not (case when jsonb_typeof(t.e -> 'delay_seconds') <> 'number' then false else (t.e -> 'delay_seconds')::numeric between 0 and 31536000 end)
        then 'delay_seconds must be a number of seconds between 0 and 31536000 (a year)'
      when (t.e ->> 'max_attempts') is not null and not (case when jsonb_typeof(t.e -> 'max_attempts') <> 'number' then false else scale((t.e -> 'max_attempts')::numeric) = 0 and (t.e -> 'max_attempts')::numeric between 1 and 1000 end)
        then 'max_attempts must be an integer between 1 and 1000'
      when (t.e ->> 'backoff_base_seconds') is not null and not (case when jsonb_typeof(t.e -> 'backoff_base_seconds') <> 'number' then false else (t.e -> 'backoff_base_seconds')::numeric between 0.001 and 86400 end)
        then 'backoff_base_seconds must be a number between 0.001 and 86400'
      when (t.e ->> 'backoff_max_seconds') is not null and not (case when jsonb_typeof(t.e -> 'backoff_max_seconds') <> 'number' then false else (t.e -> 'backoff_max_seconds')::numeric between 0.001 and 2592000 end)
        then 'backoff_max_seconds must be a number between 0.001 and 2592000 (30 days)'
      when coalesce((t.e ->> 'backoff_max_seconds')::double precision, 3600) < coalesce((t.e ->> 'backoff_base_seconds')::double precision, 1)
        then 'backoff_max_seconds must not be below backoff_base_seconds'
      when (t.e ->> 'idempotency_key') is not null and (jsonb_typeof(t.e -> 'idempotency_key') <> 'string'
        or length(t.e ->> 'idempotency_key') not between 1 and 255)
        then 'idempotency_key must be a string of 1-255 characters'
      when (t.e ->> 'singleton_key') is not null and (jsonb_typeof(t.e -> 'singleton_key') <> 'string'
        or length(t.e ->> 'singleton_key') not between 1 and 255)
        then 'singleton_key must be a string of 1-255 characters'
      when (t.e ->> 'keep_for_seconds') is not null and not (case when jsonb_typeof(t.e -> 'keep_for_seconds') <> 'number' then false else scale((t.e -> 'keep_for_seconds')::numeric) = 0 and (t.e -> 'keep_for_seconds')::numeric between 1 and 315360000 end)
        then 'keep_for_seconds must be an integer between 1 and 315360000 (ten years)'
    end as problem
    from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
    cross join edgejobs.settings s
  ) v
  where v.bytes > v.max_bytes or v.problem is not null
  order by v.ord limit 1;
  if not found then
    return;
  end if;
  if v_bad.bytes > v_bad.max_bytes then
    raise exception 'edgejobs: jobs[%].input is % bytes; the limit is % bytes', v_bad.idx, v_bad.bytes, v_bad.max_bytes
      using errcode = 'EJ002', hint = 'Store large payloads in Supabase Storage and pass a reference.';
  end if;
  raise exception 'edgejobs: jobs[%] %', v_bad.idx, v_bad.problem using errcode = 'EJ001';
end
$$;

create or replace function edgejobs.insert_jobs(p_jobs jsonb, p_owner uuid)
returns table (id uuid, type text, queue text, status text, priority integer, run_at timestamptz,
               created_at timestamptz, idempotency_key text, replayed boolean)
language plpgsql volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_ids uuid[];
  v_bad record;
  v_constraint text;
  v_registered boolean;
begin
  perform edgejobs.validate_job_specs(p_jobs);
  if not edgejobs.caller_is_service() then
    perform edgejobs.check_user_enqueue(p_jobs);
  end if;
  -- With a registry, a type it does not know is refused by the INSERT below (EJ006).
  v_registered := exists (select from edgejobs.job_types);

  if not (p_jobs @? '$[*].idempotency_key ? (@ != null)') and not (p_jobs @? '$[*].singleton_key ? (@ != null)') then
    -- No idempotency or singleton keys (the common case): one statement inserts and answers, in order.
    begin
      return query
      with src as materialized (
        select t.ord, t.e, gen_random_uuid() as id
        from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
      ),
      ins as (
        insert into edgejobs.jobs as j (id, type, queue, input, priority, run_at, max_attempts,
          backoff_base_seconds, backoff_max_seconds, owner_id, keep_for)
        select src.id,
          case when jt.type is null and v_registered
            then edgejobs.refuse('EJ006', format('edgejobs: unknown job type "%s" (jobs[%s])', src.e ->> 'type', src.ord - 1))
            else src.e ->> 'type' end,
          coalesce(src.e ->> 'queue', jt.queue, 'default'),
          coalesce(src.e -> 'input', '{}'::jsonb),
          coalesce((src.e ->> 'priority')::integer, jt.priority, 0),
          case
            -- An end user's past run_at means now: it may not jump ahead of jobs already waiting.
            when (src.e ->> 'run_at') is not null and p_owner is not null then greatest((src.e ->> 'run_at')::timestamptz, now())
            when (src.e ->> 'run_at') is not null then (src.e ->> 'run_at')::timestamptz
            when (src.e ->> 'delay_seconds') is not null then now() + make_interval(secs => (src.e ->> 'delay_seconds')::double precision)
            else now()
          end,
          coalesce((src.e ->> 'max_attempts')::integer, jt.max_attempts, 3),
          coalesce((src.e ->> 'backoff_base_seconds')::double precision, jt.backoff_base_seconds, 1),
          coalesce((src.e ->> 'backoff_max_seconds')::double precision, jt.backoff_max_seconds, 3600),
          p_owner,
          coalesce(make_interval(secs => (src.e ->> 'keep_for_seconds')::double precision), jt.keep_for,
                   (select s.default_keep_for from edgejobs.settings s))
        from src
        left join edgejobs.job_types jt on jt.type = src.e ->> 'type'
        order by src.ord
        returning j.id, j.type, j.queue, j.status, j.priority, j.run_at, j.created_at, j.idempotency_key
      )
      select ins.id, ins.type, ins.queue, ins.status, ins.priority, ins.run_at, ins.created_at, ins.idempotency_key, false
      from src join ins on ins.id = src.id
      order by src.ord;
    exception
      when invalid_datetime_format or datetime_field_overflow then
        raise exception 'edgejobs: a run_at is not a valid timestamp (%)', sqlerrm using errcode = 'EJ001';
      when check_violation then
        get stacked diagnostics v_constraint = constraint_name;
        if v_constraint = 'jobs_backoff_valid' then
          raise exception 'edgejobs: a job''s backoff_max_seconds is below its backoff_base_seconds (given, or from its type)' using errcode = 'EJ001';
        end if;
        raise;
    end;
    return;
  end if;

  -- Ids are chosen up front so that every statement below sees the same row -> id mapping.
  select array_agg(gen_random_uuid()) into v_ids from generate_series(1, jsonb_array_length(p_jobs));
  if v_ids is null then
    return;
  end if;
  -- Some jobs carry idempotency or singleton keys. An idempotency key whose job has expired may be
  -- used again: release it before inserting. (A singleton key frees itself: its index holds
  -- queued and processing jobs only.)
  update edgejobs.jobs j set idempotency_key = null, updated_at = now()
  from (select distinct e ->> 'type' as type, e ->> 'idempotency_key' as k
        from jsonb_array_elements(p_jobs) e where (e ->> 'idempotency_key') is not null) x
  where j.type = x.type and j.idempotency_key = x.k and j.owner_id is not distinct from p_owner
    and j.expires_at < now();

  begin
    insert into edgejobs.jobs as j (id, type, queue, input, priority, run_at, max_attempts,
      backoff_base_seconds, backoff_max_seconds, idempotency_key, owner_id, keep_for, singleton_key)
    select v_ids[t.ord],
      case when jt.type is null and v_registered
        then edgejobs.refuse('EJ006', format('edgejobs: unknown job type "%s" (jobs[%s])', t.e ->> 'type', t.ord - 1))
        else t.e ->> 'type' end,
      coalesce(t.e ->> 'queue', jt.queue, 'default'),
      coalesce(t.e -> 'input', '{}'::jsonb),
      coalesce((t.e ->> 'priority')::integer, jt.priority, 0),
      case
        -- An end user's past run_at means now: it may not jump ahead of jobs already waiting.
        when (t.e ->> 'run_at') is not null and p_owner is not null then greatest((t.e ->> 'run_at')::timestamptz, now())
        when (t.e ->> 'run_at') is not null then (t.e ->> 'run_at')::timestamptz
        when (t.e ->> 'delay_seconds') is not null then now() + make_interval(secs => (t.e ->> 'delay_seconds')::double precision)
        else now()
      end,
      coalesce((t.e ->> 'max_attempts')::integer, jt.max_attempts, 3),
      coalesce((t.e ->> 'backoff_base_seconds')::double precision, jt.backoff_base_seconds, 1),
      coalesce((t.e ->> 'backoff_max_seconds')::double precision, jt.backoff_max_seconds, 3600),
      t.e ->> 'idempotency_key',
      p_owner,
      coalesce(make_interval(secs => (t.e ->> 'keep_for_seconds')::double precision), jt.keep_for,
               (select s.default_keep_for from edgejobs.settings s)),
      t.e ->> 'singleton_key'
    from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
    left join edgejobs.job_types jt on jt.type = t.e ->> 'type'
    order by t.ord
    -- Either key: an idempotency key already used (a replay, or EJ003 below), or a singleton key
    -- whose job is queued or processing (answered with that job). Concurrent enqueues of one key
    -- wait here for the first to commit.
    on conflict do nothing;
  exception
    when invalid_datetime_format or datetime_field_overflow then
      raise exception 'edgejobs: a run_at is not a valid timestamp (%)', sqlerrm using errcode = 'EJ001';
    when check_violation then
      get stacked diagnostics v_constraint = constraint_name;
      if v_constraint = 'jobs_backoff_valid' then
        raise exception 'edgejobs: a job''s backoff_max_seconds is below its backoff_base_seconds (given, or from its type)' using errcode = 'EJ001';
      end if;
      raise;
  end;

  -- Rows that were not inserted hit an existing key: a replay if the input is the same.
  select t.ord - 1 as idx, t.e ->> 'idempotency_key' as k, j.id as existing into v_bad
  from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
  join edgejobs.jobs j on j.type = t.e ->> 'type' and j.idempotency_key = t.e ->> 'idempotency_key'
    and j.owner_id is not distinct from p_owner
  where j.id <> v_ids[t.ord] and j.input is distinct from coalesce(t.e -> 'input', '{}'::jsonb)
  order by t.ord limit 1;
  if found then
    raise exception 'edgejobs: jobs[%] reuses idempotency key "%" of job % with a different input', v_bad.idx, v_bad.k, v_bad.existing
      using errcode = 'EJ003', hint = 'Use a new key for new input; the key is kept until the job expires.';
  end if;

  -- A singleton key's job that ended between the conflict and now leaves the spec unanswered: the
  -- enqueue is to be tried again (serialization failure, which the stores treat as transient).
  select t.ord - 1 as idx into v_bad
  from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
  where not exists (select from edgejobs.jobs k where k.id = v_ids[t.ord])
    and not exists (select from edgejobs.jobs k where (t.e ->> 'idempotency_key') is not null and k.type = t.e ->> 'type'
                      and k.idempotency_key = t.e ->> 'idempotency_key' and k.owner_id is not distinct from p_owner)
    and not exists (select from edgejobs.jobs k where (t.e ->> 'singleton_key') is not null and k.type = t.e ->> 'type'
                      and k.singleton_key = t.e ->> 'singleton_key' and k.owner_id is not distinct from p_owner
                      and k.status in ('queued', 'processing'))
  limit 1;
  if found then
    raise exception 'edgejobs: jobs[%] met a singleton key''s job as it ended; enqueue again', v_bad.idx using errcode = '40001';
  end if;

  return query
  select j.id, j.type, j.queue, j.status, j.priority, j.run_at, j.created_at, j.idempotency_key,
         j.id <> v_ids[t.ord] as replayed
  from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
  cross join lateral (
    (select k.* from edgejobs.jobs k where k.id = v_ids[t.ord]
     union all
     select k.* from edgejobs.jobs k
     where (t.e ->> 'idempotency_key') is not null and k.type = t.e ->> 'type'
       and k.idempotency_key = t.e ->> 'idempotency_key' and k.owner_id is not distinct from p_owner
     union all
     select k.* from edgejobs.jobs k
     where (t.e ->> 'singleton_key') is not null and k.type = t.e ->> 'type'
       and k.singleton_key = t.e ->> 'singleton_key' and k.owner_id is not distinct from p_owner
       and k.status in ('queued', 'processing'))
    limit 1
  ) j
  order by t.ord;
end
$$;

drop function public.enqueue_job(text, jsonb, text, integer, timestamptz, double precision, integer, double precision, double precision, text, integer);
create function public.enqueue_job(
  type text,
  input jsonb default '{}'::jsonb,
  queue text default null,
  priority integer default null,
  run_at timestamptz default null,
  delay_seconds double precision default null,
  max_attempts integer default null,
  backoff_base_seconds double precision default null,
  backoff_max_seconds double precision default null,
  idempotency_key text default null,
  keep_for_seconds integer default null,
  singleton_key text default null
)
returns table (id uuid, type text, queue text, status text, priority integer, run_at timestamptz,
               created_at timestamptz, idempotency_key text, replayed boolean)
language sql volatile security definer
set search_path = ''
as $$
  select * from edgejobs.insert_jobs(
    jsonb_build_array(
      jsonb_strip_nulls(jsonb_build_object(
        'type', enqueue_job.type, 'queue', enqueue_job.queue, 'priority', enqueue_job.priority,
        'run_at', enqueue_job.run_at, 'delay_seconds', enqueue_job.delay_seconds,
        'max_attempts', enqueue_job.max_attempts, 'backoff_base_seconds', enqueue_job.backoff_base_seconds,
        'backoff_max_seconds', enqueue_job.backoff_max_seconds, 'idempotency_key', enqueue_job.idempotency_key,
        'keep_for_seconds', enqueue_job.keep_for_seconds, 'singleton_key', enqueue_job.singleton_key))
      || jsonb_build_object('input', coalesce(enqueue_job.input, '{}'::jsonb))),
    edgejobs.caller_owner_id())
$$;
comment on function public.enqueue_job(text, jsonb, text, integer, timestamptz, double precision, integer, double precision, double precision, text, integer, text) is
  'edgejobs: enqueue one job (see enqueue_jobs for every option, default and rule: queue, priority, attempts, backoff and keep-for are the service role''s to set). Returns the job id, status and whether an idempotency key replayed an existing job or a singleton key answered the live one. Callable from SQL, e.g. select * from enqueue_job(''send_email'', ''{"to": "a@b.c"}'').';
revoke execute on function public.enqueue_job(text, jsonb, text, integer, timestamptz, double precision, integer, double precision, double precision, text, integer, text) from public, anon;
grant execute on function public.enqueue_job(text, jsonb, text, integer, timestamptz, double precision, integer, double precision, double precision, text, integer, text) to authenticated, service_role;

comment on function public.enqueue_jobs(jsonb) is
$$edgejobs: enqueue many jobs in one call. `jobs` is a JSON array of objects with `type` (required), `input`, `run_at` or `delay_seconds`, `idempotency_key`, `singleton_key`, and, for the service role only, `queue`, `priority` (higher first), `max_attempts` (counting the first run), `backoff_base_seconds`, `backoff_max_seconds`, `keep_for_seconds`; options left out come from the type's row in edgejobs.job_types, else 'default', 0, 3, 1, 3600, 7 days. Returns one row per job, in order; `replayed` is true when an idempotency key matched an existing job, or a singleton key a job of the type and owner that is queued or processing (nothing new stored). All or nothing: any refused element (EJ001 malformed, EJ002 too large, EJ003 key reused, EJ006 unknown type, EJ007 input breaks the type's schema, 42501 option or type not open to the caller) stores nothing. The owner is auth.uid() (null for the service role).$$;
