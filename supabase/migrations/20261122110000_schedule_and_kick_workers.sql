-- Starting workers: the pg_cron schedule that calls the process-jobs Edge Function every few
-- seconds through pg_net, and the kick that starts one at once when a job lands on an idle
-- queue. The function's URL and its worker secret live in Supabase Vault, never in code.
-- Nothing here depends on LISTEN/NOTIFY (the transaction pooler does not carry it); the
-- notification sent on insert only wakes long-running workers that hold a direct connection.

-- Supabase offers both extensions; plain PostgreSQL (local development) may lack them, and then
-- the schedule and the kick stay off until they exist.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net with schema extensions;
  end if;
exception when others then
  raise notice 'edgejobs: pg_net not enabled (%); enable it under Database → Extensions', sqlerrm;
end
$$;
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron;
  end if;
exception when others then
  raise notice 'edgejobs: pg_cron not enabled (%); enable it under Database → Extensions', sqlerrm;
end
$$;

create function edgejobs.kick_due() returns boolean
language sql stable
set search_path = ''
as $$
  -- Plain reads: no lock, no write. Most enqueues find a recent kick or a running drain here.
  select k.last_kick_at <= clock_timestamp() - k.min_interval
     and not exists (
       select 1 from edgejobs.worker_runs r
       where r.status = 'running' and r.deadline_at > clock_timestamp() + interval '2 seconds')  -- a live drain picks new jobs up by itself
  from edgejobs.kicks k
$$;
comment on function edgejobs.kick_due() is
  'True when a kick would be useful now: none within kicks.min_interval and no drain running. Reads only.';

create function edgejobs.try_claim_kick() returns boolean
language plpgsql volatile
set search_path = ''
as $$
begin
  if not edgejobs.kick_due() then
    return false;
  end if;
  -- Whoever gets the row lock first kicks; everyone else skips instead of waiting.
  perform 1 from edgejobs.kicks k where k.id for update skip locked;
  if not found then
    return false;
  end if;
  update edgejobs.kicks k set last_kick_at = clock_timestamp(), kicks = k.kicks + 1
  where k.id and k.last_kick_at <= clock_timestamp() - k.min_interval;
  return found;
end
$$;
comment on function edgejobs.try_claim_kick() is
  'True for the one caller that may kick a worker now: none kicked within kicks.min_interval and no drain is running. Never waits on another caller.';

create function edgejobs.worker_endpoint(out url text, out secret text)
language plpgsql stable
set search_path = ''
as $$
begin
  if to_regclass('vault.decrypted_secrets') is null then
    return;
  end if;
  select s.decrypted_secret into url from vault.decrypted_secrets s where s.name = 'edgejobs_worker_url';
  select s.decrypted_secret into secret from vault.decrypted_secrets s where s.name = 'edgejobs_worker_secret';
end
$$;
comment on function edgejobs.worker_endpoint() is
  'The worker''s URL and secret from Vault (secrets edgejobs_worker_url and edgejobs_worker_secret), or nulls.';

create function edgejobs.post_to_worker(trigger text, body jsonb default '{}'::jsonb) returns bigint
language plpgsql volatile
set search_path = ''
as $$
declare
  v_url text;
  v_secret text;
begin
  if to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null then
    return null;
  end if;
  select e.url, e.secret into v_url, v_secret from edgejobs.worker_endpoint() e;
  if v_url is null or v_secret is null then
    return null;
  end if;
  -- pg_net sends after commit; bodies stay tiny (pg_net hangs on bodies over 64 KB).
  return net.http_post(
    url := v_url,
    body := jsonb_build_object('trigger', post_to_worker.trigger) || post_to_worker.body,
    params := '{}'::jsonb,
    headers := jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || v_secret),
    timeout_milliseconds := 5000);
end
$$;
comment on function edgejobs.post_to_worker(text, jsonb) is
  'Starts a drain: POSTs {trigger, ...body} to the worker URL from Vault through pg_net (after commit). Returns the pg_net request id, or null when pg_net or the secrets are missing.';

create function edgejobs.kick_after_insert() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform pg_notify('edgejobs_jobs', '');
  -- Cheapest test first: the Vault read (a decryption) happens only when a kick is due.
  if to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is not null
     and edgejobs.kick_due()
     and (select e.url is not null and e.secret is not null from edgejobs.worker_endpoint() e)
     and edgejobs.try_claim_kick() then
    perform edgejobs.post_to_worker('kick');
  end if;
  return null;
end
$$;
comment on function edgejobs.kick_after_insert() is
  'Trigger: after jobs are inserted (by any path: routes, SQL, schedules), wake listening workers (NOTIFY edgejobs_jobs) and kick the worker through pg_net unless one was kicked recently or is running.';

create trigger jobs_kick_worker
after insert on edgejobs.jobs
for each statement
execute function edgejobs.kick_after_insert();

