-- Job chains: a handler's follow-up jobs (ctx.enqueue) are written by complete_jobs in the same
-- transaction as its completion. A completion that lost its lease writes no children; children
-- the database refuses undo the completion and fail the run instead (error code children_refused),
-- without touching the other jobs of the batch. A child records its parent (parent_id) and has
-- its parent's owner; the parent records its children in the order they were enqueued (child_ids),
-- which its details list.

alter table edgejobs.jobs add column parent_id uuid, add column child_ids uuid[];
comment on column edgejobs.jobs.parent_id is 'The job whose handler enqueued this one (ctx.enqueue), written with its completion. Not a foreign key: the parent may be purged before its children.';
comment on column edgejobs.jobs.child_ids is 'The jobs this one''s handler enqueued (ctx.enqueue), in the order it enqueued them; written with its completion. A purged child drops out of the details.';

-- ---------------------------------------------------------------------------------------------
-- Completion.

-- The completion itself, for any batch: one statement that completes the jobs whose lease holds.
create function edgejobs.complete_leased_jobs(p_jobs jsonb)
returns table (ord bigint, id uuid, outcome text, owner_id uuid)
language plpgsql volatile
set search_path = ''
as $$
begin
  return query
  with i as (select * from edgejobs.parse_leases(p_jobs)),
  u as (
    update edgejobs.jobs j
    set status = 'completed', result = i.item -> 'result', error = null,
        progress = case when i.item ? 'progress' then i.item -> 'progress' else j.progress end,
        lease_token = null, locked_by = null, locked_until = null,
        finished_at = now(), expires_at = now() + j.keep_for, updated_at = now()
    from i
    where j.id = any (array(select i.id from i)) and j.id = i.id and j.lease_token = i.lease_token
    returning j.id, j.owner_id
  )
  select i.ord, i.id, case when u.id is null then 'lease_lost' else 'completed' end, u.owner_id
  from i left join u on u.id = i.id
  order by i.ord;
end
$$;
comment on function edgejobs.complete_leased_jobs(jsonb) is
  'Completes [{id, lease_token, result?, progress?}] whose lease token still holds the job; answers per job (in order) completed or lease_lost, and the owner.';

create or replace function public.complete_jobs(jobs jsonb)
returns table (id uuid, outcome text)
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_out text[];
  v_plain jsonb;
  v_plain_ords bigint[];
  v_bad bigint;
  v record;
  v_outcome text;
  v_owner uuid;
  v_children uuid[];
  v_message text;
