-- Recurring schedules. A schedule is a row; its next fire time is a key, not a timer: a drain that
-- finds a schedule due computes the fire times (cron and time zone, in TypeScript with croner) and
-- moves `next_fire_at` on with a compare-and-set (fire_schedule), so however many drains, pg_cron
-- ticks and worker processes look at once, each fire time is enqueued exactly once. A job fired by
-- a schedule carries its name and fire time (jobs.schedule_name, jobs.scheduled_for; unique).
--
-- Who changes a schedule: register_schedules (the app's defineSchedule list, at start: creates,
-- updates, and retires those no longer listed), upsert_schedule (SQL editor), pause/resume/
-- delete_schedule (operators), fire_schedule (drains), trigger_schedule (a run now).

create table edgejobs.schedules (
  name text primary key,
  cron text not null,
  timezone text not null default 'UTC',
  job_type text not null,
  input jsonb not null default '{}'::jsonb,
  -- Enqueue options for each run: queue, priority, max_attempts, backoff_base_seconds,
  -- backoff_max_seconds, keep_for_seconds (as enqueue_jobs takes them).
  options jsonb not null default '{}'::jsonb,
  overlap text not null default 'skip',
  catch_up text not null default 'latest',
  catch_up_limit integer not null default 10,
  run_on_create boolean not null default false,
  -- Paused by an operator (pause_schedule); kept across registrations.
  paused boolean not null default false,
  -- Defined in code (register_schedules) rather than in SQL (upsert_schedule).
  from_code boolean not null default false,
  -- Set when the app's registration no longer lists it (or lists it disabled): it fires no more.
  retired_at timestamptz,
  -- The next fire time; null until a drain computes it from the cron expression.
  next_fire_at timestamptz,
  last_fire_at timestamptz,
  last_job_id uuid,
  fired bigint not null default 0,
  skipped bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint schedules_name_format check (length(name) between 1 and 128 and name !~ '[^A-Za-z0-9_.:/-]'),
  constraint schedules_cron_format check (length(cron) <= 200 and cron ~ '^\S+( \S+){4,5}$'),
  constraint schedules_timezone_length check (length(timezone) between 1 and 64),
  constraint schedules_job_type_format check (length(job_type) between 1 and 128 and job_type !~ '[^A-Za-z0-9_.:/-]'),
  constraint schedules_options_object check (jsonb_typeof(options) = 'object'),
  constraint schedules_overlap_valid check (overlap in ('skip', 'queue', 'allow')),
  constraint schedules_catch_up_valid check (catch_up in ('latest', 'none', 'all')),
  constraint schedules_catch_up_limit_range check (catch_up_limit between 1 and 1000)
);
alter table edgejobs.schedules enable row level security;
create index schedules_due on edgejobs.schedules (next_fire_at) where not paused and retired_at is null;

comment on table edgejobs.schedules is
  'Recurring schedules (cron expression in a time zone → a job of job_type with input). Written by register_schedules (code) and upsert_schedule (SQL); fired by every drain through fire_schedule, exactly once per fire time.';
