-- edgejobs: shared helpers and the client API (enqueue, get, list, cancel).
--
-- Every function is SECURITY DEFINER with an empty search_path and fully qualified names, so it
-- reads the private tables while the caller holds no table privilege at all. Ownership always
-- comes from auth.uid(), never from a parameter. Errors use our own SQLSTATEs (class EJ) so that
-- callers can branch on a code, not on message text:
--   EJ001 invalid argument   EJ002 input too large   EJ003 idempotency key reused with other input
--   EJ004 job not found       EJ005 job already finished
--   EJ006 unknown job type (once types are registered)   EJ007 input breaks the type's schema
-- End users (anon, authenticated) meet the rules the HTTP routes apply: no server-only options,
-- only registered types open to them (edgejobs.job_types), see check_user_enqueue.

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
comment on function edgejobs.validate_job_specs(jsonb) is
  'Checks an enqueue batch and raises EJ001 (bad field, naming the index and the field) or EJ002 (input too large).';

-- ---------------------------------------------------------------------------------------------
-- Enqueue applies the registry and the callers' rules. End users' batches (small) are checked in
-- passes of their own; the service role's (up to 50,000 jobs, the hot path) only need their types
-- known, which the INSERT checks as it joins each job to its type for the defaults: a registered
-- type costs the hot path one hash join.

create function edgejobs.refuse(p_sqlstate text, p_message text) returns text
language plpgsql volatile
set search_path = ''
as $$
begin
  raise exception using errcode = p_sqlstate, message = p_message;
end
$$;
comment on function edgejobs.refuse(text, text) is
  'Raises p_message with SQLSTATE p_sqlstate; for checks inside a statement (CASE ... THEN edgejobs.refuse(...)).';

create function edgejobs.check_user_enqueue(p_jobs jsonb) returns void
language plpgsql stable
set search_path = ''
as $$
declare
  v_server_only constant text[] := array['queue', 'priority', 'max_attempts', 'backoff_base_seconds',
    'backoff_max_seconds', 'keep_for_seconds'];
  v_anonymous boolean := coalesce(auth.jwt() ->> 'is_anonymous', 'false') = 'true';
  v_bad record;
  v_matches regprocedure;
  v_idx integer;
  v_type text;
