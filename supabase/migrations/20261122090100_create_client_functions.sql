-- edgejobs: shared helpers and the client API (enqueue, get, list, cancel).
--
-- Every function is SECURITY DEFINER with an empty search_path and fully qualified names, so it
-- reads the private tables while the caller holds no table privilege at all. Ownership always
-- comes from auth.uid(), never from a parameter. Errors use our own SQLSTATEs (class EJ) so that
-- callers can branch on a code, not on message text:
--   EJ001 invalid argument   EJ002 input too large   EJ003 idempotency key reused with other input
--   EJ004 job not found       EJ005 job already finished

-- ---------------------------------------------------------------------------------------------
-- Helpers (private; called only from the functions below).

create function edgejobs.caller_is_service() returns boolean
language sql stable
set search_path = ''
as $$
  -- PostgREST switches to the JWT's role with SET ROLE (set_config('role', ...)); a direct
  -- connection (the dashboard, a worker on SUPABASE_DB_URL) has no such role set. Only the two
  -- end-user roles are restricted to their own jobs.
  select coalesce(nullif(current_setting('role', true), ''), 'none') not in ('anon', 'authenticated')
$$;
comment on function edgejobs.caller_is_service() is
  'True unless the caller acts as anon or authenticated: service_role and direct database connections see every job.';

create function edgejobs.caller_owner_id() returns uuid
language plpgsql stable
set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
begin
  if edgejobs.caller_is_service() then
    return null;
  end if;
  if v_uid is null then
    raise exception 'edgejobs: a signed-in user is required (auth.uid() is null)'
      using errcode = '42501', hint = 'Call with a user''s JWT, or from the server with the service role.';
  end if;
  return v_uid;
end
$$;
comment on function edgejobs.caller_owner_id() is
  'The owner recorded on jobs the caller enqueues: auth.uid() for end users (who must be signed in), null for the service role.';

create function edgejobs.is_json_int(v jsonb, lo bigint, hi bigint) returns boolean
language sql immutable
set search_path = ''
as $$
  select jsonb_typeof(v) = 'number' and v::text ~ '^-?[0-9]{1,18}$' and v::text::bigint between lo and hi
$$;
comment on function edgejobs.is_json_int(jsonb, bigint, bigint) is 'True when the JSON value is an integer between lo and hi.';

create function edgejobs.is_json_seconds(v jsonb, lo double precision, hi double precision) returns boolean
language sql immutable
set search_path = ''
as $$
  select jsonb_typeof(v) = 'number' and v::text::double precision between lo and hi
$$;
comment on function edgejobs.is_json_seconds(jsonb, double precision, double precision) is 'True when the JSON value is a number between lo and hi.';

create function edgejobs.is_uuid_text(v text) returns boolean
language sql immutable
set search_path = ''
as $$
  select v ~ '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$'
$$;
comment on function edgejobs.is_uuid_text(text) is 'True when the text is a uuid in its canonical 8-4-4-4-12 form.';

-- What clients see of a job: everything but the lease internals.
create type public.job_details as (
  id uuid,
  type text,
  queue text,
  status text,
  priority integer,
  input jsonb,
  progress jsonb,
  result jsonb,
  error jsonb,
  attempts integer,
  max_attempts integer,
  run_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz,
  started_at timestamptz,
  finished_at timestamptz,
  cancel_requested_at timestamptz,
  idempotency_key text,
  expires_at timestamptz
);
comment on type public.job_details is 'edgejobs: a job as clients see it (no lease internals). Returned by get_job, list_jobs and cancel_job.';

create function edgejobs.details(j edgejobs.jobs) returns public.job_details
language sql immutable
set search_path = ''
as $$
  select row(j.id, j.type, j.queue, j.status, j.priority, j.input, j.progress, j.result, j.error,
             j.attempts, j.max_attempts, j.run_at, j.created_at, j.updated_at, j.started_at,
             j.finished_at, j.cancel_requested_at, j.idempotency_key, j.expires_at)::public.job_details
$$;
comment on function edgejobs.details(edgejobs.jobs) is 'Projects a jobs row onto public.job_details.';

-- ---------------------------------------------------------------------------------------------
-- Enqueue. One core for single and bulk enqueue; the public functions only decide the owner.

create function edgejobs.validate_job_specs(p_jobs jsonb) returns void
language plpgsql stable
set search_path = ''
as $$
declare
  v_max_bytes integer;
  v_allowed constant text[] := array['type', 'input', 'queue', 'priority', 'run_at', 'delay_seconds',
    'max_attempts', 'backoff_base_seconds', 'backoff_max_seconds', 'idempotency_key', 'keep_for_seconds'];
  v_bad record;