comment on column edgejobs.schedules.name is 'Unique name; runs carry it in jobs.schedule_name.';
comment on column edgejobs.schedules.cron is 'Cron expression: 5 fields, or 6 with seconds first.';
comment on column edgejobs.schedules.timezone is 'IANA time zone the cron expression is read in (default UTC).';
comment on column edgejobs.schedules.job_type is 'The type of the job each run enqueues.';
comment on column edgejobs.schedules.input is 'The input of each run.';
comment on column edgejobs.schedules.options is 'Enqueue options for each run (queue, priority, max_attempts, backoff_base_seconds, backoff_max_seconds, keep_for_seconds).';
comment on column edgejobs.schedules.overlap is 'skip: no run while the previous run of this schedule is queued or processing; queue: at most one run waiting (none while one is queued); allow: always enqueue.';
comment on column edgejobs.schedules.catch_up is 'After downtime: latest (one run for the missed window), none (nothing for it), all (every missed time, up to catch_up_limit).';
comment on column edgejobs.schedules.catch_up_limit is 'With catch_up all: most missed runs enqueued at once (the latest ones).';
comment on column edgejobs.schedules.run_on_create is 'Fire once as soon as the schedule is created, then by the cron expression.';
comment on column edgejobs.schedules.paused is 'Paused by an operator (pause_schedule / resume_schedule): fires nothing.';
comment on column edgejobs.schedules.from_code is 'Defined in the app (register_schedules); SQL schedules are never retired by a registration.';
comment on column edgejobs.schedules.retired_at is 'When the app''s registration stopped listing it (or listed it disabled): it fires no more. Listed again, it fires again.';
comment on column edgejobs.schedules.next_fire_at is 'The next fire time (null: a drain computes it). Moved on by fire_schedule with a compare-and-set: the key that makes each fire exactly once.';
comment on column edgejobs.schedules.last_fire_at is 'The latest fire time handled (enqueued or skipped).';
comment on column edgejobs.schedules.last_job_id is 'The job of the latest run enqueued.';
comment on column edgejobs.schedules.fired is 'Runs enqueued.';
comment on column edgejobs.schedules.skipped is 'Fire times skipped by the overlap policy.';
comment on column edgejobs.schedules.created_at is 'When the schedule was created.';
comment on column edgejobs.schedules.updated_at is 'When its definition last changed.';

alter table edgejobs.jobs add column schedule_name text, add column scheduled_for timestamptz;
comment on column edgejobs.jobs.schedule_name is 'The schedule that enqueued this job (null for other jobs).';
comment on column edgejobs.jobs.scheduled_for is 'The fire time this run is for (with schedule_name: unique; a manual trigger''s is the time of the trigger).';
create unique index jobs_schedule_fire on edgejobs.jobs (schedule_name, scheduled_for) where schedule_name is not null;
create index jobs_schedule_live on edgejobs.jobs (schedule_name, status) where schedule_name is not null and status in ('queued', 'processing');

-- ---------------------------------------------------------------------------------------------
-- Validation, shared by register_schedules and upsert_schedule: each element is
-- {name, cron, timezone?, job_type, input?, options?, overlap?, catch_up?, catch_up_limit?,
-- run_on_create?, enabled?}. Raises EJ001 naming the element and the field.

create function edgejobs.parse_schedules(p_schedules jsonb)
returns table (ord integer, name text, cron text, timezone text, job_type text, input jsonb, options jsonb,
               overlap text, catch_up text, catch_up_limit integer, run_on_create boolean, enabled boolean)
language plpgsql stable
set search_path = ''
as $$
declare
  v_bad record;
  v_allowed constant text[] := array['name', 'cron', 'timezone', 'job_type', 'input', 'options', 'overlap',
    'catch_up', 'catch_up_limit', 'run_on_create', 'enabled'];
  v_options constant text[] := array['queue', 'priority', 'max_attempts', 'backoff_base_seconds',
    'backoff_max_seconds', 'keep_for_seconds'];
