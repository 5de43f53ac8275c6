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
  constraint settings_singleton check (id),
  constraint settings_max_input_bytes_range check (max_input_bytes between 1 and 104857600),
  constraint settings_default_keep_for_positive check (default_keep_for > interval '0')
);
insert into edgejobs.settings default values;
alter table edgejobs.settings enable row level security;

comment on table edgejobs.settings is 'edgejobs configuration: a single row read by the enqueue functions.';
comment on column edgejobs.settings.id is 'Always true: the table holds exactly one row.';
comment on column edgejobs.settings.max_input_bytes is 'Largest accepted job input, in bytes of its JSON text (default 1 MiB). Bigger inputs are refused at enqueue with SQLSTATE EJ002.';
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
  constraint queues_name_format check (name ~ '^[A-Za-z0-9_.:-]{1,64}$'),
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
-- States (who moves a job):
--   queued      -> processing  claim_jobs (a worker takes a lease)
--   queued      -> cancelled   cancel_job
--   processing  -> completed   complete_jobs (lease token must match)
--   processing  -> queued      fail_jobs (retry with backoff), hand_back_jobs (deadline; attempt
--                              not counted), reap_expired_leases (worker lost)
--   processing  -> failed      fail_jobs (permanent or attempts used up), reap_expired_leases
--   processing  -> cancelled   fail_jobs / hand_back_jobs / reap_expired_leases after cancel_job
--   failed      -> queued      retry_failed_jobs (redrive)
-- completed, failed and cancelled are terminal (failed is the dead-letter state).
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
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  constraint jobs_status_valid check (status in ('queued', 'processing', 'completed', 'failed', 'cancelled')),
  constraint jobs_type_format check (type ~ '^[A-Za-z0-9_.:/-]{1,128}$'),
  constraint jobs_queue_format check (queue ~ '^[A-Za-z0-9_.:-]{1,64}$'),
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
comment on column edgejobs.jobs.attempts is 'Runs started so far, counting the current one; a deadline hand-back does not count.';
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

comment on table edgejobs.worker_runs is 'One row per drain: who ran it, why (trigger), when, what it did, and how it ended. A row left running past its deadline means the worker was killed.';
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
comment on column edgejobs.worker_runs.stop_reason is 'Why the drain stopped: empty, deadline, aborted or error.';
comment on column edgejobs.worker_runs.error is 'The error that failed the drain, if any.';