begin
  if p_jobs is null or jsonb_typeof(p_jobs) <> 'array' then
    raise exception 'edgejobs: jobs must be a JSON array of job objects' using errcode = 'EJ001';
  end if;
  if jsonb_array_length(p_jobs) > 50000 then
    raise exception 'edgejobs: at most 50000 jobs per call, got %', jsonb_array_length(p_jobs) using errcode = 'EJ001';
  end if;
  select s.max_input_bytes into v_max_bytes from edgejobs.settings s;

  select t.ord - 1 as idx, octet_length((t.e -> 'input')::text) as bytes into v_bad
  from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
  where jsonb_typeof(t.e) = 'object' and octet_length((t.e -> 'input')::text) > v_max_bytes
  order by t.ord limit 1;
  if found then
    raise exception 'edgejobs: jobs[%].input is % bytes; the limit is % bytes', v_bad.idx, v_bad.bytes, v_max_bytes
      using errcode = 'EJ002', hint = 'Store large payloads in Supabase Storage and pass a reference.';
  end if;

  select v.idx, v.problem into v_bad
  from (
    select t.ord - 1 as idx, t.ord, case
      when jsonb_typeof(t.e) <> 'object' then 'must be an object'
      when (t.e - v_allowed) <> '{}'::jsonb then
        'has unknown field ' || (select string_agg(quote_ident(k), ', ') from jsonb_object_keys(t.e - v_allowed) k)
        || ' (allowed: ' || array_to_string(v_allowed, ', ') || ')'
      when jsonb_typeof(t.e -> 'type') is distinct from 'string' then 'type is required and must be a string'
      when not (t.e ->> 'type' ~ '^[A-Za-z0-9_.:/-]{1,128}$') then 'type must be 1-128 characters: letters, digits, _ . : / -'
      when (t.e ->> 'queue') is not null and (jsonb_typeof(t.e -> 'queue') <> 'string' or not (t.e ->> 'queue' ~ '^[A-Za-z0-9_.:-]{1,64}$'))
        then 'queue must be 1-64 characters: letters, digits, _ . : -'
      when (t.e ->> 'priority') is not null and not edgejobs.is_json_int(t.e -> 'priority', -1000000, 1000000)
        then 'priority must be an integer between -1000000 and 1000000'
      when (t.e ->> 'run_at') is not null and (t.e ->> 'delay_seconds') is not null then 'give run_at or delay_seconds, not both'
      when (t.e ->> 'run_at') is not null and (jsonb_typeof(t.e -> 'run_at') <> 'string'
        or not (t.e ->> 'run_at' ~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$'))
        then 'run_at must be an ISO 8601 timestamp, like 2026-01-31T12:00:00Z'
      when (t.e ->> 'delay_seconds') is not null and not edgejobs.is_json_seconds(t.e -> 'delay_seconds', 0, 31536000)
        then 'delay_seconds must be a number of seconds between 0 and 31536000 (a year)'
      when (t.e ->> 'max_attempts') is not null and not edgejobs.is_json_int(t.e -> 'max_attempts', 1, 1000)
        then 'max_attempts must be an integer between 1 and 1000'
      when (t.e ->> 'backoff_base_seconds') is not null and not edgejobs.is_json_seconds(t.e -> 'backoff_base_seconds', 0.001, 86400)
        then 'backoff_base_seconds must be a number between 0.001 and 86400'
      when (t.e ->> 'backoff_max_seconds') is not null and not edgejobs.is_json_seconds(t.e -> 'backoff_max_seconds', 0.001, 2592000)
        then 'backoff_max_seconds must be a number between 0.001 and 2592000 (30 days)'
      when coalesce((t.e ->> 'backoff_max_seconds')::double precision, 3600) < coalesce((t.e ->> 'backoff_base_seconds')::double precision, 1)
        then 'backoff_max_seconds must not be below backoff_base_seconds'
      when (t.e ->> 'idempotency_key') is not null and (jsonb_typeof(t.e -> 'idempotency_key') <> 'string'
        or length(t.e ->> 'idempotency_key') not between 1 and 255)
        then 'idempotency_key must be a string of 1-255 characters'
      when (t.e ->> 'keep_for_seconds') is not null and not edgejobs.is_json_int(t.e -> 'keep_for_seconds', 1, 315360000)
        then 'keep_for_seconds must be an integer between 1 and 315360000 (ten years)'
    end as problem
    from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
  ) v
  where v.problem is not null
  order by v.ord limit 1;
  if found then
    raise exception 'edgejobs: jobs[%] %', v_bad.idx, v_bad.problem using errcode = 'EJ001';
  end if;
end
$$;
comment on function edgejobs.validate_job_specs(jsonb) is
  'Checks an enqueue batch and raises EJ001 (bad field, naming the index and the field) or EJ002 (input too large).';

create function edgejobs.insert_jobs(p_jobs jsonb, p_owner uuid)
returns table (id uuid, type text, queue text, status text, priority integer, run_at timestamptz,
               created_at timestamptz, idempotency_key text, replayed boolean)
language plpgsql volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_ids uuid[];
  v_keyed boolean;
  v_bad record;
begin
  perform edgejobs.validate_job_specs(p_jobs);
  -- Ids are chosen up front so that every statement below sees the same row -> id mapping.
  select array_agg(gen_random_uuid()) into v_ids from generate_series(1, jsonb_array_length(p_jobs));
  if v_ids is null then
    return;
  end if;
  select bool_or((e ->> 'idempotency_key') is not null) into v_keyed from jsonb_array_elements(p_jobs) e;

  if v_keyed then
    -- A key whose job has expired may be used again: release it before inserting.
    update edgejobs.jobs j set idempotency_key = null, updated_at = now()
    from (select distinct e ->> 'type' as type, e ->> 'idempotency_key' as k
          from jsonb_array_elements(p_jobs) e where (e ->> 'idempotency_key') is not null) x
    where j.type = x.type and j.idempotency_key = x.k and j.owner_id is not distinct from p_owner
      and j.expires_at < now();
  end if;

  begin
    insert into edgejobs.jobs as j (id, type, queue, input, priority, run_at, max_attempts,
      backoff_base_seconds, backoff_max_seconds, idempotency_key, owner_id, keep_for)
    select v_ids[t.ord], t.e ->> 'type', coalesce(t.e ->> 'queue', 'default'),
      coalesce(t.e -> 'input', '{}'::jsonb),
      coalesce((t.e ->> 'priority')::integer, 0),
      case
        when (t.e ->> 'run_at') is not null then (t.e ->> 'run_at')::timestamptz
        when (t.e ->> 'delay_seconds') is not null then now() + make_interval(secs => (t.e ->> 'delay_seconds')::double precision)
        else now()
      end,
      coalesce((t.e ->> 'max_attempts')::integer, 3),
      coalesce((t.e ->> 'backoff_base_seconds')::double precision, 1),
      coalesce((t.e ->> 'backoff_max_seconds')::double precision, 3600),
      t.e ->> 'idempotency_key',
      p_owner,
      coalesce(make_interval(secs => (t.e ->> 'keep_for_seconds')::double precision),
               (select s.default_keep_for from edgejobs.settings s))
    from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
    order by t.ord
    on conflict (type, idempotency_key, owner_id) where idempotency_key is not null do nothing;
  exception when invalid_datetime_format or datetime_field_overflow then
    raise exception 'edgejobs: a run_at is not a valid timestamp (%)', sqlerrm using errcode = 'EJ001';
  end;

  if v_keyed then
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
  end if;

  return query
  select j.id, j.type, j.queue, j.status, j.priority, j.run_at, j.created_at, j.idempotency_key,
         j.id <> v_ids[t.ord] as replayed
  from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
  cross join lateral (
    select k.* from edgejobs.jobs k where k.id = v_ids[t.ord]
    union all
    select k.* from edgejobs.jobs k
    where v_keyed and (t.e ->> 'idempotency_key') is not null and k.type = t.e ->> 'type'
      and k.idempotency_key = t.e ->> 'idempotency_key' and k.owner_id is not distinct from p_owner
    limit 1
  ) j
  order by t.ord;
end
$$;
comment on function edgejobs.insert_jobs(jsonb, uuid) is
  'Core of enqueue_job(s): validates, inserts, resolves idempotency keys (replay or EJ003), returns one row per spec in order.';

create function public.enqueue_jobs(jobs jsonb)
returns table (id uuid, type text, queue text, status text, priority integer, run_at timestamptz,
               created_at timestamptz, idempotency_key text, replayed boolean)
language sql volatile security definer
set search_path = ''
as $$
  select * from edgejobs.insert_jobs(enqueue_jobs.jobs, edgejobs.caller_owner_id())
$$;
comment on function public.enqueue_jobs(jsonb) is
$$edgejobs: enqueue many jobs in one call. `jobs` is a JSON array of objects with `type` (required), `input`, `queue` ('default'), `priority` (0; higher first), `run_at` or `delay_seconds`, `max_attempts` (3, counting the first run), `backoff_base_seconds` (1), `backoff_max_seconds` (3600), `idempotency_key`, `keep_for_seconds` (7 days). Returns one row per job, in order; `replayed` is true when an idempotency key matched an existing job (nothing new stored). All or nothing: any bad element raises EJ001/EJ002/EJ003 and stores nothing. The owner is auth.uid() (null for the service role).$$;

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
  keep_for_seconds integer default null
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
        'keep_for_seconds', enqueue_job.keep_for_seconds))
      || jsonb_build_object('input', coalesce(enqueue_job.input, '{}'::jsonb))),
    edgejobs.caller_owner_id())