begin
  if p_schedules is null or jsonb_typeof(p_schedules) <> 'array' then
    raise exception 'edgejobs: schedules must be a JSON array' using errcode = 'EJ001';
  end if;
  select t.ord - 1 as idx, x.problem into v_bad
  from jsonb_array_elements(p_schedules) with ordinality as t(e, ord)
  cross join lateral (select case
      when jsonb_typeof(t.e) <> 'object' then 'must be an object'
      when exists (select from jsonb_object_keys(t.e) k where k <> all (v_allowed))
        then 'has an unknown field: ' || (select string_agg(k, ', ') from jsonb_object_keys(t.e) k where k <> all (v_allowed))
      when jsonb_typeof(t.e -> 'name') is distinct from 'string' or (t.e ->> 'name') !~ '^[A-Za-z0-9_.:/-]{1,128}$'
        then 'name must be 1-128 characters of A-Z a-z 0-9 _ . : / -'
      when jsonb_typeof(t.e -> 'cron') is distinct from 'string' or length(t.e ->> 'cron') > 200 or (t.e ->> 'cron') !~ '^\S+( \S+){4,5}$'
        then 'cron must be a cron expression of 5 fields (or 6, seconds first)'
      when t.e ? 'timezone' and (jsonb_typeof(t.e -> 'timezone') <> 'string'
        or not exists (select from pg_catalog.pg_timezone_names z where z.name = t.e ->> 'timezone'))
        then 'timezone ' || coalesce(t.e ->> 'timezone', 'null') || ' is not an IANA time zone'
      when jsonb_typeof(t.e -> 'job_type') is distinct from 'string' or (t.e ->> 'job_type') !~ '^[A-Za-z0-9_.:/-]{1,128}$'
        then 'job_type must be 1-128 characters of A-Z a-z 0-9 _ . : / -'
      when t.e ? 'options' and jsonb_typeof(t.e -> 'options') <> 'object' then 'options must be an object'
      when exists (select from jsonb_object_keys(coalesce(t.e -> 'options', '{}')) k where k <> all (v_options))
        then 'options may only hold ' || array_to_string(v_options, ', ')
      when t.e ? 'overlap' and coalesce(t.e ->> 'overlap', '') not in ('skip', 'queue', 'allow') then 'overlap must be skip, queue or allow'
      when t.e ? 'catch_up' and coalesce(t.e ->> 'catch_up', '') not in ('latest', 'none', 'all') then 'catch_up must be latest, none or all'
      when t.e ? 'catch_up_limit' and (jsonb_typeof(t.e -> 'catch_up_limit') <> 'number' or (t.e ->> 'catch_up_limit') !~ '^\d+$'
        or (t.e ->> 'catch_up_limit')::numeric not between 1 and 1000) then 'catch_up_limit must be an integer from 1 to 1000'
      when t.e ? 'run_on_create' and jsonb_typeof(t.e -> 'run_on_create') <> 'boolean' then 'run_on_create must be true or false'
      when t.e ? 'enabled' and jsonb_typeof(t.e -> 'enabled') <> 'boolean' then 'enabled must be true or false'
    end as problem) x
  where x.problem is not null
  order by t.ord limit 1;
  if found then
    raise exception 'edgejobs: schedules[%] %', v_bad.idx, v_bad.problem using errcode = 'EJ001';
  end if;
  select t.e ->> 'name' as name into v_bad
  from jsonb_array_elements(p_schedules) t(e) group by 1 having count(*) > 1 limit 1;
  if found then
    raise exception 'edgejobs: schedule % is given twice', v_bad.name using errcode = 'EJ001';
  end if;
  -- Each run's job as enqueue would take it: the same checks (input size, option ranges).
  perform edgejobs.validate_job_specs(coalesce(jsonb_agg(
    jsonb_build_object('type', t.e ->> 'job_type', 'input', coalesce(t.e -> 'input', '{}'::jsonb)) || coalesce(t.e -> 'options', '{}'::jsonb)
    order by t.ord), '[]'::jsonb))
  from jsonb_array_elements(p_schedules) with ordinality as t(e, ord);

  return query
  select t.ord::integer, t.e ->> 'name', t.e ->> 'cron', coalesce(t.e ->> 'timezone', 'UTC'), t.e ->> 'job_type',
         coalesce(t.e -> 'input', '{}'::jsonb), coalesce(t.e -> 'options', '{}'::jsonb),
         coalesce(t.e ->> 'overlap', 'skip'), coalesce(t.e ->> 'catch_up', 'latest'),
         coalesce((t.e ->> 'catch_up_limit')::integer, 10), coalesce((t.e ->> 'run_on_create')::boolean, false),
         coalesce((t.e ->> 'enabled')::boolean, true)
  from jsonb_array_elements(p_schedules) with ordinality as t(e, ord)
  order by t.ord;
end
$$;
comment on function edgejobs.parse_schedules(jsonb) is
  'Validates schedule definitions (EJ001 naming the element and field; the run''s job checked as enqueue checks it) and returns them with defaults.';

