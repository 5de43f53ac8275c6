-- edgejobs: the operator API (service role / dashboard), dashboard views, and the grants.

-- ---------------------------------------------------------------------------------------------
-- Views for the dashboard (Table Editor, schema edgejobs). security_invoker: they show only what
-- the viewer may read, and the API roles may read nothing here.

create view edgejobs.queue_stats with (security_invoker = true) as
select j.queue, j.type,
       count(*) filter (where j.status = 'queued' and j.run_at <= now()) as ready,
       count(*) filter (where j.status = 'queued' and j.run_at > now()) as scheduled,
       count(*) filter (where j.status = 'processing') as processing,
       count(*) filter (where j.status = 'completed') as completed,
       count(*) filter (where j.status = 'failed') as failed,
       count(*) filter (where j.status = 'cancelled') as cancelled,
       min(j.run_at) filter (where j.status = 'queued' and j.run_at <= now()) as oldest_ready_at
from edgejobs.jobs j
group by j.queue, j.type;
comment on view edgejobs.queue_stats is 'Jobs per queue and type by state; oldest_ready_at is the run_at of the longest-waiting ready job.';
comment on column edgejobs.queue_stats.queue is 'Queue name.';
comment on column edgejobs.queue_stats.type is 'Job type.';
comment on column edgejobs.queue_stats.ready is 'Queued jobs whose run_at has come: waiting for a worker.';
comment on column edgejobs.queue_stats.scheduled is 'Queued jobs with a future run_at (delayed or waiting for a retry).';
comment on column edgejobs.queue_stats.processing is 'Jobs a worker holds a lease on.';
comment on column edgejobs.queue_stats.completed is 'Completed jobs not yet purged.';
comment on column edgejobs.queue_stats.failed is 'Failed jobs (dead letter) not yet purged or retried.';
comment on column edgejobs.queue_stats.cancelled is 'Cancelled jobs not yet purged.';
comment on column edgejobs.queue_stats.oldest_ready_at is 'run_at of the oldest ready job; now() minus this is how far behind the workers are.';

create view edgejobs.failed_jobs with (security_invoker = true) as
select j.id, j.type, j.queue, j.attempts, j.max_attempts, j.error, j.errors, j.input, j.created_at,
       j.finished_at, j.owner_id
from edgejobs.jobs j
where j.status = 'failed'
order by j.finished_at desc;
comment on view edgejobs.failed_jobs is 'The dead letter queue: failed jobs, newest first. Retry them with retry_failed_jobs.';
comment on column edgejobs.failed_jobs.id is 'Job id.';
comment on column edgejobs.failed_jobs.type is 'Job type.';
comment on column edgejobs.failed_jobs.queue is 'Queue name.';
comment on column edgejobs.failed_jobs.attempts is 'Attempts used.';
comment on column edgejobs.failed_jobs.max_attempts is 'Attempts allowed.';
comment on column edgejobs.failed_jobs.error is 'The last error.';
comment on column edgejobs.failed_jobs.errors is 'Every attempt''s error, oldest first.';
comment on column edgejobs.failed_jobs.input is 'The job input.';
comment on column edgejobs.failed_jobs.created_at is 'When the job was enqueued.';
comment on column edgejobs.failed_jobs.finished_at is 'When the job failed for good.';
comment on column edgejobs.failed_jobs.owner_id is 'The user who enqueued it, if any.';

create view edgejobs.recent_worker_runs with (security_invoker = true) as
select r.id, r.worker_id, r.trigger,
       case when r.status = 'running' and r.deadline_at < now() - interval '1 minute' then 'lost' else r.status end as status,
       r.started_at, r.finished_at, r.finished_at - r.started_at as duration, r.claimed, r.completed,
       r.failed, r.retried, r.cancelled, r.handed_back, r.lease_lost, r.stop_reason, r.error
from edgejobs.worker_runs r
order by r.started_at desc
limit 200;
comment on view edgejobs.recent_worker_runs is 'The last 200 drains, newest first. Status lost: still marked running a minute past its deadline (the worker was killed).';
comment on column edgejobs.recent_worker_runs.id is 'Run id.';
comment on column edgejobs.recent_worker_runs.worker_id is 'Worker id.';
comment on column edgejobs.recent_worker_runs.trigger is 'What started the drain.';
comment on column edgejobs.recent_worker_runs.status is 'running, succeeded, failed, or lost.';
comment on column edgejobs.recent_worker_runs.started_at is 'Start time.';
comment on column edgejobs.recent_worker_runs.finished_at is 'End time.';
comment on column edgejobs.recent_worker_runs.duration is 'How long the drain ran.';
comment on column edgejobs.recent_worker_runs.claimed is 'Jobs claimed.';
comment on column edgejobs.recent_worker_runs.completed is 'Jobs completed.';
comment on column edgejobs.recent_worker_runs.failed is 'Jobs failed for good.';
comment on column edgejobs.recent_worker_runs.retried is 'Jobs scheduled for a retry.';
comment on column edgejobs.recent_worker_runs.cancelled is 'Jobs cancelled.';
comment on column edgejobs.recent_worker_runs.handed_back is 'Jobs handed back at the deadline.';
comment on column edgejobs.recent_worker_runs.lease_lost is 'Jobs whose lease was lost.';
comment on column edgejobs.recent_worker_runs.stop_reason is 'Why the drain stopped.';
comment on column edgejobs.recent_worker_runs.error is 'Error that failed the drain.';