begin
  if not (complete_jobs.jobs @? '$[*] ? (exists(@.children[0]))') then
    -- No follow-up jobs (the common case): one statement.
    return query select c.id, c.outcome from edgejobs.complete_leased_jobs(complete_jobs.jobs) c;
    return;
  end if;

  perform edgejobs.parse_leases(complete_jobs.jobs);
  select t.ord - 1 into v_bad
  from jsonb_array_elements(complete_jobs.jobs) with ordinality as t(e, ord)
  where jsonb_typeof(t.e -> 'children') not in ('array', 'null')
     or (jsonb_typeof(t.e -> 'children') = 'array' and jsonb_array_length(t.e -> 'children') > 1000)
  order by t.ord limit 1;
  if found then
    raise exception 'edgejobs: jobs[%].children must be an array of at most 1000 jobs (as enqueue_jobs takes them)', v_bad
      using errcode = 'EJ001';
  end if;

  -- The jobs without children: one statement, answers put back in place.
  select jsonb_agg(t.e order by t.ord), array_agg(t.ord order by t.ord) into v_plain, v_plain_ords
  from jsonb_array_elements(complete_jobs.jobs) with ordinality as t(e, ord)
  where coalesce(jsonb_array_length(case when jsonb_typeof(t.e -> 'children') = 'array' then t.e -> 'children' end), 0) = 0;
  v_out := array_fill(null::text, array[jsonb_array_length(complete_jobs.jobs)]);
  if v_plain is not null then
    for v in select c.ord, c.outcome from edgejobs.complete_leased_jobs(v_plain) c loop
      v_out[v_plain_ords[v.ord]] := v.outcome;
    end loop;
  end if;

  -- Each job with children: its completion and its children together, or neither.
  for v in
    select t.ord, t.e from jsonb_array_elements(complete_jobs.jobs) with ordinality as t(e, ord)
    where coalesce(jsonb_array_length(case when jsonb_typeof(t.e -> 'children') = 'array' then t.e -> 'children' end), 0) > 0
    order by t.ord
  loop
    begin
      select c.outcome, c.owner_id into v_outcome, v_owner
      from edgejobs.complete_leased_jobs(jsonb_build_array(v.e - 'children')) c;
      if v_outcome = 'completed' then
        -- The children are the parent owner's jobs, enqueued by the server (the service role's options apply).
        select array_agg(n.id order by n.ord) into v_children
        from edgejobs.insert_jobs(v.e -> 'children', v_owner)
          with ordinality as n(id, type, queue, status, priority, run_at, created_at, idempotency_key, replayed, ord)
        where not n.replayed;
        update edgejobs.jobs j set parent_id = (v.e ->> 'id')::uuid where j.id = any (v_children);
        update edgejobs.jobs j set child_ids = v_children where j.id = (v.e ->> 'id')::uuid;
      end if;
      v_out[v.ord] := v_outcome;
    exception
      -- Refusals of the children themselves (the SQL API's, and any data, constraint or size
      -- error); transient ones (serialization, deadlock, connection) go on and fail the call.
      when sqlstate 'EJ001' or sqlstate 'EJ002' or sqlstate 'EJ003' or sqlstate 'EJ006' or sqlstate 'EJ007'
           or insufficient_privilege or data_exception or integrity_constraint_violation or program_limit_exceeded then
        -- Refused children undo the completion (this block's subtransaction): the run fails,
        -- and is retried like any failed run.
        get stacked diagnostics v_message = message_text;
        select f.outcome into v_outcome
        from edgejobs.fail_leased_jobs(jsonb_build_array(
          jsonb_build_object('id', v.e -> 'id', 'lease_token', v.e -> 'lease_token',
            'error', jsonb_build_object('name', 'EdgeJobsError', 'code', 'children_refused',
              'message', 'the job''s follow-up jobs were refused: ' || replace(regexp_replace(v_message, '^edgejobs: ', ''), 'jobs[', 'children[')))
          || case when v.e ? 'progress' then jsonb_build_object('progress', v.e -> 'progress') else '{}'::jsonb end)) f;
        v_out[v.ord] := v_outcome;
    end;
  end loop;

  return query
  select (t.e ->> 'id')::uuid, v_out[t.ord]
  from jsonb_array_elements(complete_jobs.jobs) with ordinality as t(e, ord)
  order by t.ord;
end
$$;
comment on function public.complete_jobs(jsonb) is
  'edgejobs worker: complete [{id, lease_token, result?, progress?, children?}]; the job''s error is cleared (earlier attempts stay in errors). children: jobs to enqueue with the completion (as enqueue_jobs takes them, at most 1000), owned by the job''s owner and recording it as parent_id; written only if the completion is. Answers per job: completed; lease_lost when the token no longer holds the job (nothing written); or, when the children are refused, the outcome of a failed run (retrying, failed, cancelled) with error code children_refused.';

-- ---------------------------------------------------------------------------------------------
-- What clients see: the parent and the children.

alter type public.job_details add attribute parent_id uuid, add attribute children jsonb;
comment on type public.job_details is 'edgejobs: a job as clients see it (no lease internals), with its parent and its children ([{id, type, status}], oldest first). Returned by get_job, list_jobs and cancel_job.';

create or replace function edgejobs.details(j edgejobs.jobs) returns public.job_details
language sql stable
set search_path = ''
as $$
  select row(j.id, j.type, j.queue, j.status, j.priority, j.input, j.progress, j.result, j.error,
             j.attempts, j.max_attempts, j.run_at, j.created_at, j.updated_at, j.started_at,
             j.finished_at, j.cancel_requested_at, j.idempotency_key, j.expires_at, j.parent_id,
             coalesce((select jsonb_agg(jsonb_build_object('id', c.id, 'type', c.type, 'status', c.status) order by k.ord)
                       from unnest(j.child_ids) with ordinality as k(id, ord) join edgejobs.jobs c on c.id = k.id), '[]'::jsonb))::public.job_details
$$;
comment on function edgejobs.details(edgejobs.jobs) is 'Projects a jobs row onto public.job_details (its children by child_ids, in the order they were enqueued).';

revoke all on function edgejobs.complete_leased_jobs(jsonb) from public, anon, authenticated, service_role;
revoke all on function edgejobs.details(edgejobs.jobs) from public, anon, authenticated, service_role;