-- Creates or updates schedules from definitions. A schedule whose timing changed (cron, time zone)
-- gets its next fire time computed again; a new one with run_on_create fires at once.
create function edgejobs.save_schedules(p_schedules jsonb, p_from_code boolean)
returns setof edgejobs.schedules
language sql volatile
set search_path = ''
as $$
  insert into edgejobs.schedules as s (name, cron, timezone, job_type, input, options, overlap, catch_up, catch_up_limit,
    run_on_create, from_code, retired_at, next_fire_at)
  select p.name, p.cron, p.timezone, p.job_type, p.input, p.options, p.overlap, p.catch_up, p.catch_up_limit,
         p.run_on_create, p_from_code, case when p.enabled then null else now() end,
         -- Milliseconds: the drains compare it as a JavaScript Date (compare-and-set).
         case when p.run_on_create then date_trunc('milliseconds', now()) end
  from edgejobs.parse_schedules(p_schedules) p
  order by p.ord
  on conflict (name) do update set
    cron = excluded.cron, timezone = excluded.timezone, job_type = excluded.job_type, input = excluded.input,
    options = excluded.options, overlap = excluded.overlap, catch_up = excluded.catch_up,
    catch_up_limit = excluded.catch_up_limit, run_on_create = excluded.run_on_create, from_code = excluded.from_code,
    retired_at = excluded.retired_at,
    next_fire_at = case when (s.cron, s.timezone) is distinct from (excluded.cron, excluded.timezone) or s.retired_at is not null
                        then null else s.next_fire_at end,
    updated_at = case when (s.cron, s.timezone, s.job_type, s.input, s.options, s.overlap, s.catch_up, s.catch_up_limit, s.run_on_create, s.retired_at is null)
                           is distinct from (excluded.cron, excluded.timezone, excluded.job_type, excluded.input, excluded.options,
                                             excluded.overlap, excluded.catch_up, excluded.catch_up_limit, excluded.run_on_create, excluded.retired_at is null)
                      then now() else s.updated_at end
  returning s.*
$$;
comment on function edgejobs.save_schedules(jsonb, boolean) is
  'Creates or updates schedules (validated by parse_schedules); a changed cron or time zone, or a retired schedule coming back, gets its next fire time computed again.';

-- A run of a schedule, now or for a fire time, by its overlap policy (unless forced). Returns the
-- job id, or null when the policy skipped it.
create function edgejobs.enqueue_schedule_run(p_schedule edgejobs.schedules, p_fire_at timestamptz, p_force boolean)
returns uuid
language plpgsql volatile
set search_path = ''
as $$
declare
  v_id uuid;
begin
  if not p_force and p_schedule.overlap <> 'allow' and exists (
    select from edgejobs.jobs j
    where j.schedule_name = p_schedule.name
      and j.status in (case when p_schedule.overlap = 'skip' then 'processing' else 'queued' end, 'queued')) then
    update edgejobs.schedules s set skipped = s.skipped + 1 where s.name = p_schedule.name;
    return null;
  end if;
  select i.id into v_id
  from edgejobs.insert_jobs(jsonb_build_array(
    jsonb_build_object('type', p_schedule.job_type, 'input', p_schedule.input) || p_schedule.options), null) i;
  -- The fire time is the run's key: a second run for the same time cannot be stored.
  update edgejobs.jobs j set schedule_name = p_schedule.name, scheduled_for = p_fire_at where j.id = v_id;
  update edgejobs.schedules s set fired = s.fired + 1, last_job_id = v_id where s.name = p_schedule.name;
  return v_id;
end
$$;
comment on function edgejobs.enqueue_schedule_run(edgejobs.schedules, timestamptz, boolean) is
  'Enqueues one run of a schedule for a fire time (its job carries schedule_name and scheduled_for), unless its overlap policy skips it (skip: a run queued or processing; queue: a run queued) and it is not forced. Returns the job id or null.';

-- ---------------------------------------------------------------------------------------------
-- Drains.

create function public.get_due_schedules(as_of timestamptz default now(), max_rows integer default 100)
returns table (name text, cron text, timezone text, catch_up text, catch_up_limit integer, next_fire_at timestamptz,
               last_fire_at timestamptz, created_at timestamptz)
