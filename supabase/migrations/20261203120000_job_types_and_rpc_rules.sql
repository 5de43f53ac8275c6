-- edgejobs: the database knows the job types, and the SQL API applies the routes' rules.
--
-- Every signed-in user can call the public client functions with supabase.rpc(); until now they
-- did not apply the rules the HTTP routes apply. Found by probes as `authenticated`:
-- enqueue_jobs('[{"type":"no.such.type","queue":"vip","priority":1000000,"max_attempts":1000,
-- "keep_for_seconds":315360000}]') was stored (the route answers 403 for those options and 422
-- for the type). Now:
--
-- 1. Server-only options (queue, priority, max_attempts, backoff_base_seconds,
--    backoff_max_seconds, keep_for_seconds) are refused to anyone but the service role, with
--    42501 and the option named: always, whether or not any type is registered.
-- 2. edgejobs.job_types holds the registry: each type's defaults and who may enqueue it, written by
--    register_job_types() when the app and the workers start. Once it holds a row, enqueue refuses
--    types it does not know (EJ006), types not open to the caller (42501), and fills each job's
--    options from its type. With no row, enqueue behaves as before (any well-formed type).
-- 3. edgejobs.job_type_workers records which workers handle each type and when they were last
--    seen (at registration and at every drain start), so health can tell jobs that wait for a
--    worker from jobs no live worker runs (`unhandled`).
-- 4. Where the pg_jsonschema extension is installed, an input JSON Schema published by the
--    registry is checked for end users' enqueues (EJ007); without the extension nothing changes.
-- 5. The realtime.messages policy checks each row's topic, not only the topic setting.
--
-- New SQLSTATEs: EJ006 unknown job type, EJ007 input does not match the type's schema.

-- ---------------------------------------------------------------------------------------------
-- The registry.