create function public.claim_worker_kick() returns boolean
language sql volatile security definer
set search_path = ''
as $$ select edgejobs.try_claim_kick() $$;
comment on function public.claim_worker_kick() is
  'edgejobs: true when the caller should kick a worker now (at most one kick per interval across all callers; none while a drain runs). Used by route handlers that kick through functions.invoke when the database cannot (no pg_net or Vault secrets).';

create function public.count_running_workers() returns integer
language sql stable security definer
set search_path = ''
as $$
  select count(*)::integer from edgejobs.worker_runs r
  where r.status = 'running' and (r.deadline_at is null or r.deadline_at > now())
$$;
comment on function public.count_running_workers() is
  'edgejobs worker: how many drains are running now (worker runs not finished and not past their deadline). Bounds fan-out and keeps cron ticks from piling drains up.';

create function public.schedule_worker(every_seconds integer default 5)
returns table (jobname text, schedule text)
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_version int[];
  v_schedule text;
begin
  if schedule_worker.every_seconds is null or schedule_worker.every_seconds not between 1 and 59 then
    raise exception 'edgejobs: every_seconds must be between 1 and 59' using errcode = 'EJ001';
  end if;
  if to_regnamespace('cron') is null then
    raise exception 'edgejobs: pg_cron is not enabled' using errcode = 'EJ001',
      hint = 'Enable pg_cron under Database → Extensions, then call schedule_worker() again.';
  end if;
  if to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null then
    raise exception 'edgejobs: pg_net is not enabled' using errcode = 'EJ001',
      hint = 'Enable pg_net under Database → Extensions, then call schedule_worker() again.';
  end if;
  if (select e.url is null or e.secret is null from edgejobs.worker_endpoint() e) then
    raise exception 'edgejobs: the worker URL and secret are not in Vault' using errcode = 'EJ001',
      hint = 'select vault.create_secret(''https://<ref>.supabase.co/functions/v1/process-jobs'', ''edgejobs_worker_url''); select vault.create_secret(''<secret>'', ''edgejobs_worker_secret'');';
  end if;
  -- pg_cron 1.5+ (Supabase runs 1.6) takes 'N seconds'; older versions only cron syntax, whose
  -- finest step is a minute.
  -- extversion looks like '1.6.4' or, on Debian, '1.4-1': keep the leading numbers.
  select string_to_array(substring(e.extversion from '^[0-9]+(?:\.[0-9]+)*'), '.')::int[] into v_version
  from pg_catalog.pg_extension e where e.extname = 'pg_cron';
  v_schedule := case when v_version >= array[1, 5] then schedule_worker.every_seconds || ' seconds' else '* * * * *' end;
  -- cron.schedule() with an existing name replaces that job: calling this again is safe.
  perform cron.schedule('edgejobs-drain', v_schedule, $cmd$select edgejobs.post_to_worker('cron')$cmd$);
  -- A 5-second schedule adds 17,280 rows a day to cron.job_run_details, which nothing cleans.
  perform cron.schedule('edgejobs-purge', '17 * * * *', $cmd$
    delete from cron.job_run_details where end_time < now() - interval '1 day';
    select public.purge_jobs();
    select public.purge_worker_runs();
  $cmd$);
  return query select j.jobname::text, j.schedule::text from cron.job j where j.jobname in ('edgejobs-drain', 'edgejobs-purge') order by j.jobname;
end
$$;
comment on function public.schedule_worker(integer) is
  'edgejobs operator: schedules the drain (pg_cron → pg_net → the process-jobs function, every N seconds; every minute on pg_cron < 1.5) and an hourly purge of cron.job_run_details, finished jobs and worker runs. Idempotent. Needs pg_cron, pg_net and the Vault secrets edgejobs_worker_url and edgejobs_worker_secret.';

create function public.unschedule_worker() returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_count integer := 0;
  v_name text;
begin
  if to_regnamespace('cron') is null then
    return 0;
  end if;
  for v_name in select j.jobname from cron.job j where j.jobname in ('edgejobs-drain', 'edgejobs-purge') loop
    perform cron.unschedule(v_name);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;
comment on function public.unschedule_worker() is
  'edgejobs operator: removes the edgejobs-drain and edgejobs-purge cron jobs. Returns how many it removed.';

revoke execute on function public.claim_worker_kick(), public.count_running_workers(), public.schedule_worker(integer), public.unschedule_worker() from public, anon, authenticated;
grant execute on function public.claim_worker_kick(), public.count_running_workers(), public.schedule_worker(integer), public.unschedule_worker() to service_role;

-- The helpers above are called by triggers and definer functions, which run as the owner: no
-- role needs EXECUTE on them (a function starts executable by PUBLIC).
revoke all on all functions in schema edgejobs from public, anon, authenticated, service_role;
