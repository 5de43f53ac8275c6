-- Live job updates over Supabase Realtime, the way Supabase recommends for scale and security:
-- Broadcast from the database. A trigger sends each change of a job's status or progress to a
-- private per-job topic; an RLS policy on realtime.messages lets only the job's owner join it.
-- (Postgres Changes would check every change once per subscriber on one thread; Broadcast does
-- not.) Payloads are small on purpose: the client refetches the job for its result or error.

create function edgejobs.job_topic(owner_id uuid, job_id uuid) returns text
language sql immutable
set search_path = ''
as $$ select 'edgejobs:' || owner_id::text || ':job:' || job_id::text $$;
comment on function edgejobs.job_topic(uuid, uuid) is
  'The private Realtime topic of a job: edgejobs:<owner id>:job:<job id>. The owner id in the topic lets the RLS policy authorise a join without reading the jobs table.';

create function edgejobs.broadcast_job_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not (select s.broadcast_changes from edgejobs.settings s) then
    return null;
  end if;
  perform realtime.send(
    jsonb_build_object(
      'id', new.id, 'type', new.type, 'status', new.status, 'progress', new.progress,
      'attempts', new.attempts, 'cancel_requested', new.cancel_requested_at is not null,
      'updated_at', new.updated_at),
    'job_changed',
    edgejobs.job_topic(new.owner_id, new.id),
    true);
  return null;
end
$$;
comment on function edgejobs.broadcast_job_change() is
  'Trigger: broadcasts {id, type, status, progress, attempts, cancel_requested, updated_at} as event job_changed on the job''s private topic.';

-- Row-level, and only for owned jobs whose status or progress changed: heartbeats and lease
-- bookkeeping send nothing; server-side (ownerless) bulk work pays nothing.
create trigger jobs_broadcast_change
after update of status, progress, cancel_requested_at on edgejobs.jobs
for each row
when (new.owner_id is not null and (
  old.status is distinct from new.status or old.progress is distinct from new.progress
  or old.cancel_requested_at is distinct from new.cancel_requested_at))
execute function edgejobs.broadcast_job_change();

-- A row is visible only on its own topic, and only a topic that carries the user's id.
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

-- The helpers above are called by triggers and definer functions, which run as the owner: no
-- role needs EXECUTE on them (a function starts executable by PUBLIC).
revoke all on all functions in schema edgejobs from public, anon, authenticated, service_role;
