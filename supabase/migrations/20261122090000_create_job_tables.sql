-- edgejobs: the queue's tables.
--
-- Everything lives in the `edgejobs` schema, which the Data API does not expose: the tables are
-- not a public interface (the functions in `public` are). RLS is enabled on every table with no
-- policies and the API roles get no table privileges, so the only way in is a function.

create schema if not exists edgejobs;
comment on schema edgejobs is
  'edgejobs internals: job queue tables and views. Not exposed through the Data API; call the public edgejobs functions (enqueue_job, claim_jobs, ...) instead.';
revoke all on schema edgejobs from public;

-- ---------------------------------------------------------------------------------------------
-- settings: one row of knobs the SQL API reads.
create table edgejobs.settings (
  id boolean primary key default true,
  max_input_bytes integer not null default 1048576,
  default_keep_for interval not null default interval '7 days',
  broadcast_changes boolean not null default true,
  constraint settings_singleton check (id),
  constraint settings_max_input_bytes_range check (max_input_bytes between 1 and 104857600),
  constraint settings_default_keep_for_positive check (default_keep_for > interval '0')
);
insert into edgejobs.settings default values;
alter table edgejobs.settings enable row level security;

comment on table edgejobs.settings is 'edgejobs configuration: a single row read by the enqueue functions.';
comment on column edgejobs.settings.id is 'Always true: the table holds exactly one row.';
comment on column edgejobs.settings.max_input_bytes is 'Largest accepted job input, in bytes of its JSON text (default 1 MiB). Bigger inputs are refused at enqueue with SQLSTATE EJ002.';
comment on column edgejobs.settings.broadcast_changes is
  'Send Realtime broadcasts when an owned job changes status or progress (default true). Jobs without an owner (enqueued by the server) never broadcast: no end user could join their topic.';
comment on column edgejobs.settings.default_keep_for is 'How long a finished job (its row, result and idempotency key) is kept when the enqueue did not say (default 7 days).';

-- ---------------------------------------------------------------------------------------------
-- queues: per-queue configuration. A job may name a queue that has no row here; such a queue is
-- unlimited and running.
create table edgejobs.queues (
  name text primary key,
  concurrency_limit integer,
  paused boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint queues_name_format check (length(name) between 1 and 64 and name !~ '[^A-Za-z0-9_.:-]'),
  constraint queues_concurrency_limit_positive check (concurrency_limit is null or concurrency_limit > 0)
);
alter table edgejobs.queues enable row level security;

comment on table edgejobs.queues is 'Per-queue settings: concurrency limit and pause. Queues without a row are unlimited and running. Change with pause_queue, resume_queue, set_queue_concurrency.';
comment on column edgejobs.queues.name is 'Queue name, as given to enqueue (1-64 characters: letters, digits, _ . : -).';
comment on column edgejobs.queues.concurrency_limit is 'At most this many jobs of the queue are processing at once, across all workers; null means unlimited.';
comment on column edgejobs.queues.paused is 'When true, workers claim no job from this queue; enqueues are still accepted.';
comment on column edgejobs.queues.created_at is 'When the queue row was created.';
comment on column edgejobs.queues.updated_at is 'When the queue settings last changed.';

