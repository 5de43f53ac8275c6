-- Per-type and per-schedule run history: runs, successes and failures over a window, the current
-- streak of failed runs, the last success and failure, durations (p50, p95, average) and
-- throughput. A run is a job that ended (completed, failed or cancelled); its duration is its
-- last attempt's (finished_at - started_at). Health reports a type or schedule whose latest runs
-- failed N times in a row as critical (the routes' maxConsecutiveFailedJobs, default 3).

-- The latest runs of each type, and of each schedule, without scanning the table.
create index jobs_type_finished_idx on edgejobs.jobs (type, finished_at desc) where finished_at is not null;
create index jobs_schedule_finished_idx on edgejobs.jobs (schedule_name, finished_at desc)
  where schedule_name is not null and finished_at is not null;

-- The streak of failed runs at the head of a run history (newest first): how many failed before
-- the latest completed one. Cancelled runs neither break nor extend it.
create function edgejobs.failure_streak(p_statuses text[]) returns integer
language sql immutable
set search_path = ''
as $$
  select coalesce((select min(s.n) - 1 from unnest(p_statuses) with ordinality as s(status, n) where s.status = 'completed')::integer,
                  cardinality(p_statuses), 0)
$$;
comment on function edgejobs.failure_streak(text[]) is
  'Given the completed/failed statuses of the latest runs, newest first: how many failed before the latest completed one (all of them when none completed).';

create function public.get_type_stats(since interval default interval '24 hours')
returns table (type text, schedule_name text, runs bigint, completed bigint, failed bigint, cancelled bigint,
               consecutive_failures integer, last_success_at timestamptz, last_failure_at timestamptz,
               duration_p50_ms double precision, duration_p95_ms double precision, duration_avg_ms double precision,
               runs_per_minute double precision)
language sql stable security definer
set search_path = ''
as $$
  with recursive types(type) as (
    -- Each type that has run, by a loose scan of jobs_type_finished_idx (one probe per type).
    (select j.type from edgejobs.jobs j where j.finished_at is not null order by j.type limit 1)
    union all
    select (select j.type from edgejobs.jobs j where j.finished_at is not null and j.type > t.type order by j.type limit 1)
    from types t where t.type is not null
  ),
  subjects as (
    select t.type, null::text as schedule_name from types t where t.type is not null
    union all
    select s.job_type, s.name from edgejobs.schedules s
  )
  select x.type, x.schedule_name, w.runs, w.completed, w.failed, w.cancelled,
         edgejobs.failure_streak(h.statuses), h.last_success_at, h.last_failure_at,
         w.p50, w.p95, w.avg, w.runs / greatest(extract(epoch from get_type_stats.since) / 60, 1e-9)
  from subjects x
  cross join lateral (
    -- The window: runs that ended within it. (One branch runs per subject: a type's or a schedule's.)
    select count(*) as runs, count(*) filter (where j.status = 'completed') as completed,
           count(*) filter (where j.status = 'failed') as failed, count(*) filter (where j.status = 'cancelled') as cancelled,
           percentile_cont(0.5) within group (order by j.ms) as p50, percentile_cont(0.95) within group (order by j.ms) as p95,
           avg(j.ms) as avg
    from (
      select j.status, extract(epoch from j.finished_at - j.started_at) * 1000 as ms from edgejobs.jobs j
      where x.schedule_name is null and j.type = x.type and j.finished_at >= now() - get_type_stats.since
      union all
      select j.status, extract(epoch from j.finished_at - j.started_at) * 1000 from edgejobs.jobs j
      where x.schedule_name is not null and j.schedule_name = x.schedule_name and j.finished_at >= now() - get_type_stats.since
    ) j
  ) w
  cross join lateral (
    -- The history: the latest 100 runs that completed or failed, newest first.
    select array_agg(r.status order by r.finished_at desc) as statuses,
           max(r.finished_at) filter (where r.status = 'completed') as last_success_at,
           max(r.finished_at) filter (where r.status = 'failed') as last_failure_at
    from (
      (select j.status, j.finished_at from edgejobs.jobs j
       where x.schedule_name is null and j.type = x.type and j.finished_at is not null and j.status <> 'cancelled'
       order by j.finished_at desc limit 100)
      union all
      (select j.status, j.finished_at from edgejobs.jobs j
       where x.schedule_name is not null and j.schedule_name = x.schedule_name and j.finished_at is not null and j.status <> 'cancelled'
       order by j.finished_at desc limit 100)
    ) r
  ) h
  order by x.type, x.schedule_name nulls first
$$;
comment on function public.get_type_stats(interval) is
  'edgejobs operator: per job type, and per schedule (schedule_name set), over the window `since` (default 24 hours): runs that ended (completed, failed, cancelled), the durations of their last attempt (p50, p95, average, in ms) and runs per minute; and over the latest 100 runs: consecutive_failures (failed runs since the latest completed one), last success and failure. Index-driven: a loose scan for the types, then each type''s and schedule''s latest runs.';

create view edgejobs.type_stats with (security_invoker = true) as
select * from public.get_type_stats(interval '24 hours');
comment on view edgejobs.type_stats is 'Per job type and per schedule, over the last 24 hours: runs, completed, failed, cancelled, the current streak of failed runs, last success and failure, durations (p50, p95, average) and runs per minute (get_type_stats).';
comment on column edgejobs.type_stats.type is 'The job type.';
comment on column edgejobs.type_stats.schedule_name is 'The schedule (null: the type as a whole).';
comment on column edgejobs.type_stats.runs is 'Runs that ended in the window.';
comment on column edgejobs.type_stats.completed is 'Of those, completed.';
comment on column edgejobs.type_stats.failed is 'Of those, failed for good.';
comment on column edgejobs.type_stats.cancelled is 'Of those, cancelled.';
comment on column edgejobs.type_stats.consecutive_failures is 'Failed runs since the latest completed one (among the latest 100).';
comment on column edgejobs.type_stats.last_success_at is 'When the latest completed run ended.';
comment on column edgejobs.type_stats.last_failure_at is 'When the latest failed run ended.';
comment on column edgejobs.type_stats.duration_p50_ms is 'Median duration of the last attempt, in ms.';
comment on column edgejobs.type_stats.duration_p95_ms is '95th percentile of it, in ms.';
comment on column edgejobs.type_stats.duration_avg_ms is 'Average of it, in ms.';
comment on column edgejobs.type_stats.runs_per_minute is 'Runs that ended per minute over the window.';

revoke all on edgejobs.type_stats from public, anon, authenticated, service_role;
revoke all on function edgejobs.failure_streak(text[]) from public, anon, authenticated, service_role;
revoke execute on function public.get_type_stats(interval) from public, anon, authenticated;
grant execute on function public.get_type_stats(interval) to service_role;