-- ---------------------------------------------------------------------------------------------

create function public.get_queue_stats()
returns table (queue text, type text, ready bigint, scheduled bigint, processing bigint, completed bigint,
               failed bigint, cancelled bigint, oldest_ready_at timestamptz)
language sql stable security definer
set search_path = ''
as $$
  select s.queue, s.type, s.ready, s.scheduled, s.processing, s.completed, s.failed, s.cancelled, s.oldest_ready_at
  from edgejobs.queue_stats s
  order by s.queue, s.type
$$;
comment on function public.get_queue_stats() is 'edgejobs operator: job counts per queue and type by state (the edgejobs.queue_stats view).';

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
  -- A type is unhandled when some worker was seen within worker_seen_within (a deployment is up)
  -- and none of those runs it. When no worker was seen at all, the jobs stay ready: that is a
  -- worker outage, which the idle-worker check must see, not a type nobody deployed.
  ready as (
    select r.*, exists (select from edgejobs.job_type_workers w where w.last_seen_at > now() - get_queue_health.worker_seen_within)
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

create function public.retry_failed_jobs(
  job_id uuid default null,
  type text default null,
  queue text default null,
  failed_after timestamptz default null,
  failed_before timestamptz default null
) returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_status text;
  v_count integer;
begin
  if retry_failed_jobs.job_id is not null then
    select j.status into v_status from edgejobs.jobs j where j.id = retry_failed_jobs.job_id;
    if not found then
      raise exception 'edgejobs: job % not found', retry_failed_jobs.job_id using errcode = 'EJ004';
    end if;
    if v_status <> 'failed' then
      raise exception 'edgejobs: job % is %; only failed jobs can be retried', retry_failed_jobs.job_id, v_status using errcode = 'EJ005';
    end if;
  end if;
  update edgejobs.jobs j
  set status = 'queued', attempts = 0, run_at = now(), finished_at = null, expires_at = null,
      result = null, updated_at = now()
  where j.status = 'failed'
    and (retry_failed_jobs.job_id is null or j.id = retry_failed_jobs.job_id)
    and (retry_failed_jobs.type is null or j.type = retry_failed_jobs.type)
    and (retry_failed_jobs.queue is null or j.queue = retry_failed_jobs.queue)
    and (retry_failed_jobs.failed_after is null or j.finished_at >= retry_failed_jobs.failed_after)
    and (retry_failed_jobs.failed_before is null or j.finished_at < retry_failed_jobs.failed_before);
  get diagnostics v_count = row_count;
  return v_count;
end
$$;
comment on function public.retry_failed_jobs(uuid, text, text, timestamptz, timestamptz) is
  'edgejobs operator: redrive failed jobs - one (job_id) or all matching type, queue and a finished_at window (no filter: every failed job). They are queued now with a fresh set of attempts; their error history is kept. Returns how many were requeued.';

create function public.purge_jobs(older_than interval default null, max_rows integer default 10000)
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
  return v_count;
end
$$;
comment on function public.purge_jobs(interval, integer) is
  'edgejobs operator: delete finished jobs (completed, failed, cancelled) - those past their expires_at, or with older_than, those finished longer ago than that. Never touches queued or processing jobs. At most max_rows per call; returns how many were deleted.';

create function public.purge_worker_runs(older_than interval default interval '7 days')
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_count integer;
begin
  if purge_worker_runs.older_than is null or purge_worker_runs.older_than < interval '0' then
    raise exception 'edgejobs: older_than must be a non-negative interval' using errcode = 'EJ001';
  end if;
  delete from edgejobs.worker_runs r where r.started_at < now() - purge_worker_runs.older_than and r.status <> 'running';
  get diagnostics v_count = row_count;
  return v_count;
end
$$;
comment on function public.purge_worker_runs(interval) is 'edgejobs operator: delete finished worker run records older than older_than (default 7 days).';

create function edgejobs.upsert_queue(p_name text, p_paused boolean, p_set_limit boolean, p_limit integer)
returns table (name text, concurrency_limit integer, paused boolean)
language plpgsql volatile
set search_path = ''
as $$
begin
  if p_name is null or not (p_name ~ '^[A-Za-z0-9_.:-]{1,64}$') then
    raise exception 'edgejobs: queue must be 1-64 characters: letters, digits, _ . : -' using errcode = 'EJ001';
  end if;
  if p_set_limit and p_limit is not null and p_limit < 1 then
    raise exception 'edgejobs: concurrency_limit must be at least 1, or null for unlimited' using errcode = 'EJ001';
  end if;
  return query
  insert into edgejobs.queues as q (name, paused, concurrency_limit)
  values (p_name, coalesce(p_paused, false), case when p_set_limit then p_limit end)
  on conflict on constraint queues_pkey do update
    set paused = coalesce(p_paused, q.paused),
        concurrency_limit = case when p_set_limit then p_limit else q.concurrency_limit end,
        updated_at = now()
  returning q.name, q.concurrency_limit, q.paused;
end
$$;
comment on function edgejobs.upsert_queue(text, boolean, boolean, integer) is 'Creates or updates a queue row (core of pause_queue, resume_queue, set_queue_concurrency).';

create function public.pause_queue(queue text)
returns table (name text, concurrency_limit integer, paused boolean)
language sql volatile security definer
set search_path = ''
as $$ select * from edgejobs.upsert_queue(pause_queue.queue, true, false, null) $$;
comment on function public.pause_queue(text) is 'edgejobs operator: stop workers claiming jobs from the queue (running jobs finish; enqueues still accepted).';

create function public.resume_queue(queue text)
returns table (name text, concurrency_limit integer, paused boolean)
language sql volatile security definer
set search_path = ''
as $$ select * from edgejobs.upsert_queue(resume_queue.queue, false, false, null) $$;
comment on function public.resume_queue(text) is 'edgejobs operator: let workers claim from a paused queue again.';

create function public.set_queue_concurrency(queue text, concurrency_limit integer)
returns table (name text, concurrency_limit integer, paused boolean)
language sql volatile security definer
set search_path = ''
as $$ select * from edgejobs.upsert_queue(set_queue_concurrency.queue, null, true, set_queue_concurrency.concurrency_limit) $$;
comment on function public.set_queue_concurrency(text, integer) is 'edgejobs operator: at most concurrency_limit jobs of the queue processing at once across all workers (null: unlimited).';

-- ---------------------------------------------------------------------------------------------
-- Grants. Postgres grants EXECUTE to PUBLIC by default and Supabase adds anon/authenticated/
-- service_role on public: revoke everything, then grant each function to whom it is for.

revoke all on all tables in schema edgejobs from public, anon, authenticated, service_role;
revoke all on all functions in schema edgejobs from public, anon, authenticated, service_role;

revoke execute on function
  public.enqueue_jobs(jsonb),
  public.enqueue_job(text, jsonb, text, integer, timestamptz, double precision, integer, double precision, double precision, text, integer),
  public.get_job(uuid),
  public.list_jobs(text, text, text, timestamptz, uuid, integer),
  public.cancel_job(uuid),
  public.claim_jobs(text, text[], integer, integer, text[]),
  public.get_waiting_limited_queues(text[], text[]),
  public.heartbeat_jobs(jsonb, integer),
  public.save_job_progress(jsonb),
  public.complete_jobs(jsonb),
  public.fail_jobs(jsonb),
  public.hand_back_jobs(jsonb),
  public.reap_expired_leases(integer),
  public.start_worker_run(text, text, timestamptz, text, text[]),
  public.finish_worker_run(uuid, jsonb, jsonb),
  public.register_job_types(jsonb, text),
  public.get_queue_stats(),
  public.get_queue_health(interval),
  public.retry_failed_jobs(uuid, text, text, timestamptz, timestamptz),
  public.purge_jobs(interval, integer),
  public.purge_worker_runs(interval),
  public.pause_queue(text),
  public.resume_queue(text),
  public.set_queue_concurrency(text, integer)
from public, anon, authenticated, service_role;

-- Clients: signed-in users (their own jobs) and the server (service role). Anonymous visitors
-- reach jobs only through a server route that enqueues for them with the service role.
grant execute on function
  public.enqueue_jobs(jsonb),
  public.enqueue_job(text, jsonb, text, integer, timestamptz, double precision, integer, double precision, double precision, text, integer),
  public.get_job(uuid),
  public.list_jobs(text, text, text, timestamptz, uuid, integer),
  public.cancel_job(uuid)
to authenticated, service_role;

-- Workers and operators: service role only.
grant execute on function
  public.claim_jobs(text, text[], integer, integer, text[]),
  public.get_waiting_limited_queues(text[], text[]),
  public.heartbeat_jobs(jsonb, integer),
  public.save_job_progress(jsonb),
  public.complete_jobs(jsonb),
  public.fail_jobs(jsonb),
  public.hand_back_jobs(jsonb),
  public.reap_expired_leases(integer),
  public.start_worker_run(text, text, timestamptz, text, text[]),
  public.finish_worker_run(uuid, jsonb, jsonb),
  public.register_job_types(jsonb, text),
  public.get_queue_stats(),
  public.get_queue_health(interval),
  public.retry_failed_jobs(uuid, text, text, timestamptz, timestamptz),
  public.purge_jobs(interval, integer),
  public.purge_worker_runs(interval),
  public.pause_queue(text),
  public.resume_queue(text),
  public.set_queue_concurrency(text, integer)
to service_role;