-- ---------------------------------------------------------------------------------------------
-- jobs: one row per accepted job, from enqueue until it is purged.
--
-- States, and every function that moves a job between them (all in the worker and client
-- function migrations; the next status after a failure is computed once per row, in
-- edgejobs.status_after_failure):
--   queued      -> processing  claim_jobs (a worker takes a lease; attempts + 1)
--   queued      -> cancelled   cancel_job
--   processing  -> completed   complete_jobs (the lease token must match)
--   processing  -> queued      fail_jobs (retry after the backoff, or at the handler's retry_at);
--                              hand_back_jobs (deadline or stop; the attempt is not counted);
--                              edgejobs.reap_leases, run by claim_jobs and reap_expired_leases
--                              (the lease expired: the worker died or stalled)
--   processing  -> failed      fail_jobs (permanent, or attempts used up); edgejobs.reap_leases
--                              (lease expired on the last attempt)
--   processing  -> cancelled   fail_jobs, hand_back_jobs or edgejobs.reap_leases once cancel_job
--                              has set cancel_requested_at
--   failed      -> queued      retry_failed_jobs (redrive)
-- completed, failed and cancelled are terminal (failed is the dead-letter state); purge_jobs
-- deletes terminal jobs past expires_at.
create table edgejobs.jobs (
  id uuid primary key default gen_random_uuid(),
  type text not null,
  queue text not null default 'default',
  status text not null default 'queued',
  input jsonb not null default '{}'::jsonb,
  priority integer not null default 0,
  run_at timestamptz not null default now(),
  attempts integer not null default 0,
  max_attempts integer not null default 3,
  backoff_base_seconds double precision not null default 1,
  backoff_max_seconds double precision not null default 3600,
  lease_token uuid,
  locked_by text,
  locked_until timestamptz,
  progress jsonb,
  checkpoint jsonb,
  result jsonb,
  error jsonb,
  errors jsonb not null default '[]'::jsonb,
  idempotency_key text,
  owner_id uuid,
  cancel_requested_at timestamptz,
  keep_for interval not null default interval '7 days',
  expires_at timestamptz,
  -- Milliseconds: list_jobs pages with (created_at, id), and a microsecond created_at truncated by
  -- a JavaScript Date would skip the jobs enqueued in the same millisecond.
  created_at timestamptz not null default date_trunc('milliseconds', now()),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  constraint jobs_status_valid check (status in ('queued', 'processing', 'completed', 'failed', 'cancelled')),
  -- A length test plus a search for a character outside the class: the same rule as
  -- '^[...]{1,128}$', which Postgres' regex engine expands into a large automaton (~14 us a row,
  -- paid on every insert and update of a job).
  constraint jobs_type_format check (length(type) between 1 and 128 and type !~ '[^A-Za-z0-9_.:/-]'),
  constraint jobs_queue_format check (length(queue) between 1 and 64 and queue !~ '[^A-Za-z0-9_.:-]'),
  constraint jobs_priority_range check (priority between -1000000 and 1000000),
  constraint jobs_attempts_range check (attempts >= 0 and attempts <= max_attempts),
  constraint jobs_max_attempts_range check (max_attempts between 1 and 1000),
  constraint jobs_backoff_valid check (backoff_base_seconds > 0 and backoff_max_seconds >= backoff_base_seconds),
  constraint jobs_lease_iff_processing check ((status = 'processing') = (lease_token is not null and locked_until is not null)),
  constraint jobs_finished_iff_terminal check ((status in ('completed', 'failed', 'cancelled')) = (finished_at is not null)),
  constraint jobs_idempotency_key_length check (idempotency_key is null or length(idempotency_key) between 1 and 255),
  constraint jobs_keep_for_positive check (keep_for > interval '0'),
  constraint jobs_errors_is_array check (jsonb_typeof(errors) = 'array')
);
alter table edgejobs.jobs enable row level security;

-- A queue table churns: vacuum it early so dead tuples do not pile up under the claim index.
alter table edgejobs.jobs set (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);

-- The claim predicate, exactly: claim_jobs walks this index in claim order and stops after the
-- batch, so a claim costs the batch, not the queue depth.
create index jobs_claim_idx on edgejobs.jobs (priority desc, run_at, id) where status = 'queued';
-- Lease reaping and per-queue running counts only look at processing rows (few: workers x batch).
create index jobs_lease_idx on edgejobs.jobs (locked_until) where status = 'processing';
-- One live job per (type, owner, key); NULLS NOT DISTINCT so anonymous/server jobs dedupe too.
create unique index jobs_idempotency_key_idx on edgejobs.jobs (type, idempotency_key, owner_id)
  nulls not distinct where idempotency_key is not null;
-- list_jobs for a signed-in user, newest first.
create index jobs_owner_idx on edgejobs.jobs (owner_id, created_at desc, id desc) where owner_id is not null;
-- purge_jobs of expired finished jobs.
create index jobs_expires_idx on edgejobs.jobs (expires_at) where expires_at is not null;
-- The dead-letter list (failed_jobs view, retry_failed_jobs).
create index jobs_failed_idx on edgejobs.jobs (finished_at desc) where status = 'failed';