language sql stable security definer
set search_path = ''
as $$
  select s.name, s.cron, s.timezone, s.catch_up, s.catch_up_limit, s.next_fire_at, s.last_fire_at, s.created_at
  from edgejobs.schedules s
  where not s.paused and s.retired_at is null
    and (s.next_fire_at is null or s.next_fire_at <= get_due_schedules.as_of)
  order by s.next_fire_at nulls first
  limit least(greatest(coalesce(get_due_schedules.max_rows, 100), 1), 1000)
$$;
comment on function public.get_due_schedules(timestamptz, integer) is
  'edgejobs worker: schedules due at as_of (default now), and those whose next fire time is not computed yet (next_fire_at null). Cheap: an index on next_fire_at. Each drain calls it as it starts and every few seconds.';

create function public.fire_schedule(name text, expected_next_fire_at timestamptz, fire_times timestamptz[], next_fire_at timestamptz)
returns table (fire_at timestamptz, job_id uuid)
language plpgsql volatile security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_schedule edgejobs.schedules;
  v_fire timestamptz;
begin
  if fire_schedule.next_fire_at is null then
    raise exception 'edgejobs: next_fire_at is required' using errcode = 'EJ001';
  end if;
  if coalesce(array_length(fire_schedule.fire_times, 1), 0) > 1000 then
    raise exception 'edgejobs: at most 1000 fire times at once' using errcode = 'EJ001';
  end if;
  -- The compare-and-set: only the caller that saw this next fire time moves it on. Everyone else
  -- (another drain that computed the same times) gets no row and enqueues nothing.
  update edgejobs.schedules s
  set next_fire_at = fire_schedule.next_fire_at,
      last_fire_at = coalesce((select max(f) from unnest(fire_schedule.fire_times) f), s.last_fire_at)
  where s.name = fire_schedule.name
    and s.next_fire_at is not distinct from fire_schedule.expected_next_fire_at
    and not s.paused and s.retired_at is null
  returning s.* into v_schedule;
  if not found then
    return;
  end if;
  foreach v_fire in array coalesce(fire_schedule.fire_times, '{}') loop
    fire_at := v_fire;
    job_id := edgejobs.enqueue_schedule_run(v_schedule, v_fire, false);
    return next;
  end loop;
end
$$;
comment on function public.fire_schedule(text, timestamptz, timestamptz[], timestamptz) is
  'edgejobs worker: fires a due schedule: when its next_fire_at is still expected_next_fire_at (compare-and-set), sets it to next_fire_at and enqueues a run for each of fire_times by the overlap policy (job_id null: skipped). Answers nothing when another drain fired it first. Each fire time is a key: a second run for it cannot be stored.';

-- ---------------------------------------------------------------------------------------------
-- The app and operators.

