-- The operator console's reads and recorded actions, completion webhooks and alerts.
--
-- Console: a keyset index for listing every job newest first (the console and the service's
-- list_jobs sorted the whole table without it), console_jobs (filters over a bounded window of that
-- index, so no request reads more than 5,000 index entries), console_job (everything about one
-- job), get_throughput (per minute, from each type's finished range), list_queues,
-- list_worker_runs, list_operator_actions, and operator_action: queue and schedule actions in one
-- call each, recorded in edgejobs.operator_actions with who made them.
--
-- Webhooks: a job (its enqueue, server-side, or its type) may name a webhook_url; when the job
-- ends, the same transaction enqueues an edgejobs.webhook delivery job (queue `edgejobs`) holding
-- the event, which a worker POSTs with a Standard Webhooks signature and retries on failure.
--
-- Alerts: edgejobs.alerts keeps each condition's state; record_alerts takes the conditions a
-- worker evaluated and enqueues a delivery for what changed, at most one firing per condition per
-- interval; claim_alert_check spaces the evaluations out across every worker.

create index jobs_created_idx on edgejobs.jobs (created_at desc, id desc);
create index jobs_parent_idx on edgejobs.jobs (parent_id) where parent_id is not null;

alter table edgejobs.jobs add column webhook_url text,
  add constraint jobs_webhook_url_format check (webhook_url is null or (length(webhook_url) <= 2048 and webhook_url ~ '^https?://'));
comment on column edgejobs.jobs.webhook_url is 'Where to POST the job''s end (completed, failed, cancelled), signed; from the enqueue (server only) or the job type. Null: no webhook.';
alter table edgejobs.job_types add column webhook_url text,
  add constraint job_types_webhook_url_format check (webhook_url is null or (length(webhook_url) <= 2048 and webhook_url ~ '^https?://'));
comment on column edgejobs.job_types.webhook_url is 'Default webhook URL for the type''s jobs (defineJob webhook, set by set_type_policies); null: none.';

comment on column edgejobs.operator_actions.action is 'What: cancel, redrive or delete (bulk_jobs, also for one job), or pause_queue, resume_queue, set_queue_concurrency, pause_schedule, resume_schedule, trigger_schedule (operator_action).';
comment on column edgejobs.operator_actions.filter is 'What it applied to: bulk_jobs'' filter as given (status, type, queue, owner_id, ids, created_/finished_ after/before), or {queue} / {schedule} with the value set.';
comment on table edgejobs.operator_actions is 'edgejobs: what operators did (bulk_jobs, operator_action), when, by whom and to how many jobs or things. No API role may read or write it directly (list_operator_actions).';

-- Enqueue: webhook_url, a server-only option ----------------------------------------------------

CREATE OR REPLACE FUNCTION edgejobs.validate_job_specs(p_jobs jsonb)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  v_allowed constant text[] := array['type', 'input', 'queue', 'priority', 'run_at', 'delay_seconds',
    'max_attempts', 'backoff_base_seconds', 'backoff_max_seconds', 'idempotency_key', 'keep_for_seconds', 'singleton_key', 'webhook_url'];
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
      when (t.e ->> 'webhook_url') is not null and (jsonb_typeof(t.e -> 'webhook_url') <> 'string'
        or length(t.e ->> 'webhook_url') > 2048 or t.e ->> 'webhook_url' !~ '^https?://[^/?#@\s]+([/?#]\S*)?$')
        then 'webhook_url must be an http(s) URL without a user name or password, at most 2048 characters, like https://example.com/hooks/jobs'
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
$function$;

CREATE OR REPLACE FUNCTION edgejobs.check_user_enqueue(p_jobs jsonb)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  v_server_only constant text[] := array['queue', 'priority', 'max_attempts', 'backoff_base_seconds',
    'backoff_max_seconds', 'keep_for_seconds', 'webhook_url'];
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
      using errcode = '42501', hint = 'Queue, priority, attempts, backoff, keep-for and the webhook come from the job type; set them from the server with the service role.';
  end if;

  -- 1b. The built-in types (edgejobs.*: webhook deliveries, signed by the worker) are the server's.
  select t.ord - 1 as idx, t.e ->> 'type' as type into v_bad
  from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
  where t.e ->> 'type' like 'edgejobs.%' order by t.ord limit 1;
  if found then
    raise exception 'edgejobs: "%" is a built-in type only the server may enqueue (jobs[%])', v_bad.type, v_bad.idx using errcode = '42501';
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
$function$;

CREATE OR REPLACE FUNCTION edgejobs.insert_jobs(p_jobs jsonb, p_owner uuid)
 RETURNS TABLE(id uuid, type text, queue text, status text, priority integer, run_at timestamp with time zone, created_at timestamp with time zone, idempotency_key text, replayed boolean)
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
          backoff_base_seconds, backoff_max_seconds, owner_id, keep_for, webhook_url)
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
                   (select s.default_keep_for from edgejobs.settings s)),
          coalesce(src.e ->> 'webhook_url', jt.webhook_url)
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
      backoff_base_seconds, backoff_max_seconds, idempotency_key, owner_id, keep_for, singleton_key, webhook_url)
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
      t.e ->> 'singleton_key',
      coalesce(t.e ->> 'webhook_url', jt.webhook_url)
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
$function$;