create table edgejobs.job_types (
  type text primary key,
  queue text,
  priority integer,
  max_attempts integer,
  backoff_base_seconds double precision,
  backoff_max_seconds double precision,
  keep_for interval,
  users_may_enqueue boolean not null default true,
  anonymous_may_enqueue boolean not null default false,
  input_schema jsonb,
  registered_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint job_types_type_format check (type ~ '^[A-Za-z0-9_.:/-]{1,128}$'),
  constraint job_types_queue_format check (queue is null or queue ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  constraint job_types_priority_range check (priority is null or priority between -1000000 and 1000000),
  constraint job_types_max_attempts_range check (max_attempts is null or max_attempts between 1 and 1000),
  constraint job_types_backoff_valid check (
    (backoff_base_seconds is null or backoff_base_seconds between 0.001 and 86400)
    and (backoff_max_seconds is null or backoff_max_seconds between 0.001 and 2592000)
    and coalesce(backoff_max_seconds, 3600) >= coalesce(backoff_base_seconds, 1)),
  constraint job_types_keep_for_positive check (keep_for is null or keep_for > interval '0'),
  constraint job_types_anonymous_needs_users check (users_may_enqueue or not anonymous_may_enqueue),
  constraint job_types_input_schema_object check (input_schema is null or jsonb_typeof(input_schema) = 'object')
);
alter table edgejobs.job_types enable row level security;
revoke all on table edgejobs.job_types from public, anon, authenticated, service_role;

comment on table edgejobs.job_types is
  'edgejobs registry: the job types the app and its workers define (defineJob), written by register_job_types() when they start. Once it holds a row, enqueue refuses unknown types and applies each type''s defaults and access rules. A type removed from code stays until deleted here.';
comment on column edgejobs.job_types.type is 'Job type name, as given to enqueue.';
comment on column edgejobs.job_types.queue is 'Queue for jobs of this type when the enqueue does not say (null: ''default'').';
comment on column edgejobs.job_types.priority is 'Priority when the enqueue does not say (null: 0).';
comment on column edgejobs.job_types.max_attempts is 'Most runs, counting the first, when the enqueue does not say (null: 3).';
comment on column edgejobs.job_types.backoff_base_seconds is 'Retry delay after the first failure when the enqueue does not say (null: 1 s).';
comment on column edgejobs.job_types.backoff_max_seconds is 'Cap on the retry delay when the enqueue does not say (null: 3600 s).';
comment on column edgejobs.job_types.keep_for is 'How long a finished job is kept when the enqueue does not say (null: settings.default_keep_for).';
comment on column edgejobs.job_types.users_may_enqueue is 'Whether signed-in users may enqueue this type themselves (through the routes or supabase.rpc()); false: only the service role.';
comment on column edgejobs.job_types.anonymous_may_enqueue is 'Whether anonymous users (Supabase anonymous sign-ins, guest cookies) may enqueue this type.';
comment on column edgejobs.job_types.input_schema is 'JSON Schema of the input (from the zod schema); checked for end users'' enqueues where the pg_jsonschema extension is installed.';
comment on column edgejobs.job_types.registered_at is 'When the type was first registered.';
comment on column edgejobs.job_types.updated_at is 'When a registration last changed the row.';

create table edgejobs.job_type_workers (
  type text not null references edgejobs.job_types (type) on delete cascade,
  worker_name text not null,
  first_seen_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  primary key (type, worker_name),
  constraint job_type_workers_worker_name_length check (length(worker_name) between 1 and 200)
);
alter table edgejobs.job_type_workers enable row level security;
revoke all on table edgejobs.job_type_workers from public, anon, authenticated, service_role;

comment on table edgejobs.job_type_workers is
  'edgejobs registry: which workers run each job type, and when each was last seen (at registration and at every drain start). get_queue_health counts ready jobs whose type no worker seen lately handles as unhandled.';
comment on column edgejobs.job_type_workers.type is 'The job type.';
comment on column edgejobs.job_type_workers.worker_name is 'The stable name of a worker deployment (e.g. process-jobs, worker@host), not one drain''s id.';
comment on column edgejobs.job_type_workers.first_seen_at is 'When this worker first registered the type.';
comment on column edgejobs.job_type_workers.last_seen_at is 'When this worker last started a drain (or registered), to within a few seconds.';

create function public.register_job_types(types jsonb, worker_name text default null)
returns integer
language plpgsql volatile security definer
set search_path = ''
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
      keep_for = excluded.keep_for, users_may_enqueue = excluded.users_may_enqueue,
      anonymous_may_enqueue = excluded.anonymous_may_enqueue, input_schema = excluded.input_schema, updated_at = now()
  -- A registration that changes nothing writes nothing (every cold start registers).
  where (jt.queue, jt.priority, jt.max_attempts, jt.backoff_base_seconds, jt.backoff_max_seconds, jt.keep_for,
         jt.users_may_enqueue, jt.anonymous_may_enqueue, jt.input_schema)
    is distinct from
        (excluded.queue, excluded.priority, excluded.max_attempts, excluded.backoff_base_seconds, excluded.backoff_max_seconds,
         excluded.keep_for, excluded.users_may_enqueue, excluded.anonymous_may_enqueue, excluded.input_schema);
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
$$edgejobs: register job types (service role; the app and every worker call it when they start, from their defineJob registry; idempotent). `types` is a JSON array of {type, queue, priority, max_attempts, backoff_base_seconds, backoff_max_seconds, keep_for_seconds, users_may_enqueue (true), anonymous_may_enqueue (false), input_schema}; each row is replaced by what is given (last registration wins). With `worker_name`, records that this worker runs exactly these types. Returns the number of types.$$;

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

-- insert_jobs: the same, with the rules checked after the format checks and each job's options
-- left out taken from its type (edgejobs.job_types), then the global defaults.
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

comment on function public.enqueue_jobs(jsonb) is
$$edgejobs: enqueue many jobs in one call. `jobs` is a JSON array of objects with `type` (required), `input`, `run_at` or `delay_seconds`, `idempotency_key`, and, for the service role only, `queue`, `priority` (higher first), `max_attempts` (counting the first run), `backoff_base_seconds`, `backoff_max_seconds`, `keep_for_seconds`; options left out come from the type's row in edgejobs.job_types, else 'default', 0, 3, 1, 3600, 7 days. Returns one row per job, in order; `replayed` is true when an idempotency key matched an existing job (nothing new stored). All or nothing: any refused element (EJ001 malformed, EJ002 too large, EJ003 key reused, EJ006 unknown type, EJ007 input breaks the type's schema, 42501 option or type not open to the caller) stores nothing. The owner is auth.uid() (null for the service role).$$;
comment on function public.enqueue_job(text, jsonb, text, integer, timestamptz, double precision, integer, double precision, double precision, text, integer) is
  'edgejobs: enqueue one job (see enqueue_jobs for every option, default and rule: queue, priority, attempts, backoff and keep-for are the service role''s to set). Returns the job id, status and whether an idempotency key replayed an existing job. Callable from SQL, e.g. select * from enqueue_job(''send_email'', ''{"to": "a@b.c"}'').';