begin
  -- 1. Options only the server may set, whether or not types are registered. (A JSON null is
  --    the same as leaving the option out.)
  select t.ord - 1 as idx, string_agg(x.k, ', ' order by x.k) as keys into v_bad
  from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
  cross join lateral jsonb_each(t.e) as x(k, v)
  where x.k = any(v_server_only) and x.v <> 'null'::jsonb
  group by t.ord order by t.ord limit 1;
  if found then
    raise exception 'edgejobs: only the server may set % (jobs[%])', v_bad.keys, v_bad.idx
      using errcode = '42501', hint = 'Queue, priority, attempts, backoff and keep-for come from the job type; set them from the server with the service role.';
  end if;

  -- 2. No type registered: every well-formed type is accepted, as before the registry.
  if not exists (select from edgejobs.job_types) then
    return;
  end if;

  -- 3. Unknown types and types not open to this user: the batch's first such element.
  select x.type, x.first - 1 as idx,
    case when jt.type is null then 'unknown' when not jt.users_may_enqueue then 'server' else 'anonymous' end as problem
  into v_bad
  from (select t.e ->> 'type' as type, min(t.ord) as first
        from jsonb_array_elements(p_jobs) with ordinality as t(e, ord) group by 1) x
  left join edgejobs.job_types jt on jt.type = x.type
  where jt.type is null or not jt.users_may_enqueue or (v_anonymous and not jt.anonymous_may_enqueue)
  order by x.first limit 1;
  if found then
    if v_bad.problem = 'unknown' then
      raise exception 'edgejobs: unknown job type "%" (jobs[%])', v_bad.type, v_bad.idx
        using errcode = 'EJ006', hint = 'Only types registered with register_job_types() can be enqueued; see edgejobs.job_types.';
    elsif v_bad.problem = 'server' then
      raise exception 'edgejobs: "%" can only be enqueued by the server (jobs[%])', v_bad.type, v_bad.idx using errcode = '42501';
    end if;
    raise exception 'edgejobs: "%" needs a signed-in (not anonymous) user (jobs[%])', v_bad.type, v_bad.idx using errcode = '42501';
  end if;

  -- 4. Input schemas, where pg_jsonschema is installed (in the schema the extension lives in,
  --    else `extensions`, where Supabase installs it). The service role's enqueues were checked
  --    with zod by the app.
  v_matches := to_regprocedure(coalesce(
    (select quote_ident(n.nspname) from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace
     where e.extname = 'pg_jsonschema'), 'extensions') || '.jsonb_matches_schema(json, jsonb)');
  if v_matches is not null then
    execute format(
      'select t.ord - 1 as idx, t.e ->> ''type'' as type
       from jsonb_array_elements($1) with ordinality as t(e, ord)
       join edgejobs.job_types jt on jt.type = t.e ->> ''type''
       where jt.input_schema is not null and not %s(jt.input_schema::json, coalesce(t.e -> ''input'', ''{}''::jsonb))
       order by t.ord limit 1', v_matches::regproc)
    into v_idx, v_type using p_jobs;
    if v_idx is not null then
      raise exception 'edgejobs: jobs[%].input does not match the input schema of "%"', v_idx, v_type
        using errcode = 'EJ007', hint = 'See input_schema in edgejobs.job_types.';
    end if;
  end if;
end
$$;
comment on function edgejobs.check_user_enqueue(jsonb) is
  'The enqueue rules for end users (anon/authenticated): no server-only options (42501); with registered types, no unknown types (EJ006) or types not open to the caller (42501); with pg_jsonschema, inputs that match the type''s schema (EJ007).';

create function edgejobs.insert_jobs(p_jobs jsonb, p_owner uuid)
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

  if not (p_jobs @? '$[*].idempotency_key ? (@ != null)') then
    -- No idempotency keys (the common case): one statement inserts and answers, in order.
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
  -- Some jobs carry idempotency keys. A key whose job has expired may be used again: release it
  -- before inserting.
  update edgejobs.jobs j set idempotency_key = null, updated_at = now()
  from (select distinct e ->> 'type' as type, e ->> 'idempotency_key' as k
        from jsonb_array_elements(p_jobs) e where (e ->> 'idempotency_key') is not null) x
  where j.type = x.type and j.idempotency_key = x.k and j.owner_id is not distinct from p_owner
    and j.expires_at < now();

  begin
    insert into edgejobs.jobs as j (id, type, queue, input, priority, run_at, max_attempts,
      backoff_base_seconds, backoff_max_seconds, idempotency_key, owner_id, keep_for)
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
               (select s.default_keep_for from edgejobs.settings s))
    from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
    left join edgejobs.job_types jt on jt.type = t.e ->> 'type'
    order by t.ord
    on conflict (type, idempotency_key, owner_id) where idempotency_key is not null do nothing;
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

  return query
  select j.id, j.type, j.queue, j.status, j.priority, j.run_at, j.created_at, j.idempotency_key,
         j.id <> v_ids[t.ord] as replayed
  from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
  cross join lateral (
    select k.* from edgejobs.jobs k where k.id = v_ids[t.ord]
    union all
    select k.* from edgejobs.jobs k
    where (t.e ->> 'idempotency_key') is not null and k.type = t.e ->> 'type'
      and k.idempotency_key = t.e ->> 'idempotency_key' and k.owner_id is not distinct from p_owner
    limit 1
  ) j
  order by t.ord;
end
$$;
comment on function edgejobs.insert_jobs(jsonb, uuid) is
  'Core of enqueue_job(s): validates, applies an end user''s rules (check_user_enqueue), inserts with each type''s defaults (edgejobs.job_types) for the options left out, resolves idempotency keys (replay or EJ003), returns one row per spec in order.';

create function public.enqueue_jobs(jobs jsonb)
returns table (id uuid, type text, queue text, status text, priority integer, run_at timestamptz,
               created_at timestamptz, idempotency_key text, replayed boolean)
language sql volatile security definer
set search_path = ''
as $$
  select * from edgejobs.insert_jobs(enqueue_jobs.jobs, edgejobs.caller_owner_id())
$$;
comment on function public.enqueue_jobs(jsonb) is
$$edgejobs: enqueue many jobs in one call. `jobs` is a JSON array of objects with `type` (required), `input`, `run_at` or `delay_seconds`, `idempotency_key`, and, for the service role only, `queue`, `priority` (higher first), `max_attempts` (counting the first run), `backoff_base_seconds`, `backoff_max_seconds`, `keep_for_seconds`; options left out come from the type's row in edgejobs.job_types, else 'default', 0, 3, 1, 3600, 7 days. Returns one row per job, in order; `replayed` is true when an idempotency key matched an existing job (nothing new stored). All or nothing: any refused element (EJ001 malformed, EJ002 too large, EJ003 key reused, EJ006 unknown type, EJ007 input breaks the type's schema, 42501 option or type not open to the caller) stores nothing. The owner is auth.uid() (null for the service role).$$;

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
  'edgejobs: enqueue one job (see enqueue_jobs for every option, default and rule: queue, priority, attempts, backoff and keep-for are the service role''s to set). Returns the job id, status and whether an idempotency key replayed an existing job. Callable from SQL, e.g. select * from enqueue_job(''send_email'', ''{"to": "a@b.c"}'').';

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