comment on table edgejobs.jobs is 'Every accepted job, from enqueue until purged. States: queued -> processing -> completed | failed | cancelled; processing -> queued on retry, lease expiry or deadline hand-back. Change rows only through the edgejobs functions.';
comment on column edgejobs.jobs.id is 'Job id (uuid v4), returned by enqueue and used by every other call.';
comment on column edgejobs.jobs.type is 'Job type: which handler runs it (1-128 characters: letters, digits, _ . : / -).';
comment on column edgejobs.jobs.queue is 'Queue the job belongs to (default ''default''); queues can be paused or limited in edgejobs.queues.';
comment on column edgejobs.jobs.status is 'queued, processing, completed, failed (dead letter) or cancelled.';
comment on column edgejobs.jobs.input is 'The job input (JSON), validated against the job type''s schema before it was stored.';
comment on column edgejobs.jobs.priority is 'Higher runs first (default 0); among equal priorities the earliest run_at first.';
comment on column edgejobs.jobs.run_at is 'Not claimed before this time: the scheduled time, or the time of the next retry.';
comment on column edgejobs.jobs.attempts is 'Runs started so far, counting the current one; a hand-back (deadline, stop, or a job that never started) does not count.';
comment on column edgejobs.jobs.max_attempts is 'Most runs the job gets, counting the first (default 3); after the last failure it is failed.';
comment on column edgejobs.jobs.backoff_base_seconds is 'Retry delay before the second attempt; it doubles each attempt (with +-25% jitter) up to backoff_max_seconds.';
comment on column edgejobs.jobs.backoff_max_seconds is 'Cap on the retry delay, in seconds (default 3600).';
comment on column edgejobs.jobs.lease_token is 'Fencing token of the current lease: fresh on every claim; every worker write must present it.';
comment on column edgejobs.jobs.locked_by is 'Worker id holding the lease, while processing.';
comment on column edgejobs.jobs.locked_until is 'Lease expiry, while processing; after it the job is reaped back to the queue.';
comment on column edgejobs.jobs.progress is 'Latest progress the handler reported (any JSON, e.g. {"percent": 40}).';
comment on column edgejobs.jobs.checkpoint is 'Latest checkpoint the handler saved; handed to the next attempt so work resumes where it stopped.';
comment on column edgejobs.jobs.result is 'Handler result, once completed.';
comment on column edgejobs.jobs.error is 'Last error (message, code, attempt, at), if any attempt failed.';
comment on column edgejobs.jobs.errors is 'Every failed attempt''s error, oldest first.';
comment on column edgejobs.jobs.idempotency_key is 'Client-chosen key: the same key for the same type and owner returns this job instead of creating another, until expires_at.';
comment on column edgejobs.jobs.owner_id is 'auth.uid() of the user who enqueued the job; null for jobs enqueued by the server (service role).';
comment on column edgejobs.jobs.cancel_requested_at is 'When cancellation of a processing job was requested; the worker aborts the handler and ends the job cancelled.';
comment on column edgejobs.jobs.keep_for is 'How long the job is kept after it finishes (result and idempotency key included).';
comment on column edgejobs.jobs.expires_at is 'finished_at + keep_for: after it, purge_jobs deletes the row and the idempotency key may be reused.';
comment on column edgejobs.jobs.created_at is 'When the job was enqueued.';
comment on column edgejobs.jobs.updated_at is 'When the row last changed.';
comment on column edgejobs.jobs.started_at is 'When the current (or last) attempt started.';
comment on column edgejobs.jobs.finished_at is 'When the job reached completed, failed or cancelled.';

-- ---------------------------------------------------------------------------------------------
-- worker_runs: one row per drain (an Edge Function invocation, a cron call, a worker loop).
create table edgejobs.worker_runs (
  id uuid primary key default gen_random_uuid(),
  worker_id text not null,
  trigger text not null,
  status text not null default 'running',
  started_at timestamptz not null default now(),
  deadline_at timestamptz,
  finished_at timestamptz,
  claimed integer not null default 0,
  completed integer not null default 0,
  failed integer not null default 0,
  retried integer not null default 0,
  cancelled integer not null default 0,
  handed_back integer not null default 0,
  lease_lost integer not null default 0,
  stop_reason text,
  error jsonb,
  constraint worker_runs_status_valid check (status in ('running', 'succeeded', 'failed')),
  constraint worker_runs_worker_id_length check (length(worker_id) between 1 and 200),
  constraint worker_runs_trigger_length check (length(trigger) between 1 and 64),
  constraint worker_runs_finished_iff_done check ((status = 'running') = (finished_at is null)),
  constraint worker_runs_counts_nonnegative check (
    least(claimed, completed, failed, retried, cancelled, handed_back, lease_lost) >= 0)
);
alter table edgejobs.worker_runs enable row level security;
create index worker_runs_started_idx on edgejobs.worker_runs (started_at desc);