create function public.register_schedules(schedules jsonb)
returns table (name text, created boolean, retired boolean)
language plpgsql volatile security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  -- One registration at a time (the app's instances start together): no interleaved retiring.
  perform pg_catalog.pg_advisory_xact_lock(hashtext('edgejobs.register_schedules'));
  return query
  with saved as (
    select s.name, s.created_at = now() as created from edgejobs.save_schedules(register_schedules.schedules, true) s),
  -- Defined in code before, not listed now: retired (it fires no more), not deleted (its history stays).
  retired as (
    update edgejobs.schedules s set retired_at = now(), updated_at = now()
    where s.from_code and s.retired_at is null and s.name not in (select v.name from saved v)
    returning s.name)
  select v.name, v.created, false from saved v
  union all
  select r.name, false, true from retired r;
end
$$;
comment on function public.register_schedules(jsonb) is
  $$edgejobs: the app's schedules (service role; registerSchedules() calls it at start; idempotent). `schedules` is a JSON array of {name, cron, timezone ('UTC'), job_type, input ({}), options ({}: queue, priority, max_attempts, backoff_base_seconds, backoff_max_seconds, keep_for_seconds), overlap ('skip' | 'queue' | 'allow'), catch_up ('latest' | 'none' | 'all'), catch_up_limit (10), run_on_create (false), enabled (true)}. Creates and updates them; a schedule defined in code before and not listed now is retired (fires no more; listed again, it fires again); schedules made in SQL are left alone. Returns each name with whether it was created or retired.$$;

create function public.upsert_schedule(
  name text,
  cron text,
  job_type text,
  input jsonb default '{}'::jsonb,
  timezone text default 'UTC',
  options jsonb default '{}'::jsonb,
  overlap text default 'skip',
  catch_up text default 'latest',
  catch_up_limit integer default 10,
  run_on_create boolean default false)
returns setof edgejobs.schedules
language sql volatile security definer
set search_path = ''
as $$
  -- Arguments given as null take their defaults (only the top level: the input keeps its nulls).
  select * from edgejobs.save_schedules(jsonb_build_array((
    select coalesce(jsonb_object_agg(a.k, a.v), '{}'::jsonb)
    from jsonb_each(jsonb_build_object(
      'name', upsert_schedule.name, 'cron', upsert_schedule.cron, 'job_type', upsert_schedule.job_type,
      'input', upsert_schedule.input, 'timezone', upsert_schedule.timezone, 'options', upsert_schedule.options,
      'overlap', upsert_schedule.overlap, 'catch_up', upsert_schedule.catch_up,
      'catch_up_limit', upsert_schedule.catch_up_limit, 'run_on_create', upsert_schedule.run_on_create)) a(k, v)
    where a.v <> 'null'::jsonb)), false)
$$;
comment on function public.upsert_schedule(text, text, text, jsonb, text, jsonb, text, text, integer, boolean) is
  $$edgejobs operator: create or change a schedule from SQL, e.g. select * from upsert_schedule('daily-brief', '0 8 * * *', 'brief.send', timezone => 'America/New_York'). An unknown time zone or a malformed cron expression is refused (EJ001) naming it. Schedules made here are never retired by the app's registration.$$;

create function public.pause_schedule(name text)
returns setof edgejobs.schedules
language sql volatile security definer
set search_path = ''
as $$
  update edgejobs.schedules s set paused = true, updated_at = now() where s.name = pause_schedule.name returning s.*
$$;
comment on function public.pause_schedule(text) is 'edgejobs operator: stop a schedule firing (runs already enqueued go on). No row: no such schedule.';

create function public.resume_schedule(name text)
returns setof edgejobs.schedules
language sql volatile security definer
set search_path = ''
as $$
  -- The next fire time is computed again from now: a paused window is not caught up.
  update edgejobs.schedules s set paused = false, next_fire_at = null, updated_at = now()
  where s.name = resume_schedule.name and s.paused returning s.*
$$;
comment on function public.resume_schedule(text) is 'edgejobs operator: let a paused schedule fire again, from its next fire time after now (the paused window is not caught up).';

create function public.trigger_schedule(name text, force boolean default false)
returns table (job_id uuid, skipped boolean)
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_schedule edgejobs.schedules;
  v_id uuid;
begin
  select * into v_schedule from edgejobs.schedules s where s.name = trigger_schedule.name for update;
  if not found then
    raise exception 'edgejobs: no schedule %', trigger_schedule.name using errcode = 'EJ004';
  end if;
  v_id := edgejobs.enqueue_schedule_run(v_schedule, clock_timestamp(), coalesce(trigger_schedule.force, false));
  return query select v_id, v_id is null;
end
$$;
comment on function public.trigger_schedule(text, boolean) is 'edgejobs operator: one run of a schedule now (also when paused), respecting its overlap policy unless force; skipped = the policy held it back. Does not move the schedule''s next fire time.';

create function public.delete_schedule(name text)
returns boolean
language sql volatile security definer
set search_path = ''
as $$
  with gone as (delete from edgejobs.schedules s where s.name = delete_schedule.name returning 1)
  select exists (select from gone)
$$;
comment on function public.delete_schedule(text) is 'edgejobs operator: delete a schedule (its runs stay, with their schedule_name). A schedule defined in code comes back at the app''s next registration: remove it from the code to stop it.';

create view edgejobs.schedule_status with (security_invoker = true) as
select s.name, s.cron, s.timezone, s.job_type,
       case when s.retired_at is not null then 'retired' when s.paused then 'paused' else 'active' end as state,
       s.next_fire_at, s.last_fire_at, s.overlap, s.catch_up, s.fired, s.skipped,
       j.id as last_job_id, j.status as last_job_status, j.finished_at as last_job_finished_at,
       j.error ->> 'message' as last_job_error
from edgejobs.schedules s
left join edgejobs.jobs j on j.id = s.last_job_id;
comment on view edgejobs.schedule_status is 'Schedules for the dashboard: state (active, paused, retired), next and last fire, how many runs fired and skipped, and the latest run''s outcome.';
comment on column edgejobs.schedule_status.name is 'The schedule.';
comment on column edgejobs.schedule_status.cron is 'Its cron expression.';
comment on column edgejobs.schedule_status.timezone is 'The time zone it is read in.';
comment on column edgejobs.schedule_status.job_type is 'The type each run enqueues.';
comment on column edgejobs.schedule_status.state is 'active, paused (by an operator) or retired (no longer in the app''s registration).';
comment on column edgejobs.schedule_status.next_fire_at is 'The next fire time (null: computed at the next drain).';
comment on column edgejobs.schedule_status.last_fire_at is 'The latest fire time handled.';
comment on column edgejobs.schedule_status.overlap is 'skip, queue or allow.';
comment on column edgejobs.schedule_status.catch_up is 'latest, none or all.';
comment on column edgejobs.schedule_status.fired is 'Runs enqueued.';
comment on column edgejobs.schedule_status.skipped is 'Fire times skipped by the overlap policy.';
comment on column edgejobs.schedule_status.last_job_id is 'The job of the latest run.';
comment on column edgejobs.schedule_status.last_job_status is 'Its status.';
comment on column edgejobs.schedule_status.last_job_finished_at is 'When it finished.';
comment on column edgejobs.schedule_status.last_job_error is 'Its error message, when it failed.';

create function public.list_schedules()
returns table (name text, cron text, timezone text, job_type text, state text, next_fire_at timestamptz,
               last_fire_at timestamptz, overlap text, catch_up text, fired bigint, skipped bigint,
               last_job_id uuid, last_job_status text, last_job_finished_at timestamptz, last_job_error text)
language sql stable security definer
set search_path = ''
as $$ select * from edgejobs.schedule_status v order by v.name $$;
comment on function public.list_schedules() is 'edgejobs operator: every schedule with its state, next and last fire, counts and the latest run''s outcome (the edgejobs.schedule_status view).';

revoke all on edgejobs.schedules, edgejobs.schedule_status from public, anon, authenticated, service_role;
revoke all on function edgejobs.parse_schedules(jsonb), edgejobs.save_schedules(jsonb, boolean),
  edgejobs.enqueue_schedule_run(edgejobs.schedules, timestamptz, boolean) from public, anon, authenticated, service_role;
revoke execute on function
  public.get_due_schedules(timestamptz, integer),
  public.fire_schedule(text, timestamptz, timestamptz[], timestamptz),
  public.register_schedules(jsonb),
  public.upsert_schedule(text, text, text, jsonb, text, jsonb, text, text, integer, boolean),
  public.pause_schedule(text),
  public.resume_schedule(text),
  public.trigger_schedule(text, boolean),
  public.delete_schedule(text),
  public.list_schedules()
from public, anon, authenticated;
grant execute on function
  public.get_due_schedules(timestamptz, integer),
  public.fire_schedule(text, timestamptz, timestamptz[], timestamptz),
  public.register_schedules(jsonb),
  public.upsert_schedule(text, text, text, jsonb, text, jsonb, text, text, integer, boolean),
  public.pause_schedule(text),
  public.resume_schedule(text),
  public.trigger_schedule(text, boolean),
  public.delete_schedule(text),
  public.list_schedules()
to service_role;
