-- Bulk actions for operators: cancel, redrive and delete the jobs a filter matches, in batches
-- (each call one short transaction of at most max_rows jobs; the caller calls again while `more`),
-- with a dry run that counts first, each call recorded with who made it (edgejobs.operator_actions).

create table edgejobs.operator_actions (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  actor text not null,
  action text not null,
  filter jsonb not null,
  affected integer not null
);
alter table edgejobs.operator_actions enable row level security;
comment on table edgejobs.operator_actions is 'edgejobs: what operators did (bulk_jobs), when, by whom and to how many jobs. No API role may read or write it directly.';
comment on column edgejobs.operator_actions.id is 'Action id, in the order they were made.';
comment on column edgejobs.operator_actions.at is 'When (the transaction''s time).';
comment on column edgejobs.operator_actions.action is 'cancel, redrive or delete.';
comment on column edgejobs.operator_actions.filter is 'The filter as given (status, type, queue, owner_id, ids, created_/finished_ after/before).';
comment on column edgejobs.operator_actions.affected is 'How many jobs this call changed (one batch).';
comment on column edgejobs.operator_actions.actor is 'Who: the operator''s user id or name as the server passed it, else the caller''s auth.uid(), else service_role.';
create index operator_actions_at on edgejobs.operator_actions (at desc);

create function edgejobs.bulk_filter_valid(p_filter jsonb) returns void
language plpgsql immutable
set search_path = ''
as $$
declare
  v_allowed constant text[] := array['status', 'type', 'queue', 'owner_id', 'ids', 'created_after', 'created_before',
    'finished_after', 'finished_before'];
begin
  if p_filter is null or jsonb_typeof(p_filter) <> 'object' or p_filter = '{}'::jsonb then
    raise exception 'edgejobs: filter must be an object with at least one of %', array_to_string(v_allowed, ', ')
      using errcode = 'EJ001', hint = 'Every job: {"status": "failed"} (or the status you mean), never {}.';
  end if;
  if (p_filter - v_allowed) <> '{}'::jsonb then
    raise exception 'edgejobs: filter has unknown field % (allowed: %)',
      (select string_agg(quote_ident(k), ', ') from jsonb_object_keys(p_filter - v_allowed) k), array_to_string(v_allowed, ', ')
      using errcode = 'EJ001';
  end if;
  if (p_filter ->> 'status') is not null and (p_filter ->> 'status') not in ('queued', 'processing', 'completed', 'failed', 'cancelled') then
    raise exception 'edgejobs: filter.status must be one of queued, processing, completed, failed, cancelled' using errcode = 'EJ001';
  end if;
  if p_filter ? 'ids' and (jsonb_typeof(p_filter -> 'ids') <> 'array' or jsonb_array_length(p_filter -> 'ids') > 10000) then
    raise exception 'edgejobs: filter.ids must be an array of at most 10000 job ids' using errcode = 'EJ001';
  end if;
  begin
    perform (p_filter ->> 'owner_id')::uuid, (p_filter ->> 'created_after')::timestamptz, (p_filter ->> 'created_before')::timestamptz,
            (p_filter ->> 'finished_after')::timestamptz, (p_filter ->> 'finished_before')::timestamptz,
            array(select jsonb_array_elements_text(case when jsonb_typeof(p_filter -> 'ids') = 'array' then p_filter -> 'ids' else '[]' end)::uuid);
  exception when data_exception then
    raise exception 'edgejobs: filter has a malformed value (%): owner_id and ids are uuids, the times ISO 8601', sqlerrm using errcode = 'EJ001';
  end;
end
$$;
comment on function edgejobs.bulk_filter_valid(jsonb) is 'Validates a bulk_jobs filter (EJ001 naming what is wrong).';


create function public.bulk_jobs(action text, filter jsonb, dry_run boolean default true, max_rows integer default 1000, actor text default null)
returns table (matched bigint, affected integer, more boolean)
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_statuses text[];
  v_ids uuid[];
  v_limit integer := bulk_jobs.max_rows;
  v_affected integer := 0;
  v_ids_filter uuid[];
  -- Whether the action applies to a job j: the filter matches ($3, with $4 its ids), and the job
  -- is in a status the action takes ($2; a processing job already asked to cancel is done with).
  -- One text for the count and the batch; the values are parameters, never spliced in.
  v_match constant text := $q$
    j.status = any ($2)
    and not ($1 = 'cancel' and j.status = 'processing' and j.cancel_requested_at is not null)
    and (($3 ->> 'status') is null or j.status = $3 ->> 'status')
    and (($3 ->> 'type') is null or j.type = $3 ->> 'type')
    and (($3 ->> 'queue') is null or j.queue = $3 ->> 'queue')
    and (($3 ->> 'owner_id') is null or j.owner_id = ($3 ->> 'owner_id')::uuid)
    and ($4::uuid[] is null or j.id = any ($4))
    and (($3 ->> 'created_after') is null or j.created_at >= ($3 ->> 'created_after')::timestamptz)
    and (($3 ->> 'created_before') is null or j.created_at < ($3 ->> 'created_before')::timestamptz)
    and (($3 ->> 'finished_after') is null or j.finished_at >= ($3 ->> 'finished_after')::timestamptz)
    and (($3 ->> 'finished_before') is null or j.finished_at < ($3 ->> 'finished_before')::timestamptz)$q$;