CREATE OR REPLACE FUNCTION public.set_type_policies(types jsonb)
 RETURNS TABLE(type text, keep_completed integer, keep_failed integer, backoff_factor double precision)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
#variable_conflict use_column
declare
  v_bad record;
begin
  if set_type_policies.types is null or jsonb_typeof(set_type_policies.types) <> 'array' then
    raise exception 'edgejobs: types must be a JSON array of {type, keep_completed, keep_failed, backoff_factor, webhook_url}' using errcode = 'EJ001';
  end if;
  select t.ord - 1 as idx, x.problem into v_bad
  from jsonb_array_elements(set_type_policies.types) with ordinality as t(e, ord)
  cross join lateral (select case
      when jsonb_typeof(t.e) <> 'object' then 'must be an object'
      when jsonb_typeof(t.e -> 'type') is distinct from 'string' then 'type must be a string'
      when exists (select from jsonb_object_keys(t.e) k where k not in ('type', 'keep_completed', 'keep_failed', 'backoff_factor', 'webhook_url'))
        then 'may only hold type, keep_completed, keep_failed, backoff_factor, webhook_url'
      when coalesce(t.e -> 'keep_completed', 'null') <> 'null' and (jsonb_typeof(t.e -> 'keep_completed') <> 'number' or (t.e ->> 'keep_completed') !~ '^\d+$'
        or (t.e ->> 'keep_completed')::numeric > 1000000) then 'keep_completed must be an integer from 0 to 1000000, or null'
      when coalesce(t.e -> 'keep_failed', 'null') <> 'null' and (jsonb_typeof(t.e -> 'keep_failed') <> 'number' or (t.e ->> 'keep_failed') !~ '^\d+$'
        or (t.e ->> 'keep_failed')::numeric > 1000000) then 'keep_failed must be an integer from 0 to 1000000, or null'
      when coalesce(t.e -> 'backoff_factor', 'null') <> 'null' and (jsonb_typeof(t.e -> 'backoff_factor') <> 'number'
        or (t.e ->> 'backoff_factor')::numeric not between 1 and 100) then 'backoff_factor must be a number from 1 to 100, or null'
      when coalesce(t.e -> 'webhook_url', 'null') <> 'null' and (jsonb_typeof(t.e -> 'webhook_url') <> 'string'
        or length(t.e ->> 'webhook_url') > 2048 or t.e ->> 'webhook_url' !~ '^https?://[^/?#@\s]+([/?#]\S*)?$')
        then 'webhook_url must be an http(s) URL without a user name or password, at most 2048 characters, or null'
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
      backoff_factor = (t.e ->> 'backoff_factor')::double precision, webhook_url = t.e ->> 'webhook_url'
  from jsonb_array_elements(set_type_policies.types) t(e)
  where jt.type = t.e ->> 'type'
    -- Unchanged rows are not written (every process registers at start).
    and (jt.keep_completed, jt.keep_failed, jt.backoff_factor, jt.webhook_url) is distinct from
        ((t.e ->> 'keep_completed')::integer, (t.e ->> 'keep_failed')::integer, (t.e ->> 'backoff_factor')::double precision, t.e ->> 'webhook_url')
  returning jt.type, jt.keep_completed, jt.keep_failed, jt.backoff_factor;
end
$function$;

comment on function public.set_type_policies(jsonb) is 'edgejobs operator: per registered type, keep at most keep_completed completed and keep_failed failed jobs (the latest; null: by time only), applied by purge_jobs; the retry backoff_factor (1-100; null: 2); and the webhook_url its jobs'' ends are posted to (null: none), e.g. select * from set_type_policies(''[{"type": "report.generate", "keep_completed": 100, "keep_failed": 500, "backoff_factor": 5}]''). registerJobTypes() calls it with each type''s defineJob `keep`, `retry.factor` and `webhook`. Returns the types it changed (an unchanged one is not written).';

-- Webhooks ----------------------------------------------------------------------------------------

create function edgejobs.enqueue_webhook()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- The event as it is now: every retry of the delivery posts the same body under the same id.
  insert into edgejobs.jobs (type, queue, input, max_attempts, backoff_base_seconds, backoff_max_seconds, parent_id, keep_for)
  select 'edgejobs.webhook', 'edgejobs',
    jsonb_build_object('url', new.webhook_url, 'event', jsonb_build_object(
      'type', 'job.' || new.status,
      'timestamp', new.finished_at,
      'data', jsonb_build_object(
        'id', new.id, 'type', new.type, 'queue', new.queue, 'status', new.status, 'attempts', new.attempts,
        -- The error as the status route shows it: no stack or internals go to another party.
        'result', new.result,
        'error', case when new.error is not null then jsonb_build_object('code', new.error ->> 'code', 'message', new.error ->> 'message') end,
        'parent_id', new.parent_id,
        'created_at', new.created_at, 'finished_at', new.finished_at))),
    12, 10, 3600, new.id, s.default_keep_for
  from edgejobs.settings s;
  return null;
end
$$;
comment on function edgejobs.enqueue_webhook() is 'Trigger: a job with a webhook_url that just ended enqueues its delivery (type edgejobs.webhook, queue edgejobs, parent_id the job; 12 attempts, 10 s doubling to an hour), in the same transaction.';

create trigger jobs_webhook after update of status on edgejobs.jobs
  for each row when (new.webhook_url is not null and new.finished_at is not null and old.finished_at is null)
  execute function edgejobs.enqueue_webhook();

-- Alerts ------------------------------------------------------------------------------------------

create table edgejobs.alerts (
  key text primary key,
  firing boolean not null default false,
  notified boolean not null default false,
  since timestamptz not null default now(),
  last_notified_at timestamptz,
  summary text not null default '',
  details jsonb not null default '{}'::jsonb,
  updated_at timestamptz not null default now(),
  constraint alerts_key_length check (length(key) between 1 and 300)
);
alter table edgejobs.alerts enable row level security;
comment on table edgejobs.alerts is 'edgejobs: each alert condition''s state (health, a type''s or a schedule''s failure streak), kept by record_alerts. No API role may read or write it directly.';
comment on column edgejobs.alerts.key is 'The condition: health, type:<type>, schedule:<name>.';
comment on column edgejobs.alerts.firing is 'Whether the condition holds now (as last evaluated).';
comment on column edgejobs.alerts.notified is 'Whether an alert.firing was sent for the current firing (then its recovery sends alert.resolved).';
comment on column edgejobs.alerts.since is 'When the condition last started or stopped holding.';
comment on column edgejobs.alerts.last_notified_at is 'When an alert.firing was last sent: at most one per min_interval.';
comment on column edgejobs.alerts.summary is 'What the evaluation said, in words.';
comment on column edgejobs.alerts.details is 'The evaluation''s figures (JSON).';
comment on column edgejobs.alerts.updated_at is 'When the row last changed.';

alter table edgejobs.settings add column alert_checked_at timestamptz not null default '-infinity';
comment on column edgejobs.settings.alert_checked_at is 'When a worker last evaluated the alert conditions (claim_alert_check).';

create function public.claim_alert_check(every interval default '30 seconds')
returns boolean
language sql
security definer
set search_path = ''
as $$
  update edgejobs.settings s set alert_checked_at = now()
  where s.alert_checked_at <= now() - greatest(claim_alert_check.every, interval '1 second')
  returning true
$$;
comment on function public.claim_alert_check(interval) is 'edgejobs worker: true for the one caller that should evaluate the alert conditions now (at most once per `every`, across all workers); null otherwise.';

create function public.record_alerts(conditions jsonb, url text, min_interval interval default '15 minutes')
returns table(key text, event text, delivery_id uuid)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  c record;
  s edgejobs.alerts;
  v_event text;
  v_id uuid;
begin
  if record_alerts.conditions is null or jsonb_typeof(record_alerts.conditions) <> 'array'
     or exists (select from jsonb_array_elements(record_alerts.conditions) e
                where jsonb_typeof(e) <> 'object' or jsonb_typeof(e -> 'key') is distinct from 'string'
                  or length(e ->> 'key') not between 1 and 300 or jsonb_typeof(e -> 'firing') is distinct from 'boolean') then
    raise exception 'edgejobs: conditions must be a JSON array of {key, firing, summary?, details?}' using errcode = 'EJ001';
  end if;
  if record_alerts.url is null or length(record_alerts.url) > 2048 or record_alerts.url !~ '^https?://[^/?#@\s]+([/?#]\S*)?$' then
    raise exception 'edgejobs: url must be an http(s) URL without a user name or password, at most 2048 characters' using errcode = 'EJ001';
  end if;
  if record_alerts.min_interval is null or record_alerts.min_interval < interval '0' then
    raise exception 'edgejobs: min_interval must not be negative' using errcode = 'EJ001';
  end if;

  for c in
    select e ->> 'key' as key, (e ->> 'firing')::boolean as firing, coalesce(e ->> 'summary', '') as summary,
           coalesce(e -> 'details', '{}'::jsonb) as details
    from jsonb_array_elements(record_alerts.conditions) e order by 1
  loop
    insert into edgejobs.alerts as a (key) values (c.key) on conflict on constraint alerts_pkey do nothing;
    select * into s from edgejobs.alerts a where a.key = c.key for update;
    v_event := null;
    if c.firing and (not s.notified)
       and (s.last_notified_at is null or s.last_notified_at <= now() - record_alerts.min_interval) then
      v_event := 'alert.firing';
    elsif not c.firing and s.notified then
      v_event := 'alert.resolved';
    end if;
    update edgejobs.alerts a
    set since = case when a.firing <> c.firing then now() else a.since end,
        firing = c.firing, summary = c.summary, details = c.details,
        notified = case when v_event = 'alert.firing' then true when v_event = 'alert.resolved' then false else a.notified and c.firing end,
        last_notified_at = case when v_event = 'alert.firing' then now() else a.last_notified_at end,
        updated_at = now()
    where a.key = c.key
    returning * into s;
    if v_event is not null then
      insert into edgejobs.jobs (type, queue, input, max_attempts, backoff_base_seconds, backoff_max_seconds, keep_for)
      select 'edgejobs.webhook', 'edgejobs',
        jsonb_build_object('url', record_alerts.url, 'event', jsonb_build_object(
          'type', v_event, 'timestamp', now(),
          'data', jsonb_build_object('key', s.key, 'summary', s.summary, 'details', s.details, 'since', s.since))),
        12, 10, 3600, st.default_keep_for
      from edgejobs.settings st
      returning id into v_id;
      key := c.key; event := v_event; delivery_id := v_id;
      return next;
    end if;
  end loop;
end
$$;
comment on function public.record_alerts(jsonb, text, interval) is 'edgejobs worker: takes the alert conditions a worker evaluated ([{key, firing, summary, details}]) and, for each, enqueues a signed delivery to url (type edgejobs.webhook) when it starts firing (alert.firing: at most one per min_interval per condition; a condition still firing after a held-back alert gets it once the interval has passed) or stops after an alert was sent (alert.resolved). Conditions not listed keep their state. Returns the deliveries enqueued.';

-- Console reads -----------------------------------------------------------------------------------

create function edgejobs.console_row(j edgejobs.jobs)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object('id', j.id, 'type', j.type, 'queue', j.queue, 'status', j.status, 'priority', j.priority,
    'attempts', j.attempts, 'max_attempts', j.max_attempts, 'run_at', j.run_at, 'created_at', j.created_at,
    'started_at', j.started_at, 'finished_at', j.finished_at, 'cancel_requested_at', j.cancel_requested_at,
    'owner_id', j.owner_id, 'idempotency_key', j.idempotency_key, 'parent_id', j.parent_id,
    'error', j.error ->> 'message')
$$;
comment on function edgejobs.console_row(edgejobs.jobs) is 'A job as a row of the console''s list (no input, result or lease).';

create function public.console_jobs(filter jsonb default '{}', before_created_at timestamptz default null,
  before_id uuid default null, max_rows integer default 50)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_window constant integer := 5000;
  v_f jsonb := coalesce(console_jobs.filter, '{}'::jsonb);
  v_status text;
  v_owner uuid;
  v_id uuid;
  v_after timestamptz;
  v_before timestamptz;
  v_at timestamptz;
  v_cur_id uuid;
  v_result jsonb;
  v_prefix text;
begin
  if jsonb_typeof(v_f) <> 'object' then
    raise exception 'edgejobs: filter must be a JSON object' using errcode = 'EJ001';
  end if;
  if exists (select from jsonb_object_keys(v_f) k
             where k not in ('status', 'type', 'queue', 'owner_id', 'id', 'id_prefix', 'idempotency_key', 'created_after', 'created_before')) then
    raise exception 'edgejobs: filter may only hold status, type, queue, owner_id, id, id_prefix, idempotency_key, created_after, created_before' using errcode = 'EJ001';
  end if;
  if exists (select from jsonb_each(v_f) x where jsonb_typeof(x.value) not in ('string', 'null')) then
    raise exception 'edgejobs: every filter value must be a string' using errcode = 'EJ001';
  end if;
  v_status := v_f ->> 'status';
  if v_status is not null and v_status not in ('queued', 'processing', 'completed', 'failed', 'cancelled') then
    raise exception 'edgejobs: status must be one of queued, processing, completed, failed, cancelled; got "%"', v_status using errcode = 'EJ001';
  end if;
  begin
    v_owner := (v_f ->> 'owner_id')::uuid;
  exception when invalid_text_representation then
    raise exception 'edgejobs: owner_id must be a uuid' using errcode = 'EJ001';
  end;
  begin
    v_id := (v_f ->> 'id')::uuid;
  exception when invalid_text_representation then
    raise exception 'edgejobs: id must be a uuid' using errcode = 'EJ001';
  end;
  begin
    v_after := (v_f ->> 'created_after')::timestamptz;
    v_before := (v_f ->> 'created_before')::timestamptz;
  exception when invalid_datetime_format or datetime_field_overflow then
    raise exception 'edgejobs: created_after and created_before must be timestamps' using errcode = 'EJ001';
  end;
  if console_jobs.max_rows is null or console_jobs.max_rows not between 1 and 500 then
    raise exception 'edgejobs: max_rows must be between 1 and 500' using errcode = 'EJ001';
  end if;
  if (console_jobs.before_created_at is null) <> (console_jobs.before_id is null) then
    raise exception 'edgejobs: give both before_created_at and before_id (the cursor), or neither' using errcode = 'EJ001';
  end if;

  if v_id is not null then
    return jsonb_build_object('jobs', coalesce((select jsonb_agg(edgejobs.console_row(j)) from edgejobs.jobs j where j.id = v_id), '[]'::jsonb),
                              'scanned', 1, 'next', null);
  end if;
  if (v_f ->> 'id_prefix') is not null then
    -- The start of an id (as the console shows it, 8 characters): a range of the primary key.
    v_prefix := replace(lower(v_f ->> 'id_prefix'), '-', '');
    if v_prefix !~ '^[0-9a-f]{6,32}$' then
      raise exception 'edgejobs: id_prefix must be the first 6-32 hex digits of a job id' using errcode = 'EJ001';
    end if;
    return jsonb_build_object('scanned', 0, 'next', null, 'jobs', coalesce((
      select jsonb_agg(edgejobs.console_row(k) order by k.created_at desc, k.id desc)
      from (select j.* from edgejobs.jobs j
            where j.id between rpad(v_prefix, 32, '0')::uuid and rpad(v_prefix, 32, 'f')::uuid
            order by j.created_at desc, j.id desc limit console_jobs.max_rows) k), '[]'::jsonb));
  end if;
  if (v_f ->> 'idempotency_key') is not null then
    -- Each type holding keys, by a loose scan of jobs_idempotency_key_idx, then the key within it.
    return jsonb_build_object('scanned', 0, 'next', null, 'jobs', coalesce((
      with recursive t(type) as (
        (select j.type from edgejobs.jobs j where j.idempotency_key is not null order by j.type limit 1)
        union all
        select (select j.type from edgejobs.jobs j where j.idempotency_key is not null and j.type > t.type order by j.type limit 1)
        from t where t.type is not null
      )
      select jsonb_agg(edgejobs.console_row(k) order by k.created_at desc, k.id desc)
      from (
        select j.* from t cross join lateral (
          select j.* from edgejobs.jobs j where j.type = t.type and j.idempotency_key = v_f ->> 'idempotency_key'
        ) j
        where t.type is not null
        order by j.created_at desc, j.id desc limit console_jobs.max_rows
      ) k), '[]'::jsonb));
  end if;

  -- The cursor (or created_before) is where the walk down jobs_created_idx (or, for an owner,
  -- jobs_owner_idx) starts; it reads at most v_window entries, keeps the rows the filter matches,
  -- and answers where to go on from.
  if console_jobs.before_created_at is not null then
    -- The cursor row's own created_at (a time that went through a millisecond clock may be short
    -- of it), or the one given when the row is gone.
    v_at := coalesce((select j.created_at from edgejobs.jobs j where j.id = console_jobs.before_id), console_jobs.before_created_at);
    v_cur_id := console_jobs.before_id;
    if v_before is not null and v_before <= v_at then
      v_at := v_before; v_cur_id := '00000000-0000-0000-0000-000000000000';
    end if;
  else
    v_at := coalesce(v_before, 'infinity'); v_cur_id := case when v_before is null then 'ffffffff-ffff-ffff-ffff-ffffffffffff' else '00000000-0000-0000-0000-000000000000' end;
  end if;

  execute format($q$
  with w as materialized (
    -- Only the columns the filter needs: a whole row would detoast every job's input and result.
    select j.created_at, j.id, j.status, j.type, j.queue from edgejobs.jobs j
    where %s (j.created_at, j.id) < ($1, $2) and j.created_at >= coalesce($3, '-infinity')
    order by j.created_at desc, j.id desc limit $4
  ),
  m as (
    select w.* from w
    where ($5::text is null or w.status = $5) and (($6 ->> 'type') is null or w.type = $6 ->> 'type')
      and (($6 ->> 'queue') is null or w.queue = $6 ->> 'queue')
    order by w.created_at desc, w.id desc limit $7 + 1
  ),
  page as (select * from m order by m.created_at desc, m.id desc limit $7)
  select jsonb_build_object(
    'jobs', coalesce((select jsonb_agg(edgejobs.console_row(j) order by p.created_at desc, p.id desc)
                      from page p join edgejobs.jobs j on j.id = p.id), '[]'::jsonb),
    'scanned', (select count(*) from w),
    'next', case
      when (select count(*) from m) > $7
        then (select jsonb_build_object('created_at', p.created_at, 'id', p.id) from page p order by p.created_at, p.id limit 1)
      when (select count(*) from w) >= $4
        then (select jsonb_build_object('created_at', w.created_at, 'id', w.id) from w order by w.created_at, w.id limit 1)
    end)$q$, case when v_owner is null then '' else 'j.owner_id = $8 and' end)
  into v_result
  using v_at, v_cur_id, v_after, v_window, v_status, v_f, console_jobs.max_rows, v_owner;
  return v_result;