comment on table edgejobs.worker_runs is 'One row per drain that claimed a job or failed (drains that found nothing leave edgejobs.worker_liveness instead): who ran it, why (trigger), when, what it did, and how it ended. A row left running past its deadline means the worker was killed.';
comment on column edgejobs.worker_runs.id is 'Run id, returned by start_worker_run.';
comment on column edgejobs.worker_runs.worker_id is 'Id of the worker that ran the drain (unique per drain).';
comment on column edgejobs.worker_runs.trigger is 'What started the drain: cron, kick, continuation, fan-out, worker, manual, ...';
comment on column edgejobs.worker_runs.status is 'running, succeeded, or failed (the drain itself failed, not a job).';
comment on column edgejobs.worker_runs.started_at is 'When the drain started.';
comment on column edgejobs.worker_runs.deadline_at is 'The time the drain had to be done by.';
comment on column edgejobs.worker_runs.finished_at is 'When the drain finished; null while running (or if the worker was killed).';
comment on column edgejobs.worker_runs.claimed is 'Jobs claimed by the drain.';
comment on column edgejobs.worker_runs.completed is 'Jobs completed.';
comment on column edgejobs.worker_runs.failed is 'Jobs that failed for good (dead letter).';
comment on column edgejobs.worker_runs.retried is 'Jobs that failed and were scheduled for another attempt.';
comment on column edgejobs.worker_runs.cancelled is 'Jobs that ended cancelled.';
comment on column edgejobs.worker_runs.handed_back is 'Jobs handed back to the queue at the deadline (attempt not counted).';
comment on column edgejobs.worker_runs.lease_lost is 'Jobs whose lease the worker had lost: its writes for them were refused.';
comment on column edgejobs.worker_runs.stop_reason is 'Why the drain stopped: empty (nothing claimable), limited (jobs wait for a slot in a queue at its concurrency limit that other workers hold), deadline, aborted or error.';
comment on column edgejobs.worker_runs.error is 'The error that failed the drain, if any.';

-- Worker runs: a row for every drain that did something, liveness for the rest.
--
-- An Edge Function on a 5-second schedule, or a dev loop, drains an empty queue thousands of
-- times a day; a row each buried the runs operators read (367 of 383 after three minutes of
-- npm run dev). A drain still inserts its row when it starts (running drains are counted for
-- fan-out and the kick), but finish_worker_run deletes the row of a drain that claimed nothing
-- and did not fail, and records the look here instead.

create table edgejobs.worker_liveness (
  id boolean primary key default true,
  last_look_at timestamptz,
  last_worker_id text,
  last_trigger text,
  empty_looks bigint not null default 0,
  constraint worker_liveness_singleton check (id)
);
insert into edgejobs.worker_liveness default values;
alter table edgejobs.worker_liveness enable row level security;
revoke all on table edgejobs.worker_liveness from public, anon, authenticated, service_role;
comment on table edgejobs.worker_liveness is 'edgejobs: when a worker last looked for jobs and found none (such drains leave no worker_runs row). One row.';
comment on column edgejobs.worker_liveness.id is 'Always true: the table holds exactly one row.';
comment on column edgejobs.worker_liveness.last_look_at is 'When the last drain that claimed nothing finished.';
comment on column edgejobs.worker_liveness.last_worker_id is 'The worker id of that drain.';
comment on column edgejobs.worker_liveness.last_trigger is 'What started that drain (cron, kick, worker, dev, ...).';
comment on column edgejobs.worker_liveness.empty_looks is 'Drains that claimed nothing, counted instead of recorded in worker_runs.';

-- ---------------------------------------------------------------------------------------------
-- kicks: when a worker was last started on an enqueue (see the scheduling migration).
create table edgejobs.kicks (
  id boolean primary key default true,
  last_kick_at timestamptz not null default '-infinity',
  kicks bigint not null default 0,
  min_interval interval not null default interval '1 second',
  constraint kicks_singleton check (id),
  constraint kicks_min_interval_positive check (min_interval > interval '0')
);
insert into edgejobs.kicks default values;
alter table edgejobs.kicks enable row level security;
comment on table edgejobs.kicks is 'edgejobs: when a worker was last kicked. One row: every instance and every enqueue path shares it, so there is at most one kick per min_interval.';
comment on column edgejobs.kicks.id is 'Always true: the table holds exactly one row.';
comment on column edgejobs.kicks.last_kick_at is 'When the last kick was claimed.';
comment on column edgejobs.kicks.kicks is 'Kicks claimed so far.';
comment on column edgejobs.kicks.min_interval is 'Least time between two kicks (default 1 s).';

create index worker_runs_running_idx on edgejobs.worker_runs (deadline_at) where status = 'running';

-- ---------------------------------------------------------------------------------------------
-- job_types, job_type_workers: the registry. The app and every worker write their defineJob()
-- types here when they start (register_job_types); enqueue applies each type's defaults and who
-- may enqueue it, and health tells jobs no live worker runs (get_queue_health's unhandled).
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
  constraint job_types_type_format check (length(type) between 1 and 128 and type !~ '[^A-Za-z0-9_.:/-]'),
  constraint job_types_queue_format check (queue is null or (length(queue) between 1 and 64 and queue !~ '[^A-Za-z0-9_.:-]')),
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