-- ---------------------------------------------------------------------------------------------
-- Workers are seen per type: each drain start refreshes its worker's rows (at most every 5 s).

drop function public.start_worker_run(text, text, timestamptz);
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

-- ---------------------------------------------------------------------------------------------
-- Health: ready jobs that no live worker runs are their own figure.

drop function public.get_queue_health();
create function public.get_queue_health(worker_seen_within interval default interval '10 minutes')
returns table (ready bigint, scheduled bigint, processing bigint, oldest_ready_age_seconds double precision,
               last_run_started_at timestamptz, last_run_finished_at timestamptz, last_run_status text,
               last_success_at timestamptz, consecutive_failed_runs integer, last_seen_at timestamptz,
               unhandled bigint, unhandled_types text[])
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
  ),
  ready_by_type as (
    select j.type, count(*) as n, min(j.run_at) as oldest
    from edgejobs.jobs j where j.status = 'queued' and j.run_at <= now()
    group by j.type
  ),
  -- A type is unhandled when workers record what they run (some row in job_type_workers) and
  -- none seen within worker_seen_within runs it. Without any such row, nothing is unhandled.
  ready as (
    select r.*, exists (select from edgejobs.job_type_workers)
      and not exists (select from edgejobs.job_type_workers w
                      where w.type = r.type and w.last_seen_at > now() - get_queue_health.worker_seen_within) as unhandled
    from ready_by_type r
  )
  select
    (select coalesce(sum(r.n), 0)::bigint from ready r where not r.unhandled),
    (select count(*) from edgejobs.jobs j where j.status = 'queued' and j.run_at > now()),
    (select count(*) from edgejobs.jobs j where j.status = 'processing'),
    (select extract(epoch from now() - min(r.oldest))::double precision from ready r where not r.unhandled),
    (select max(r.started_at) from runs r),
    (select r.finished_at from runs r order by r.started_at desc limit 1),
    (select r.status from runs r order by r.started_at desc limit 1),
    (select s.at from success s),
    (select count(*)::integer from runs r
      where r.status in ('failed', 'lost') and r.started_at > coalesce((select s.since from success s), '-infinity')),
    greatest((select max(r.started_at) from runs r), (select max(r.finished_at) from runs r), (select last_look_at from look)),
    (select coalesce(sum(r.n), 0)::bigint from ready r where r.unhandled),
    (select coalesce(array_agg(r.type order by r.type), '{}') from ready r where r.unhandled)
$$;
comment on function public.get_queue_health(interval) is
  'edgejobs operator: queue depth (ready, scheduled, processing), age in seconds of the oldest ready job, the last recorded worker run and its status, the last success (a run that succeeded, or a drain that found nothing), how many runs in a row have failed or been lost since, and when a worker was last seen. Ready jobs whose type no worker seen within worker_seen_within (default 10 minutes) runs are counted as unhandled (with their types), not as ready: no worker will take them until one that runs their type starts.';

-- ---------------------------------------------------------------------------------------------
-- Realtime: a row is visible only on its own topic. The policy checked only the topic setting, so
-- a user who set it to their own topic could read every other user's broadcasts.

drop policy "edgejobs: owners receive their job broadcasts" on realtime.messages;
create policy "edgejobs: owners receive their job broadcasts"
on realtime.messages
for select
to authenticated
using (
  realtime.messages.extension = 'broadcast'
  and realtime.messages.topic = (select realtime.topic())
  and (select realtime.topic()) like 'edgejobs:%:job:%'
  and split_part((select realtime.topic()), ':', 2) = (select auth.uid())::text
);

-- ---------------------------------------------------------------------------------------------
-- Grants: the registry is written by the server only.

revoke execute on function public.register_job_types(jsonb, text), public.start_worker_run(text, text, timestamptz, text, text[]),
  public.get_queue_health(interval) from public, anon, authenticated;
grant execute on function public.register_job_types(jsonb, text), public.start_worker_run(text, text, timestamptz, text, text[]),
  public.get_queue_health(interval) to service_role;
revoke all on function edgejobs.check_user_enqueue(jsonb), edgejobs.refuse(text, text) from public, anon, authenticated, service_role;

-- The private helpers were executable by PUBLIC (the default for new functions). The schema's
-- missing USAGE kept the API roles out, but the grant is the thing to get right: only the
-- definer functions (running as their owner) call them. Functions created here later start the same.
revoke execute on all functions in schema edgejobs from public;
alter default privileges in schema edgejobs revoke execute on functions from public;