end
$$;
comment on function public.console_jobs(jsonb, timestamptz, uuid, integer) is 'edgejobs operator: every owner''s jobs, newest first, for the console: filter {status, type, queue, owner_id, id, id_prefix (6-32 hex digits), idempotency_key, created_after, created_before} (strings). Answers {jobs, scanned, next}: each call walks at most 5,000 jobs down the created_at index (an owner''s down theirs) from the cursor (before_created_at, before_id), so a rare filter over a million jobs answers a short page and `next` to go on from; id and idempotency_key are looked up by index. max_rows 1-500 (default 50).';

create function public.console_job(job_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select edgejobs.console_row(j) || jsonb_build_object(
    'input', j.input, 'progress', j.progress, 'checkpoint', j.checkpoint, 'result', j.result, 'error', j.error,
    'errors', j.errors, 'locked_by', j.locked_by, 'locked_until', j.locked_until, 'updated_at', j.updated_at,
    'expires_at', j.expires_at, 'keep_for_seconds', extract(epoch from j.keep_for), 'singleton_key', j.singleton_key,
    'schedule_name', j.schedule_name, 'scheduled_for', j.scheduled_for, 'webhook_url', j.webhook_url,
    'backoff_base_seconds', j.backoff_base_seconds, 'backoff_max_seconds', j.backoff_max_seconds,
    'parent', (select jsonb_build_object('id', p.id, 'type', p.type, 'status', p.status) from edgejobs.jobs p where p.id = j.parent_id),
    'children', coalesce((select jsonb_agg(jsonb_build_object('id', c.id, 'type', c.type, 'status', c.status) order by k.ord)
                          from unnest(j.child_ids) with ordinality as k(id, ord) join edgejobs.jobs c on c.id = k.id), '[]'::jsonb),
    'deliveries', coalesce((select jsonb_agg(jsonb_build_object('id', d.id, 'status', d.status, 'attempts', d.attempts,
                              'max_attempts', d.max_attempts, 'url', d.input ->> 'url', 'event', d.input #>> '{event,type}',
                              'run_at', d.run_at, 'finished_at', d.finished_at, 'errors', d.errors) order by d.created_at)
                            from edgejobs.jobs d where d.parent_id = j.id and d.type = 'edgejobs.webhook'), '[]'::jsonb))
  from edgejobs.jobs j where j.id = console_job.job_id
$$;
comment on function public.console_job(uuid) is 'edgejobs operator: everything about one job for the console (null: no such job): its row but the lease token, every attempt''s error, the lease holder, its parent, children (ctx.enqueue) and webhook deliveries.';

create function public.get_throughput(since interval default '1 hour', bucket_seconds integer default 60)
returns table(bucket_start timestamptz, completed bigint, failed bigint, cancelled bigint)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if get_throughput.since is null or get_throughput.since <= interval '0' or get_throughput.since > interval '1 day' then
    raise exception 'edgejobs: since must be between 0 and 1 day' using errcode = 'EJ001';
  end if;
  if get_throughput.bucket_seconds is null or get_throughput.bucket_seconds not between 10 and 3600
     or extract(epoch from get_throughput.since) / get_throughput.bucket_seconds > 1440 then
    raise exception 'edgejobs: bucket_seconds must be 10-3600, at most 1440 buckets' using errcode = 'EJ001';
  end if;
  return query
  with recursive types(type) as (
    (select j.type from edgejobs.jobs j where j.finished_at is not null order by j.type limit 1)
    union all
    select (select j.type from edgejobs.jobs j where j.finished_at is not null and j.type > t.type order by j.type limit 1)
    from types t where t.type is not null
  ),
  counts as (
    select f.bucket, sum(f.completed) as completed, sum(f.failed) as failed, sum(f.cancelled) as cancelled
    from types t
    cross join lateral (
      select to_timestamp(floor(extract(epoch from j.finished_at) / get_throughput.bucket_seconds) * get_throughput.bucket_seconds) as bucket,
             count(*) filter (where j.status = 'completed') as completed,
             count(*) filter (where j.status = 'failed') as failed,
             count(*) filter (where j.status = 'cancelled') as cancelled
      from edgejobs.jobs j
      where j.type = t.type and j.finished_at is not null and j.finished_at >= now() - get_throughput.since
      group by 1
    ) f
    where t.type is not null
    group by f.bucket
  ),
  buckets as (
    select generate_series(
      to_timestamp(floor(extract(epoch from now() - get_throughput.since) / get_throughput.bucket_seconds) * get_throughput.bucket_seconds),
      now(), make_interval(secs => get_throughput.bucket_seconds)) as bucket
  )
  select b.bucket, coalesce(c.completed, 0)::bigint, coalesce(c.failed, 0)::bigint, coalesce(c.cancelled, 0)::bigint
  from buckets b left join counts c on c.bucket = b.bucket
  order by b.bucket;
end
$$;
comment on function public.get_throughput(interval, integer) is 'edgejobs operator: jobs that ended per bucket (default each minute of the last hour; at most a day, 1,440 buckets): completed, failed, cancelled. Index-driven like get_queue_stats: each type''s range of jobs_type_finished_idx.';

create function public.list_queues()
returns table(name text, concurrency_limit integer, paused boolean, updated_at timestamptz)
language sql
stable
security definer
set search_path = ''
as $$
  select q.name, q.concurrency_limit, q.paused, q.updated_at from edgejobs.queues q order by q.name
$$;
comment on function public.list_queues() is 'edgejobs operator: the queues with settings (a concurrency limit or a pause, now or before). A queue without a row is unlimited and running.';

create function public.list_worker_runs(max_rows integer default 50, before_id uuid default null)
returns table(id uuid, worker_id text, trigger text, status text, started_at timestamptz, deadline_at timestamptz,
  finished_at timestamptz, claimed integer, completed integer, failed integer, retried integer, cancelled integer,
  handed_back integer, lease_lost integer, stop_reason text, error jsonb)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if list_worker_runs.max_rows is null or list_worker_runs.max_rows not between 1 and 500 then
    raise exception 'edgejobs: max_rows must be between 1 and 500' using errcode = 'EJ001';
  end if;
  return query
  select r.id, r.worker_id, r.trigger,
    case when r.status = 'running' and r.deadline_at < now() - interval '1 minute' then 'lost' else r.status end,
    r.started_at, r.deadline_at, r.finished_at, r.claimed, r.completed, r.failed, r.retried, r.cancelled,
    r.handed_back, r.lease_lost, r.stop_reason, r.error
  from edgejobs.worker_runs r
  where list_worker_runs.before_id is null
     or (r.started_at, r.id) < (select b.started_at, b.id from edgejobs.worker_runs b where b.id = list_worker_runs.before_id)
  order by r.started_at desc, r.id desc
  limit list_worker_runs.max_rows;
end
$$;
comment on function public.list_worker_runs(integer, uuid) is 'edgejobs operator: drains, newest first (before_id, the last run of a page, pages on), status lost for a run still marked running a minute past its deadline (the worker was killed). max_rows 1-500 (default 50).';

create function public.list_operator_actions(max_rows integer default 50, before_id bigint default null)
returns table(id bigint, at timestamptz, actor text, action text, filter jsonb, affected integer)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if list_operator_actions.max_rows is null or list_operator_actions.max_rows not between 1 and 500 then
    raise exception 'edgejobs: max_rows must be between 1 and 500' using errcode = 'EJ001';
  end if;
  return query
  select a.id, a.at, a.actor, a.action, a.filter, a.affected from edgejobs.operator_actions a
  where list_operator_actions.before_id is null or a.id < list_operator_actions.before_id
  order by a.id desc limit list_operator_actions.max_rows;
end
$$;
comment on function public.list_operator_actions(integer, bigint) is 'edgejobs operator: what operators did, newest first (before_id pages on). max_rows 1-500 (default 50).';

create function public.operator_action(action text, target text, value integer default null, actor text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_result jsonb;
  v_affected integer := 1;
  v_filter jsonb;
begin
  if operator_action.target is null or length(operator_action.target) not between 1 and 200 then
    raise exception 'edgejobs: target must be a queue or schedule name' using errcode = 'EJ001';
  end if;
  case operator_action.action
    when 'pause_queue' then
      select to_jsonb(q) into v_result from public.pause_queue(operator_action.target) q;
    when 'resume_queue' then
      select to_jsonb(q) into v_result from public.resume_queue(operator_action.target) q;
    when 'set_queue_concurrency' then
      select to_jsonb(q) into v_result from public.set_queue_concurrency(operator_action.target, operator_action.value) q;
    when 'pause_schedule', 'resume_schedule', 'trigger_schedule' then
      if not exists (select from edgejobs.schedules s where s.name = operator_action.target) then
        raise exception 'edgejobs: no schedule named "%"', operator_action.target using errcode = 'EJ004';
      end if;
      if operator_action.action = 'pause_schedule' then
        select to_jsonb(s) into v_result from public.pause_schedule(operator_action.target) s;
      elsif operator_action.action = 'resume_schedule' then
        select to_jsonb(s) into v_result from public.resume_schedule(operator_action.target) s;
      else
        select to_jsonb(s) into v_result from public.trigger_schedule(operator_action.target, coalesce(operator_action.value, 0) = 1) s;
      end if;
      v_affected := case when v_result is null or (operator_action.action = 'trigger_schedule' and v_result ->> 'job_id' is null) then 0 else 1 end;
    else
      raise exception 'edgejobs: action must be pause_queue, resume_queue, set_queue_concurrency, pause_schedule, resume_schedule or trigger_schedule; got %',
        coalesce(quote_literal(operator_action.action), 'null') using errcode = 'EJ001';
  end case;
  v_filter := case when operator_action.action in ('pause_queue', 'resume_queue', 'set_queue_concurrency') then jsonb_build_object('queue', operator_action.target)
                   else jsonb_build_object('schedule', operator_action.target) end;
  if operator_action.action = 'set_queue_concurrency' then
    v_filter := v_filter || jsonb_build_object('concurrency_limit', operator_action.value);
  elsif operator_action.action = 'trigger_schedule' then
    v_filter := v_filter || jsonb_build_object('force', coalesce(operator_action.value, 0) = 1);
  end if;
  insert into edgejobs.operator_actions (actor, action, filter, affected)
  values (coalesce(operator_action.actor, auth.uid()::text, 'service_role'), operator_action.action, v_filter, v_affected);
  return coalesce(v_result, '{}'::jsonb);
end
$$;
comment on function public.operator_action(text, text, integer, text) is 'edgejobs operator: one queue or schedule action, recorded in edgejobs.operator_actions with actor: pause_queue, resume_queue, set_queue_concurrency (value: the limit, null for none), pause_schedule, resume_schedule, trigger_schedule (value 1: even if a run is live). Answers the queue''s or schedule''s new state (trigger_schedule: {job_id}, null when the overlap policy held the run back). Job actions go through bulk_jobs (ids).';

-- Grants: operators and workers only (the service role) -------------------------------------------
revoke all on function public.console_jobs(jsonb, timestamptz, uuid, integer), public.console_job(uuid),
  public.get_throughput(interval, integer), public.list_queues(), public.list_worker_runs(integer, uuid),
  public.list_operator_actions(integer, bigint), public.operator_action(text, text, integer, text),
  public.claim_alert_check(interval), public.record_alerts(jsonb, text, interval) from public, anon, authenticated;
grant execute on function public.console_jobs(jsonb, timestamptz, uuid, integer), public.console_job(uuid),
  public.get_throughput(interval, integer), public.list_queues(), public.list_worker_runs(integer, uuid),
  public.list_operator_actions(integer, bigint), public.operator_action(text, text, integer, text),
  public.claim_alert_check(interval), public.record_alerts(jsonb, text, interval) to service_role;
revoke all on function edgejobs.enqueue_webhook(), edgejobs.console_row(edgejobs.jobs) from public, anon, authenticated, service_role;
revoke all on table edgejobs.alerts from public, anon, authenticated, service_role;