$$;
comment on function public.enqueue_job(text, jsonb, text, integer, timestamptz, double precision, integer, double precision, double precision, text, integer) is
  'edgejobs: enqueue one job (see enqueue_jobs for every option and default). Returns the job id, status and whether an idempotency key replayed an existing job. Callable from SQL, e.g. select * from enqueue_job(''send_email'', ''{"to": "a@b.c"}'').';

-- ---------------------------------------------------------------------------------------------
-- Read and cancel.

create function public.get_job(job_id uuid) returns setof public.job_details
language sql stable security definer
set search_path = ''
as $$
  select d.* from edgejobs.jobs j cross join lateral edgejobs.details(j) d
  where j.id = get_job.job_id and (edgejobs.caller_is_service() or j.owner_id = auth.uid())
$$;
comment on function public.get_job(uuid) is
  'edgejobs: one job (no row if it does not exist or belongs to someone else; existence is not revealed). End users see only their own jobs.';

create function public.list_jobs(
  status text default null,
  type text default null,
  queue text default null,
  before_created_at timestamptz default null,
  before_id uuid default null,
  max_rows integer default 50
) returns setof public.job_details
language plpgsql stable security definer
set search_path = ''
as $$
declare
  v_service boolean := edgejobs.caller_is_service();
  v_uid uuid := auth.uid();