begin
  v_statuses := case bulk_jobs.action
    when 'cancel' then array['queued', 'processing']
    when 'redrive' then array['failed', 'cancelled']
    when 'delete' then array['queued', 'completed', 'failed', 'cancelled']
  end;
  if v_statuses is null then
    raise exception 'edgejobs: action must be cancel, redrive or delete; got %', coalesce(quote_literal(bulk_jobs.action), 'null') using errcode = 'EJ001';
  end if;
  if v_limit is null or v_limit not between 1 and 10000 then
    raise exception 'edgejobs: max_rows must be between 1 and 10000' using errcode = 'EJ001';
  end if;
  perform edgejobs.bulk_filter_valid(bulk_jobs.filter);
  if bulk_jobs.filter ? 'ids' then
    v_ids_filter := array(select jsonb_array_elements_text(bulk_jobs.filter -> 'ids')::uuid);
  end if;

  if bulk_jobs.dry_run then
    return query execute 'select count(*), 0, false from edgejobs.jobs j where ' || v_match
      using bulk_jobs.action, v_statuses, bulk_jobs.filter, v_ids_filter;
    return;
  end if;

  -- One batch, locked; rows another transaction holds (a worker claiming) are left for the next call.
  execute 'select array_agg(c.id) from (select j.id from edgejobs.jobs j where ' || v_match
    || ' limit $5 for update skip locked) c'
    into v_ids using bulk_jobs.action, v_statuses, bulk_jobs.filter, v_ids_filter, v_limit + 1;
  v_ids := coalesce(v_ids, '{}');

  if bulk_jobs.action = 'cancel' then
    update edgejobs.jobs j
    set status = case when j.status = 'queued' then 'cancelled' else j.status end,
        cancel_requested_at = coalesce(j.cancel_requested_at, now()),
        finished_at = case when j.status = 'queued' then now() else j.finished_at end,
        expires_at = case when j.status = 'queued' then now() + j.keep_for else j.expires_at end,
        updated_at = now()
    where j.id = any (v_ids[1:v_limit]);
  elsif bulk_jobs.action = 'redrive' then
    update edgejobs.jobs j
    set status = 'queued', attempts = 0, run_at = now(), finished_at = null, expires_at = null, result = null,
        cancel_requested_at = null, updated_at = now()
    where j.id = any (v_ids[1:v_limit]);
  else
    delete from edgejobs.jobs j where j.id = any (v_ids[1:v_limit]);
  end if;
  get diagnostics v_affected = row_count;

  insert into edgejobs.operator_actions (actor, action, filter, affected)
  values (coalesce(bulk_jobs.actor, auth.uid()::text, 'service_role'), bulk_jobs.action, bulk_jobs.filter, v_affected);
  return query select v_affected::bigint, v_affected, cardinality(v_ids) > v_limit;
end
$$;
comment on function public.bulk_jobs(text, jsonb, boolean, integer, text) is
  $$edgejobs operator: cancel, redrive or delete the jobs `filter` matches ({status, type, queue, owner_id, ids, created_after, created_before, finished_after, finished_before}; at least one). cancel: queued jobs end cancelled, processing ones are asked to stop; redrive: failed and cancelled jobs are queued again with fresh attempts (their errors kept); delete: queued and finished jobs (never processing ones). dry_run (the default) only counts (matched). Otherwise one batch of at most max_rows (1-10000, default 1000) in this transaction, recorded in edgejobs.operator_actions with actor; `more` says whether to call again. Jobs a worker is claiming at that moment are left for the next call.$$;
revoke all on table edgejobs.operator_actions from public, anon, authenticated, service_role;
revoke all on function edgejobs.bulk_filter_valid(jsonb) from public, anon, authenticated, service_role;
revoke execute on function public.bulk_jobs(text, jsonb, boolean, integer, text) from public, anon, authenticated;
grant execute on function public.bulk_jobs(text, jsonb, boolean, integer, text) to service_role;