begin
  if list_jobs.status is not null and list_jobs.status not in ('queued', 'processing', 'completed', 'failed', 'cancelled') then
    raise exception 'edgejobs: status must be one of queued, processing, completed, failed, cancelled; got "%"', list_jobs.status
      using errcode = 'EJ001';
  end if;
  if list_jobs.max_rows is null or list_jobs.max_rows not between 1 and 1000 then
    raise exception 'edgejobs: max_rows must be between 1 and 1000' using errcode = 'EJ001';
  end if;
  if (list_jobs.before_created_at is null) <> (list_jobs.before_id is null) then
    raise exception 'edgejobs: give both before_created_at and before_id (the cursor), or neither' using errcode = 'EJ001';
  end if;
  if not v_service and v_uid is null then
    return;
  end if;
  return query
  select d.* from edgejobs.jobs j cross join lateral edgejobs.details(j) d
  where (v_service or j.owner_id = v_uid)
    and (list_jobs.status is null or j.status = list_jobs.status)
    and (list_jobs.type is null or j.type = list_jobs.type)
    and (list_jobs.queue is null or j.queue = list_jobs.queue)
    and (list_jobs.before_created_at is null or (j.created_at, j.id) < (list_jobs.before_created_at, list_jobs.before_id))
  order by j.created_at desc, j.id desc
  limit list_jobs.max_rows;
end
$$;
comment on function public.list_jobs(text, text, text, timestamptz, uuid, integer) is
  'edgejobs: the caller''s jobs, newest first, filtered by status, type and queue. Paginate with the last row''s created_at and id as before_created_at/before_id. max_rows 1-1000 (default 50).';

create function public.cancel_job(job_id uuid) returns public.job_details
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_job edgejobs.jobs;
begin
  select * into v_job from edgejobs.jobs j
  where j.id = cancel_job.job_id and (edgejobs.caller_is_service() or j.owner_id = auth.uid())
  for update;
  if not found then
    raise exception 'edgejobs: job % not found', cancel_job.job_id using errcode = 'EJ004';
  end if;
  if v_job.status in ('completed', 'failed', 'cancelled') then
    raise exception 'edgejobs: job % already finished (%)', cancel_job.job_id, v_job.status using errcode = 'EJ005';
  end if;
  if v_job.status = 'queued' then
    update edgejobs.jobs j set status = 'cancelled', cancel_requested_at = now(), finished_at = now(),
      expires_at = now() + j.keep_for, updated_at = now()
    where j.id = v_job.id returning * into v_job;
  else
    update edgejobs.jobs j set cancel_requested_at = coalesce(j.cancel_requested_at, now()), updated_at = now()
    where j.id = v_job.id returning * into v_job;
  end if;
  return edgejobs.details(v_job);
end
$$;
comment on function public.cancel_job(uuid) is
  'edgejobs: cancel a job. Queued: cancelled at once. Processing: cancel_requested_at is set and the worker aborts the handler, ending the job cancelled. Raises EJ004 if not found (or not yours), EJ005 if already finished.';
