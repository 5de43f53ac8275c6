-- edgejobs: the current schema, generated from the migrated database (npm run db:schema).
-- Do not edit: change a migration, then regenerate. tests/sql/schema.test.ts checks it.

create schema edgejobs;

create type public.job_details as (
  id uuid,
  type text,
  queue text,
  status text,
  priority integer,
  input jsonb,
  progress jsonb,
  result jsonb,
  error jsonb,
  attempts integer,
  max_attempts integer,
  run_at timestamp with time zone,
  created_at timestamp with time zone,
  updated_at timestamp with time zone,
  started_at timestamp with time zone,
  finished_at timestamp with time zone,
  cancel_requested_at timestamp with time zone,
  idempotency_key text,
  expires_at timestamp with time zone,
  parent_id uuid,
  children jsonb
);
comment on type public.job_details is 'edgejobs: a job as clients see it (no lease internals), with its parent and its children ([{id, type, status}], oldest first). Returned by get_job, list_jobs and cancel_job.';

create table edgejobs.alerts (
  key text not null,
  firing boolean default false not null,
  notified boolean default false not null,
  since timestamp with time zone default now() not null,
  last_notified_at timestamp with time zone,
  summary text default ''::text not null,
  details jsonb default '{}'::jsonb not null,
  updated_at timestamp with time zone default now() not null,
  constraint alerts_key_length CHECK (((length(key) >= 1) AND (length(key) <= 300))),
  constraint alerts_pkey PRIMARY KEY (key)
);
alter table edgejobs.alerts enable row level security;
-- privileges: owner only
comment on table edgejobs.alerts is 'edgejobs: each alert condition''s state (health, a type''s or a schedule''s failure streak), kept by record_alerts. No API role may read or write it directly.';
comment on column edgejobs.alerts.key is 'The condition: health, type:<type>, schedule:<name>.';
comment on column edgejobs.alerts.firing is 'Whether the condition holds now (as last evaluated).';
comment on column edgejobs.alerts.notified is 'Whether an alert.firing was sent for the current firing (then its recovery sends alert.resolved).';
comment on column edgejobs.alerts.since is 'When the condition last started or stopped holding.';
comment on column edgejobs.alerts.last_notified_at is 'When an alert.firing was last sent: at most one per min_interval.';
comment on column edgejobs.alerts.summary is 'What the evaluation said, in words.';
comment on column edgejobs.alerts.details is 'The evaluation''s figures (JSON).';
comment on column edgejobs.alerts.updated_at is 'When the row last changed.';

create table edgejobs.job_type_workers (
  type text not null,
  worker_name text not null,
  first_seen_at timestamp with time zone default now() not null,
  last_seen_at timestamp with time zone default now() not null,
  constraint job_type_workers_pkey PRIMARY KEY (type, worker_name),
  constraint job_type_workers_type_fkey FOREIGN KEY (type) REFERENCES edgejobs.job_types(type) ON DELETE CASCADE,
  constraint job_type_workers_worker_name_length CHECK (((length(worker_name) >= 1) AND (length(worker_name) <= 200)))
);
alter table edgejobs.job_type_workers enable row level security;
-- privileges: owner only
comment on table edgejobs.job_type_workers is 'edgejobs registry: which workers run each job type, and when each was last seen (at registration and at every drain start). get_queue_health counts ready jobs whose type no worker seen lately handles as unhandled.';
comment on column edgejobs.job_type_workers.type is 'The job type.';
comment on column edgejobs.job_type_workers.worker_name is 'The stable name of a worker deployment (e.g. process-jobs, worker@host), not one drain''s id.';
comment on column edgejobs.job_type_workers.first_seen_at is 'When this worker first registered the type.';
comment on column edgejobs.job_type_workers.last_seen_at is 'When this worker last started a drain (or registered), to within a few seconds.';

create table edgejobs.job_types (
  type text not null,
  queue text,
  priority integer,
  max_attempts integer,
  backoff_base_seconds double precision,
  backoff_max_seconds double precision,
  keep_for interval,
  users_may_enqueue boolean default true not null,
  anonymous_may_enqueue boolean default false not null,
  input_schema jsonb,
  registered_at timestamp with time zone default now() not null,
  updated_at timestamp with time zone default now() not null,
  keep_completed integer,
  keep_failed integer,
  backoff_factor double precision,
  webhook_url text,
  constraint job_types_anonymous_needs_users CHECK ((users_may_enqueue OR (NOT anonymous_may_enqueue))),
  constraint job_types_backoff_factor_range CHECK (((backoff_factor IS NULL) OR ((backoff_factor >= (1)::double precision) AND (backoff_factor <= (100)::double precision)))),
  constraint job_types_backoff_valid CHECK ((((backoff_base_seconds IS NULL) OR ((backoff_base_seconds >= (0.001)::double precision) AND (backoff_base_seconds <= (86400)::double precision))) AND ((backoff_max_seconds IS NULL) OR ((backoff_max_seconds >= (0.001)::double precision) AND (backoff_max_seconds <= (2592000)::double precision))) AND (COALESCE(backoff_max_seconds, (3600)::double precision) >= COALESCE(backoff_base_seconds, (1)::double precision)))),
  constraint job_types_input_schema_object CHECK (((input_schema IS NULL) OR (jsonb_typeof(input_schema) = 'object'::text))),
  constraint job_types_keep_counts_range CHECK ((((keep_completed IS NULL) OR ((keep_completed >= 0) AND (keep_completed <= 1000000))) AND ((keep_failed IS NULL) OR ((keep_failed >= 0) AND (keep_failed <= 1000000))))),
  constraint job_types_keep_for_positive CHECK (((keep_for IS NULL) OR (keep_for > '00:00:00'::interval))),
  constraint job_types_max_attempts_range CHECK (((max_attempts IS NULL) OR ((max_attempts >= 1) AND (max_attempts <= 1000)))),
  constraint job_types_pkey PRIMARY KEY (type),
  constraint job_types_priority_range CHECK (((priority IS NULL) OR ((priority >= '-1000000'::integer) AND (priority <= 1000000)))),
  constraint job_types_queue_format CHECK (((queue IS NULL) OR (((length(queue) >= 1) AND (length(queue) <= 64)) AND (queue !~ '[^A-Za-z0-9_.:-]'::text)))),
  constraint job_types_type_format CHECK ((((length(type) >= 1) AND (length(type) <= 128)) AND (type !~ '[^A-Za-z0-9_.:/-]'::text))),
  constraint job_types_webhook_url_format CHECK (((webhook_url IS NULL) OR ((length(webhook_url) <= 2048) AND (webhook_url ~ '^https?://'::text))))
);
alter table edgejobs.job_types enable row level security;
-- privileges: owner only
comment on table edgejobs.job_types is 'edgejobs registry: the job types the app and its workers define (defineJob), written by register_job_types() when they start. Once it holds a row, enqueue refuses unknown types and applies each type''s defaults and access rules. A type removed from code stays until deleted here.';
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
comment on column edgejobs.job_types.keep_completed is 'Keep at most this many completed jobs of the type (the latest); purge_jobs deletes older ones. Null: by time only.';
comment on column edgejobs.job_types.keep_failed is 'Keep at most this many failed jobs of the type (the latest); purge_jobs deletes older ones. Null: by time only.';
comment on column edgejobs.job_types.backoff_factor is 'Each retry waits this many times longer than the one before (1-100; null: 2), up to the job''s backoff_max_seconds.';
comment on column edgejobs.job_types.webhook_url is 'Default webhook URL for the type''s jobs (defineJob webhook, set by set_type_policies); null: none.';

create table edgejobs.jobs (
  id uuid default gen_random_uuid() not null,
  type text not null,
  queue text default 'default'::text not null,
  status text default 'queued'::text not null,
  input jsonb default '{}'::jsonb not null,
  priority integer default 0 not null,
  run_at timestamp with time zone default now() not null,
  attempts integer default 0 not null,
  max_attempts integer default 3 not null,
  backoff_base_seconds double precision default 1 not null,
  backoff_max_seconds double precision default 3600 not null,
  lease_token uuid,
  locked_by text,
  locked_until timestamp with time zone,
  progress jsonb,
  checkpoint jsonb,
  result jsonb,
  error jsonb,
  errors jsonb default '[]'::jsonb not null,
  idempotency_key text,
  owner_id uuid,
  cancel_requested_at timestamp with time zone,
  keep_for interval default '7 days'::interval not null,
  expires_at timestamp with time zone,
  created_at timestamp with time zone default date_trunc('milliseconds'::text, now()) not null,
  updated_at timestamp with time zone default now() not null,
  started_at timestamp with time zone,
  finished_at timestamp with time zone,
  schedule_name text,
  scheduled_for timestamp with time zone,
  singleton_key text,
  parent_id uuid,
  child_ids uuid[],
  webhook_url text,
  constraint jobs_attempts_range CHECK (((attempts >= 0) AND (attempts <= max_attempts))),
  constraint jobs_backoff_valid CHECK (((backoff_base_seconds > (0)::double precision) AND (backoff_max_seconds >= backoff_base_seconds))),
  constraint jobs_errors_is_array CHECK ((jsonb_typeof(errors) = 'array'::text)),
  constraint jobs_finished_iff_terminal CHECK (((status = ANY (ARRAY['completed'::text, 'failed'::text, 'cancelled'::text])) = (finished_at IS NOT NULL))),
  constraint jobs_idempotency_key_length CHECK (((idempotency_key IS NULL) OR ((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 255)))),
  constraint jobs_keep_for_positive CHECK ((keep_for > '00:00:00'::interval)),
  constraint jobs_lease_iff_processing CHECK (((status = 'processing'::text) = ((lease_token IS NOT NULL) AND (locked_until IS NOT NULL)))),
  constraint jobs_max_attempts_range CHECK (((max_attempts >= 1) AND (max_attempts <= 1000))),
  constraint jobs_pkey PRIMARY KEY (id),
  constraint jobs_priority_range CHECK (((priority >= '-1000000'::integer) AND (priority <= 1000000))),
  constraint jobs_queue_format CHECK ((((length(queue) >= 1) AND (length(queue) <= 64)) AND (queue !~ '[^A-Za-z0-9_.:-]'::text))),
  constraint jobs_singleton_key_length CHECK (((singleton_key IS NULL) OR ((length(singleton_key) >= 1) AND (length(singleton_key) <= 255)))),
  constraint jobs_status_valid CHECK ((status = ANY (ARRAY['queued'::text, 'processing'::text, 'completed'::text, 'failed'::text, 'cancelled'::text]))),
  constraint jobs_type_format CHECK ((((length(type) >= 1) AND (length(type) <= 128)) AND (type !~ '[^A-Za-z0-9_.:/-]'::text))),
  constraint jobs_webhook_url_format CHECK (((webhook_url IS NULL) OR ((length(webhook_url) <= 2048) AND (webhook_url ~ '^https?://'::text))))
) with (autovacuum_vacuum_scale_factor=0.02, autovacuum_analyze_scale_factor=0.05);
alter table edgejobs.jobs enable row level security;
-- privileges: owner only
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
comment on column edgejobs.jobs.schedule_name is 'The schedule that enqueued this job (null for other jobs).';
comment on column edgejobs.jobs.scheduled_for is 'The fire time this run is for (with schedule_name: unique; a manual trigger''s is the time of the trigger).';
comment on column edgejobs.jobs.singleton_key is 'While the job is queued or processing, no other job of its type and owner has this key (enqueue answers this one instead).';
comment on column edgejobs.jobs.parent_id is 'The job whose handler enqueued this one (ctx.enqueue), written with its completion. Not a foreign key: the parent may be purged before its children.';
comment on column edgejobs.jobs.child_ids is 'The jobs this one''s handler enqueued (ctx.enqueue), in the order it enqueued them; written with its completion. A purged child drops out of the details.';
comment on column edgejobs.jobs.webhook_url is 'Where to POST the job''s end (completed, failed, cancelled), signed; from the enqueue (server only) or the job type. Null: no webhook.';
create index jobs_claim_idx on edgejobs.jobs using btree (priority DESC, run_at, id) where (status = 'queued'::text);
create index jobs_created_idx on edgejobs.jobs using btree (created_at DESC, id DESC);
create index jobs_expires_idx on edgejobs.jobs using btree (expires_at) where (expires_at IS NOT NULL);
create index jobs_failed_idx on edgejobs.jobs using btree (finished_at DESC) where (status = 'failed'::text);
create UNIQUE index jobs_idempotency_key_idx on edgejobs.jobs using btree (type, idempotency_key, owner_id) NULLS NOT DISTINCT where (idempotency_key IS NOT NULL);
create index jobs_lease_idx on edgejobs.jobs using btree (locked_until) where (status = 'processing'::text);
create index jobs_owner_idx on edgejobs.jobs using btree (owner_id, created_at DESC, id DESC) where (owner_id IS NOT NULL);
create index jobs_parent_idx on edgejobs.jobs using btree (parent_id) where (parent_id IS NOT NULL);
create index jobs_schedule_finished_idx on edgejobs.jobs using btree (schedule_name, finished_at DESC) where ((schedule_name IS NOT NULL) AND (finished_at IS NOT NULL));
create UNIQUE index jobs_schedule_fire on edgejobs.jobs using btree (schedule_name, scheduled_for) where (schedule_name IS NOT NULL);
create index jobs_schedule_live on edgejobs.jobs using btree (schedule_name, status) where ((schedule_name IS NOT NULL) AND (status = ANY (ARRAY['queued'::text, 'processing'::text])));
create UNIQUE index jobs_singleton_live on edgejobs.jobs using btree (type, singleton_key, COALESCE(owner_id, '00000000-0000-0000-0000-000000000000'::uuid)) where ((singleton_key IS NOT NULL) AND (status = ANY (ARRAY['queued'::text, 'processing'::text])));
create index jobs_type_finished_idx on edgejobs.jobs using btree (type, finished_at DESC) where (finished_at IS NOT NULL);
CREATE TRIGGER jobs_broadcast_change AFTER UPDATE OF status, progress, cancel_requested_at ON edgejobs.jobs FOR EACH ROW WHEN (((new.owner_id IS NOT NULL) AND ((old.status IS DISTINCT FROM new.status) OR (old.progress IS DISTINCT FROM new.progress) OR (old.cancel_requested_at IS DISTINCT FROM new.cancel_requested_at)))) EXECUTE FUNCTION edgejobs.broadcast_job_change();
CREATE TRIGGER jobs_kick_worker AFTER INSERT ON edgejobs.jobs FOR EACH STATEMENT EXECUTE FUNCTION edgejobs.kick_after_insert();
CREATE TRIGGER jobs_webhook AFTER UPDATE OF status ON edgejobs.jobs FOR EACH ROW WHEN (((new.webhook_url IS NOT NULL) AND (new.finished_at IS NOT NULL) AND (old.finished_at IS NULL))) EXECUTE FUNCTION edgejobs.enqueue_webhook();

create table edgejobs.kicks (
  id boolean default true not null,
  last_kick_at timestamp with time zone default '-infinity'::timestamp with time zone not null,
  kicks bigint default 0 not null,
  min_interval interval default '00:00:01'::interval not null,
  constraint kicks_min_interval_positive CHECK ((min_interval > '00:00:00'::interval)),
  constraint kicks_pkey PRIMARY KEY (id),
  constraint kicks_singleton CHECK (id)
);
alter table edgejobs.kicks enable row level security;
-- privileges: owner only
comment on table edgejobs.kicks is 'edgejobs: when a worker was last kicked. One row: every instance and every enqueue path shares it, so there is at most one kick per min_interval.';
comment on column edgejobs.kicks.id is 'Always true: the table holds exactly one row.';
comment on column edgejobs.kicks.last_kick_at is 'When the last kick was claimed.';
comment on column edgejobs.kicks.kicks is 'Kicks claimed so far.';
comment on column edgejobs.kicks.min_interval is 'Least time between two kicks (default 1 s).';

create table edgejobs.operator_actions (
  id bigint not null,
  at timestamp with time zone default now() not null,
  actor text not null,
  action text not null,
  filter jsonb not null,
  affected integer not null,
  constraint operator_actions_pkey PRIMARY KEY (id)
);
alter table edgejobs.operator_actions enable row level security;
-- privileges: owner only
comment on table edgejobs.operator_actions is 'edgejobs: what operators did (bulk_jobs, operator_action), when, by whom and to how many jobs or things. No API role may read or write it directly (list_operator_actions).';
comment on column edgejobs.operator_actions.id is 'Action id, in the order they were made.';
comment on column edgejobs.operator_actions.at is 'When (the transaction''s time).';
comment on column edgejobs.operator_actions.actor is 'Who: the operator''s user id or name as the server passed it, else the caller''s auth.uid(), else service_role.';
comment on column edgejobs.operator_actions.action is 'What: cancel, redrive or delete (bulk_jobs, also for one job), or pause_queue, resume_queue, set_queue_concurrency, pause_schedule, resume_schedule, trigger_schedule (operator_action).';
comment on column edgejobs.operator_actions.filter is 'What it applied to: bulk_jobs'' filter as given (status, type, queue, owner_id, ids, created_/finished_ after/before), or {queue} / {schedule} with the value set.';
comment on column edgejobs.operator_actions.affected is 'How many jobs this call changed (one batch).';
create index operator_actions_at on edgejobs.operator_actions using btree (at DESC);

create table edgejobs.queues (
  name text not null,
  concurrency_limit integer,
  paused boolean default false not null,
  created_at timestamp with time zone default now() not null,
  updated_at timestamp with time zone default now() not null,
  constraint queues_concurrency_limit_positive CHECK (((concurrency_limit IS NULL) OR (concurrency_limit > 0))),
  constraint queues_name_format CHECK ((((length(name) >= 1) AND (length(name) <= 64)) AND (name !~ '[^A-Za-z0-9_.:-]'::text))),
  constraint queues_pkey PRIMARY KEY (name)
);
alter table edgejobs.queues enable row level security;
-- privileges: owner only
comment on table edgejobs.queues is 'Per-queue settings: concurrency limit and pause. Queues without a row are unlimited and running. Change with pause_queue, resume_queue, set_queue_concurrency.';
comment on column edgejobs.queues.name is 'Queue name, as given to enqueue (1-64 characters: letters, digits, _ . : -).';
comment on column edgejobs.queues.concurrency_limit is 'At most this many jobs of the queue are processing at once, across all workers; null means unlimited.';
comment on column edgejobs.queues.paused is 'When true, workers claim no job from this queue; enqueues are still accepted.';
comment on column edgejobs.queues.created_at is 'When the queue row was created.';
comment on column edgejobs.queues.updated_at is 'When the queue settings last changed.';

create table edgejobs.schedules (
  name text not null,
  cron text not null,
  timezone text default 'UTC'::text not null,
  job_type text not null,
  input jsonb default '{}'::jsonb not null,
  options jsonb default '{}'::jsonb not null,
  overlap text default 'skip'::text not null,
  catch_up text default 'latest'::text not null,
  catch_up_limit integer default 10 not null,
  run_on_create boolean default false not null,
  paused boolean default false not null,
  from_code boolean default false not null,
  retired_at timestamp with time zone,
  next_fire_at timestamp with time zone,
  last_fire_at timestamp with time zone,
  last_job_id uuid,
  fired bigint default 0 not null,
  skipped bigint default 0 not null,
  created_at timestamp with time zone default now() not null,
  updated_at timestamp with time zone default now() not null,
  constraint schedules_catch_up_limit_range CHECK (((catch_up_limit >= 1) AND (catch_up_limit <= 1000))),
  constraint schedules_catch_up_valid CHECK ((catch_up = ANY (ARRAY['latest'::text, 'none'::text, 'all'::text]))),
  constraint schedules_cron_format CHECK (((length(cron) <= 200) AND (cron ~ '^\S+( \S+){4,5}$'::text))),
  constraint schedules_job_type_format CHECK ((((length(job_type) >= 1) AND (length(job_type) <= 128)) AND (job_type !~ '[^A-Za-z0-9_.:/-]'::text))),
  constraint schedules_name_format CHECK ((((length(name) >= 1) AND (length(name) <= 128)) AND (name !~ '[^A-Za-z0-9_.:/-]'::text))),
  constraint schedules_options_object CHECK ((jsonb_typeof(options) = 'object'::text)),
  constraint schedules_overlap_valid CHECK ((overlap = ANY (ARRAY['skip'::text, 'queue'::text, 'allow'::text]))),
  constraint schedules_pkey PRIMARY KEY (name),
  constraint schedules_timezone_length CHECK (((length(timezone) >= 1) AND (length(timezone) <= 64)))
);
alter table edgejobs.schedules enable row level security;
-- privileges: owner only
comment on table edgejobs.schedules is 'Recurring schedules (cron expression in a time zone → a job of job_type with input). Written by register_schedules (code) and upsert_schedule (SQL); fired by every drain through fire_schedule, exactly once per fire time.';
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
create index schedules_due on edgejobs.schedules using btree (next_fire_at) where ((NOT paused) AND (retired_at IS NULL));

create table edgejobs.settings (
  id boolean default true not null,
  max_input_bytes integer default 1048576 not null,
  default_keep_for interval default '7 days'::interval not null,
  broadcast_changes boolean default true not null,
  alert_checked_at timestamp with time zone default '-infinity'::timestamp with time zone not null,
  constraint settings_default_keep_for_positive CHECK ((default_keep_for > '00:00:00'::interval)),
  constraint settings_max_input_bytes_range CHECK (((max_input_bytes >= 1) AND (max_input_bytes <= 104857600))),
  constraint settings_pkey PRIMARY KEY (id),
  constraint settings_singleton CHECK (id)
);
alter table edgejobs.settings enable row level security;
-- privileges: owner only
comment on table edgejobs.settings is 'edgejobs configuration: a single row read by the enqueue functions.';
comment on column edgejobs.settings.id is 'Always true: the table holds exactly one row.';
comment on column edgejobs.settings.max_input_bytes is 'Largest accepted job input, in bytes of its JSON text (default 1 MiB). Bigger inputs are refused at enqueue with SQLSTATE EJ002.';
comment on column edgejobs.settings.default_keep_for is 'How long a finished job (its row, result and idempotency key) is kept when the enqueue did not say (default 7 days).';
comment on column edgejobs.settings.broadcast_changes is 'Send Realtime broadcasts when an owned job changes status or progress (default true). Jobs without an owner (enqueued by the server) never broadcast: no end user could join their topic.';
comment on column edgejobs.settings.alert_checked_at is 'When a worker last evaluated the alert conditions (claim_alert_check).';

create table edgejobs.worker_liveness (
  id boolean default true not null,
  last_look_at timestamp with time zone,
  last_worker_id text,
  last_trigger text,
  empty_looks bigint default 0 not null,
  constraint worker_liveness_pkey PRIMARY KEY (id),
  constraint worker_liveness_singleton CHECK (id)
);
alter table edgejobs.worker_liveness enable row level security;
-- privileges: owner only
comment on table edgejobs.worker_liveness is 'edgejobs: when a worker last looked for jobs and found none (such drains leave no worker_runs row). One row.';
comment on column edgejobs.worker_liveness.id is 'Always true: the table holds exactly one row.';
comment on column edgejobs.worker_liveness.last_look_at is 'When the last drain that claimed nothing finished.';
comment on column edgejobs.worker_liveness.last_worker_id is 'The worker id of that drain.';
comment on column edgejobs.worker_liveness.last_trigger is 'What started that drain (cron, kick, worker, dev, ...).';
comment on column edgejobs.worker_liveness.empty_looks is 'Drains that claimed nothing, counted instead of recorded in worker_runs.';

create table edgejobs.worker_runs (
  id uuid default gen_random_uuid() not null,
  worker_id text not null,
  trigger text not null,
  status text default 'running'::text not null,
  started_at timestamp with time zone default now() not null,
  deadline_at timestamp with time zone,
  finished_at timestamp with time zone,
  claimed integer default 0 not null,
  completed integer default 0 not null,
  failed integer default 0 not null,
  retried integer default 0 not null,
  cancelled integer default 0 not null,
  handed_back integer default 0 not null,
  lease_lost integer default 0 not null,
  stop_reason text,
  error jsonb,
  constraint worker_runs_counts_nonnegative CHECK ((LEAST(claimed, completed, failed, retried, cancelled, handed_back, lease_lost) >= 0)),
  constraint worker_runs_finished_iff_done CHECK (((status = 'running'::text) = (finished_at IS NULL))),
  constraint worker_runs_pkey PRIMARY KEY (id),
  constraint worker_runs_status_valid CHECK ((status = ANY (ARRAY['running'::text, 'succeeded'::text, 'failed'::text]))),
  constraint worker_runs_trigger_length CHECK (((length(trigger) >= 1) AND (length(trigger) <= 64))),
  constraint worker_runs_worker_id_length CHECK (((length(worker_id) >= 1) AND (length(worker_id) <= 200)))
);
alter table edgejobs.worker_runs enable row level security;
-- privileges: owner only
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
create index worker_runs_running_idx on edgejobs.worker_runs using btree (deadline_at) where (status = 'running'::text);
create index worker_runs_started_idx on edgejobs.worker_runs using btree (started_at DESC);

create view edgejobs.failed_jobs with (security_invoker=true) as
 SELECT id,
    type,
    queue,
    attempts,
    max_attempts,
    error,
    errors,
    input,
    created_at,
    finished_at,
    owner_id
   FROM edgejobs.jobs j
  WHERE (status = 'failed'::text)
  ORDER BY finished_at DESC;
-- privileges: owner only
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

create view edgejobs.queue_stats with (security_invoker=true) as
 SELECT queue,
    type,
    count(*) FILTER (WHERE ((status = 'queued'::text) AND (run_at <= now()))) AS ready,
    count(*) FILTER (WHERE ((status = 'queued'::text) AND (run_at > now()))) AS scheduled,
    count(*) FILTER (WHERE (status = 'processing'::text)) AS processing,
    count(*) FILTER (WHERE (status = 'completed'::text)) AS completed,
    count(*) FILTER (WHERE (status = 'failed'::text)) AS failed,
    count(*) FILTER (WHERE (status = 'cancelled'::text)) AS cancelled,
    min(run_at) FILTER (WHERE ((status = 'queued'::text) AND (run_at <= now()))) AS oldest_ready_at
   FROM edgejobs.jobs j
  GROUP BY queue, type;
-- privileges: owner only
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

create view edgejobs.recent_worker_runs with (security_invoker=true) as
 SELECT id,
    worker_id,
    trigger,
        CASE
            WHEN ((status = 'running'::text) AND (deadline_at < (now() - '00:01:00'::interval))) THEN 'lost'::text
            ELSE status
        END AS status,
    started_at,
    finished_at,
    (finished_at - started_at) AS duration,
    claimed,
    completed,
    failed,
    retried,
    cancelled,
    handed_back,
    lease_lost,
    stop_reason,
    error
   FROM edgejobs.worker_runs r
  ORDER BY started_at DESC
 LIMIT 200;
-- privileges: owner only
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

create view edgejobs.schedule_status with (security_invoker=true) as
 SELECT s.name,
    s.cron,
    s.timezone,
    s.job_type,
        CASE
            WHEN (s.retired_at IS NOT NULL) THEN 'retired'::text
            WHEN s.paused THEN 'paused'::text
            ELSE 'active'::text
        END AS state,
    s.next_fire_at,
    s.last_fire_at,
    s.overlap,
    s.catch_up,
    s.fired,
    s.skipped,
    j.id AS last_job_id,
    j.status AS last_job_status,
    j.finished_at AS last_job_finished_at,
    (j.error ->> 'message'::text) AS last_job_error
   FROM (edgejobs.schedules s
     LEFT JOIN edgejobs.jobs j ON ((j.id = s.last_job_id)));
-- privileges: owner only
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

create view edgejobs.type_stats with (security_invoker=true) as
 SELECT type,
    schedule_name,
    runs,
    completed,
    failed,
    cancelled,
    consecutive_failures,
    last_success_at,
    last_failure_at,
    duration_p50_ms,
    duration_p95_ms,
    duration_avg_ms,
    runs_per_minute
   FROM get_type_stats('24:00:00'::interval) get_type_stats(type, schedule_name, runs, completed, failed, cancelled, consecutive_failures, last_success_at, last_failure_at, duration_p50_ms, duration_p95_ms, duration_avg_ms, runs_per_minute);
-- privileges: owner only
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

CREATE OR REPLACE FUNCTION edgejobs.broadcast_job_change()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: owner only
comment on function edgejobs.broadcast_job_change() is 'Trigger: broadcasts {id, type, status, progress, attempts, cancel_requested, updated_at} as event job_changed on the job''s private topic.';

CREATE OR REPLACE FUNCTION edgejobs.bulk_filter_valid(p_filter jsonb)
 RETURNS void
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: owner only
comment on function edgejobs.bulk_filter_valid(jsonb) is 'Validates a bulk_jobs filter (EJ001 naming what is wrong).';

CREATE OR REPLACE FUNCTION edgejobs.caller_is_service()
 RETURNS boolean
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  -- PostgREST switches to the JWT's role with SET ROLE (set_config('role', ...)); a direct
  -- connection (the dashboard, a worker on SUPABASE_DB_URL) has no such role set. Only the two
  -- end-user roles are restricted to their own jobs.
  select coalesce(nullif(current_setting('role', true), ''), 'none') not in ('anon', 'authenticated')
$function$;
-- privileges: owner only
comment on function edgejobs.caller_is_service() is 'True unless the caller acts as anon or authenticated: service_role and direct database connections see every job.';

CREATE OR REPLACE FUNCTION edgejobs.caller_owner_id()
 RETURNS uuid
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  v_uid uuid := auth.uid();
begin
  if edgejobs.caller_is_service() then
    return null;
  end if;
  if v_uid is null then
    raise exception 'edgejobs: a signed-in user is required (auth.uid() is null)'
      using errcode = '42501', hint = 'Call with a user''s JWT, or from the server with the service role.';
  end if;
  return v_uid;
end
$function$;
-- privileges: owner only
comment on function edgejobs.caller_owner_id() is 'The owner recorded on jobs the caller enqueues: auth.uid() for end users (who must be signed in), null for the service role.';

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
-- privileges: owner only
comment on function edgejobs.check_user_enqueue(jsonb) is 'The enqueue rules for end users (anon/authenticated): no server-only options (42501); with registered types, no unknown types (EJ006) or types not open to the caller (42501); with pg_jsonschema, inputs that match the type''s schema (EJ007).';

CREATE OR REPLACE FUNCTION edgejobs.complete_leased_jobs(p_jobs jsonb)
 RETURNS TABLE(ord bigint, id uuid, outcome text, owner_id uuid)
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: owner only
comment on function edgejobs.complete_leased_jobs(jsonb) is 'Completes [{id, lease_token, result?, progress?}] whose lease token still holds the job; answers per job (in order) completed or lease_lost, and the owner.';

CREATE OR REPLACE FUNCTION edgejobs.console_row(j edgejobs.jobs)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select jsonb_build_object('id', j.id, 'type', j.type, 'queue', j.queue, 'status', j.status, 'priority', j.priority,
    'attempts', j.attempts, 'max_attempts', j.max_attempts, 'run_at', j.run_at, 'created_at', j.created_at,
    'started_at', j.started_at, 'finished_at', j.finished_at, 'cancel_requested_at', j.cancel_requested_at,
    'owner_id', j.owner_id, 'idempotency_key', j.idempotency_key, 'parent_id', j.parent_id,
    'error', j.error ->> 'message')
$function$;
-- privileges: owner only
comment on function edgejobs.console_row(edgejobs.jobs) is 'A job as a row of the console''s list (no input, result or lease).';

CREATE OR REPLACE FUNCTION edgejobs.details(j edgejobs.jobs)
 RETURNS job_details
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select row(j.id, j.type, j.queue, j.status, j.priority, j.input, j.progress, j.result, j.error,
             j.attempts, j.max_attempts, j.run_at, j.created_at, j.updated_at, j.started_at,
             j.finished_at, j.cancel_requested_at, j.idempotency_key, j.expires_at, j.parent_id,
             coalesce((select jsonb_agg(jsonb_build_object('id', c.id, 'type', c.type, 'status', c.status) order by k.ord)
                       from unnest(j.child_ids) with ordinality as k(id, ord) join edgejobs.jobs c on c.id = k.id), '[]'::jsonb))::public.job_details
$function$;
-- privileges: owner only
comment on function edgejobs.details(edgejobs.jobs) is 'Projects a jobs row onto public.job_details (its children by child_ids, in the order they were enqueued).';

CREATE OR REPLACE FUNCTION edgejobs.enqueue_schedule_run(p_schedule edgejobs.schedules, p_fire_at timestamp with time zone, p_force boolean)
 RETURNS uuid
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: owner only
comment on function edgejobs.enqueue_schedule_run(edgejobs.schedules,timestamp with time zone,boolean) is 'Enqueues one run of a schedule for a fire time (its job carries schedule_name and scheduled_for), unless its overlap policy skips it (skip: a run queued or processing; queue: a run queued) and it is not forced. Returns the job id or null.';

CREATE OR REPLACE FUNCTION edgejobs.enqueue_webhook()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: owner only
comment on function edgejobs.enqueue_webhook() is 'Trigger: a job with a webhook_url that just ended enqueues its delivery (type edgejobs.webhook, queue edgejobs, parent_id the job; 12 attempts, 10 s doubling to an hour), in the same transaction.';

CREATE OR REPLACE FUNCTION edgejobs.fail_leased_jobs(p_items jsonb)
 RETURNS TABLE(id uuid, outcome text, run_at timestamp with time zone)
 LANGUAGE sql
 SET search_path TO ''
AS $function$
  with i as (
    select t.ord, (t.e ->> 'id')::uuid as id, (t.e ->> 'lease_token')::uuid as lease_token, t.e as item,
           coalesce((t.e ->> 'permanent')::boolean, false) as permanent,
           (t.e ->> 'retry_at')::timestamptz as retry_at,
           jsonb_build_object('message', 'unknown error')
             || case when jsonb_typeof(t.e -> 'error') = 'object' then t.e -> 'error'
                     when (t.e ->> 'error') is not null then jsonb_build_object('message', t.e ->> 'error')
                     else '{}'::jsonb end as error
    from jsonb_array_elements(p_items) with ordinality as t(e, ord)
  ),
  u as (
    update edgejobs.jobs j
    set (status, run_at, finished_at, expires_at) = (
          select n.status,
                 case when n.status = 'queued'
                      then coalesce(i.retry_at, now() + edgejobs.retry_delay(j.attempts, j.backoff_base_seconds, j.backoff_max_seconds,
                                                                           (select jt.backoff_factor from edgejobs.job_types jt where jt.type = j.type)))
                      else j.run_at end,
                 case when n.status = 'queued' then null else now() end,
                 case when n.status = 'queued' then null else now() + j.keep_for end
          from (select edgejobs.status_after_failure(j.cancel_requested_at, i.permanent, j.attempts, j.max_attempts) as status) n),
        error = i.error || jsonb_build_object('attempt', j.attempts, 'at', now()),
        errors = j.errors || jsonb_build_array(i.error || jsonb_build_object('attempt', j.attempts, 'at', now())),
        progress = case when i.item ? 'progress' then i.item -> 'progress' else j.progress end,
        lease_token = null, locked_by = null, locked_until = null,
        updated_at = now()
    from i
    where j.id = any (array(select i.id from i)) and j.id = i.id and j.lease_token = i.lease_token
    returning j.id, j.status, j.run_at
  )
  select i.id, case when u.id is null then 'lease_lost' when u.status = 'queued' then 'retrying' else u.status end,
         u.run_at
  from i left join u on u.id = i.id
  order by i.ord
$function$;
-- privileges: owner only
comment on function edgejobs.fail_leased_jobs(jsonb) is 'Core of fail_jobs and reap_expired_leases: records the error (and the latest progress, when given) and moves each job to queued (retry), failed or cancelled.';

CREATE OR REPLACE FUNCTION edgejobs.failure_streak(p_statuses text[])
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO ''
AS $function$
  select coalesce((select min(s.n) - 1 from unnest(p_statuses) with ordinality as s(status, n) where s.status = 'completed')::integer,
                  cardinality(p_statuses), 0)
$function$;
-- privileges: owner only
comment on function edgejobs.failure_streak(text[]) is 'Given the completed/failed statuses of the latest runs, newest first: how many failed before the latest completed one (all of them when none completed).';

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
-- privileges: owner only
comment on function edgejobs.insert_jobs(jsonb,uuid) is 'Core of enqueue_job(s): validates, applies an end user''s rules (check_user_enqueue), inserts with each type''s defaults (edgejobs.job_types) for the options left out, resolves idempotency keys (replay or EJ003), returns one row per spec in order.';

CREATE OR REPLACE FUNCTION edgejobs.is_json_int(v jsonb, lo bigint, hi bigint)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO ''
AS $function$
  select jsonb_typeof(v) = 'number' and v::text ~ '^-?[0-9]{1,18}$' and v::text::bigint between lo and hi
$function$;
-- privileges: owner only
comment on function edgejobs.is_json_int(jsonb,bigint,bigint) is 'True when the JSON value is an integer between lo and hi.';

CREATE OR REPLACE FUNCTION edgejobs.job_topic(owner_id uuid, job_id uuid)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO ''
AS $function$ select 'edgejobs:' || owner_id::text || ':job:' || job_id::text $function$;
-- privileges: owner only
comment on function edgejobs.job_topic(uuid,uuid) is 'The private Realtime topic of a job: edgejobs:<owner id>:job:<job id>. The owner id in the topic lets the RLS policy authorise a join without reading the jobs table.';

CREATE OR REPLACE FUNCTION edgejobs.kick_after_insert()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: owner only
comment on function edgejobs.kick_after_insert() is 'Trigger: after jobs are inserted (by any path: routes, SQL, schedules), wake listening workers (NOTIFY edgejobs_jobs) and kick the worker through pg_net unless one was kicked recently or is running.';

CREATE OR REPLACE FUNCTION edgejobs.kick_due()
 RETURNS boolean
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  -- Plain reads: no lock, no write. Most enqueues find a recent kick or a running drain here.
  select k.last_kick_at <= clock_timestamp() - k.min_interval
     and not exists (
       select 1 from edgejobs.worker_runs r
       where r.status = 'running' and r.deadline_at > clock_timestamp() + interval '2 seconds')  -- a live drain picks new jobs up by itself
  from edgejobs.kicks k
$function$;
-- privileges: owner only
comment on function edgejobs.kick_due() is 'True when a kick would be useful now: none within kicks.min_interval and no drain running. Reads only.';

CREATE OR REPLACE FUNCTION edgejobs.parse_leases(p_jobs jsonb)
 RETURNS TABLE(ord bigint, id uuid, lease_token uuid, item jsonb)
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO ''
AS $function$
declare
  v_bad bigint;
  v_e jsonb;
begin
  if p_jobs is null or jsonb_typeof(p_jobs) <> 'array' then
    raise exception 'edgejobs: jobs must be a JSON array of {id, lease_token, ...} objects' using errcode = 'EJ001';
  end if;
  select t.ord - 1 into v_bad
  from jsonb_array_elements(p_jobs) with ordinality as t(e, ord)
  where jsonb_typeof(t.e) <> 'object'
     or jsonb_typeof(t.e -> 'id') is distinct from 'string'
     or jsonb_typeof(t.e -> 'lease_token') is distinct from 'string'
  order by t.ord limit 1;
  if found then
    raise exception 'edgejobs: jobs[%] must be an object with uuid "id" and "lease_token"', v_bad using errcode = 'EJ001';
  end if;
  begin
    return query
    select t.ord, (t.e ->> 'id')::uuid, (t.e ->> 'lease_token')::uuid, t.e
    from jsonb_array_elements(p_jobs) with ordinality as t(e, ord);
  exception when invalid_text_representation then
    -- Rare path: find the element whose id or lease_token is not a uuid.
    for v_bad, v_e in
      select t.ord - 1, t.e from jsonb_array_elements(p_jobs) with ordinality as t(e, ord) order by t.ord
    loop
      begin
        perform (v_e ->> 'id')::uuid, (v_e ->> 'lease_token')::uuid;
      exception when invalid_text_representation then
        raise exception 'edgejobs: jobs[%] must be an object with uuid "id" and "lease_token"', v_bad using errcode = 'EJ001';
      end;
    end loop;
    raise;
  end;
end
$function$;
-- privileges: owner only
comment on function edgejobs.parse_leases(jsonb) is 'Validates a worker batch (array of objects with uuid id and lease_token), raising EJ001 with the bad index; returns the elements in order.';

CREATE OR REPLACE FUNCTION edgejobs.parse_schedules(p_schedules jsonb)
 RETURNS TABLE(ord integer, name text, cron text, timezone text, job_type text, input jsonb, options jsonb, overlap text, catch_up text, catch_up_limit integer, run_on_create boolean, enabled boolean)
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: owner only
comment on function edgejobs.parse_schedules(jsonb) is 'Validates schedule definitions (EJ001 naming the element and field; the run''s job checked as enqueue checks it) and returns them with defaults.';

CREATE OR REPLACE FUNCTION edgejobs.post_to_worker(trigger text, body jsonb DEFAULT '{}'::jsonb)
 RETURNS bigint
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: owner only
comment on function edgejobs.post_to_worker(text,jsonb) is 'Starts a drain: POSTs {trigger, ...body} to the worker URL from Vault through pg_net (after commit). Returns the pg_net request id, or null when pg_net or the secrets are missing.';

CREATE OR REPLACE FUNCTION edgejobs.purge_by_count(p_max integer)
 RETURNS integer
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  v_count integer := 0;
  v_rows integer;
  v_rule record;
begin
  for v_rule in
    select jt.type, s.status, s.keep
    from edgejobs.job_types jt
    cross join lateral (values ('completed', jt.keep_completed), ('failed', jt.keep_failed)) s(status, keep)
    where s.keep is not null
  loop
    exit when v_count >= p_max;
    delete from edgejobs.jobs j where j.id in (
      select k.id from edgejobs.jobs k
      where k.type = v_rule.type and k.finished_at is not null and k.status = v_rule.status
      order by k.finished_at desc
      offset v_rule.keep
      limit p_max - v_count
      for update skip locked);
    get diagnostics v_rows = row_count;
    v_count := v_count + v_rows;
  end loop;
  return v_count;
end
$function$;
-- privileges: owner only
comment on function edgejobs.purge_by_count(integer) is 'Deletes completed and failed jobs past each type''s keep_completed / keep_failed (the oldest first), at most p_max; returns how many.';

CREATE OR REPLACE FUNCTION edgejobs.reap_leases(p_max integer)
 RETURNS TABLE(id uuid, outcome text, run_at timestamp with time zone)
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  v_items jsonb;
begin
  -- jobs_lease_idx holds processing rows only (workers x batch): a probe that finds nothing
  -- expired reads a handful of index entries.
  -- retry_at = the job's own run_at: back in the queue at its old place in claim order, not
  -- behind every job that became ready while its worker was dead.
  select jsonb_agg(jsonb_build_object(
           'id', x.id, 'lease_token', x.lease_token, 'retry_at', x.run_at,
           'error', jsonb_build_object('message', 'lease expired: the worker ' || coalesce(x.locked_by, '?')
             || ' stopped renewing it (crashed, killed or timed out)', 'code', 'lease_expired')))
    into v_items
  from (
    select j.id, j.lease_token, j.locked_by, j.run_at from edgejobs.jobs j
    where j.status = 'processing' and j.locked_until < now()
    order by j.locked_until
    limit p_max
    for update skip locked
  ) x;
  if v_items is null then
    return;
  end if;
  return query select * from edgejobs.fail_leased_jobs(v_items);
end
$function$;
-- privileges: owner only
comment on function edgejobs.reap_leases(integer) is 'Moves up to p_max jobs whose lease expired back to queued (claimable at once, at their old place in claim order), or to failed when out of attempts, or cancelled when cancel was requested, recording a lease_expired error for the lost attempt. Used by claim_jobs and reap_expired_leases.';

CREATE OR REPLACE FUNCTION edgejobs.refuse(p_sqlstate text, p_message text)
 RETURNS text
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  raise exception using errcode = p_sqlstate, message = p_message;
end
$function$;
-- privileges: owner only
comment on function edgejobs.refuse(text,text) is 'Raises p_message with SQLSTATE p_sqlstate; for checks inside a statement (CASE ... THEN edgejobs.refuse(...)).';

CREATE OR REPLACE FUNCTION edgejobs.retry_delay(attempt integer, base_seconds double precision, max_seconds double precision, factor double precision)
 RETURNS interval
 LANGUAGE sql
 SET search_path TO ''
AS $function$
  -- delay = min(max, base * factor^(attempt-1)) * U(0.75, 1.25): exponential, capped, +-25% jitter
  -- so that jobs failing together do not retry together. See docs/guarantees.md, "Retries and backoff".
  select make_interval(secs => least(max_seconds, base_seconds * power(coalesce(factor, 2), greatest(attempt - 1, 0)))
                               * (0.75 + random() * 0.5))
$function$;
-- privileges: owner only
comment on function edgejobs.retry_delay(integer,double precision,double precision,double precision) is 'Retry delay after the given attempt failed: min(max, base * factor^(attempt-1)) with +-25% jitter (factor null: 2).';

CREATE OR REPLACE FUNCTION edgejobs.save_schedules(p_schedules jsonb, p_from_code boolean)
 RETURNS SETOF edgejobs.schedules
 LANGUAGE sql
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: owner only
comment on function edgejobs.save_schedules(jsonb,boolean) is 'Creates or updates schedules (validated by parse_schedules); a changed cron or time zone, or a retired schedule coming back, gets its next fire time computed again.';

CREATE OR REPLACE FUNCTION edgejobs.status_after_failure(cancel_requested_at timestamp with time zone, permanent boolean, attempts integer, max_attempts integer)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO ''
AS $function$
  -- cancelled if a cancel was requested, failed if permanent or out of attempts, else queued.
  select case when cancel_requested_at is not null then 'cancelled'
              when permanent or attempts >= max_attempts then 'failed'
              else 'queued' end
$function$;
-- privileges: owner only
comment on function edgejobs.status_after_failure(timestamp with time zone,boolean,integer,integer) is 'The state a failed attempt leads to: cancelled (cancel requested), failed (permanent or no attempts left) or queued (retry).';

CREATE OR REPLACE FUNCTION edgejobs.try_claim_kick()
 RETURNS boolean
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: owner only
comment on function edgejobs.try_claim_kick() is 'True for the one caller that may kick a worker now: none kicked within kicks.min_interval and no drain is running. Never waits on another caller.';

CREATE OR REPLACE FUNCTION edgejobs.upsert_queue(p_name text, p_paused boolean, p_set_limit boolean, p_limit integer)
 RETURNS TABLE(name text, concurrency_limit integer, paused boolean)
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: owner only
comment on function edgejobs.upsert_queue(text,boolean,boolean,integer) is 'Creates or updates a queue row (core of pause_queue, resume_queue, set_queue_concurrency).';

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
-- privileges: owner only
comment on function edgejobs.validate_job_specs(jsonb) is 'Checks an enqueue batch and raises EJ001 (bad field, naming the index and the field) or EJ002 (input too large).';

CREATE OR REPLACE FUNCTION edgejobs.worker_endpoint(OUT url text, OUT secret text)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
begin
  if to_regclass('vault.decrypted_secrets') is null then
    return;
  end if;
  select s.decrypted_secret into url from vault.decrypted_secrets s where s.name = 'edgejobs_worker_url';
  select s.decrypted_secret into secret from vault.decrypted_secrets s where s.name = 'edgejobs_worker_secret';
end
$function$;
-- privileges: owner only
comment on function edgejobs.worker_endpoint() is 'The worker''s URL and secret from Vault (secrets edgejobs_worker_url and edgejobs_worker_secret), or nulls.';

CREATE OR REPLACE FUNCTION public.bulk_jobs(action text, filter jsonb, dry_run boolean DEFAULT true, max_rows integer DEFAULT 1000, actor text DEFAULT NULL::text)
 RETURNS TABLE(matched bigint, affected integer, more boolean)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.bulk_jobs(text,jsonb,boolean,integer,text) is 'edgejobs operator: cancel, redrive or delete the jobs `filter` matches ({status, type, queue, owner_id, ids, created_after, created_before, finished_after, finished_before}; at least one). cancel: queued jobs end cancelled, processing ones are asked to stop; redrive: failed and cancelled jobs are queued again with fresh attempts (their errors kept); delete: queued and finished jobs (never processing ones). dry_run (the default) only counts (matched). Otherwise one batch of at most max_rows (1-10000, default 1000) in this transaction, recorded in edgejobs.operator_actions with actor; `more` says whether to call again. Jobs a worker is claiming at that moment are left for the next call.';

CREATE OR REPLACE FUNCTION public.cancel_job(job_id uuid)
 RETURNS job_details
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_job edgejobs.jobs;
begin
  select * into v_job from edgejobs.jobs j
  where j.id = cancel_job.job_id and (edgejobs.caller_is_service() or j.owner_id = auth.uid())
  for update;
  if not found then
    raise exception 'edgejobs: job % not found', cancel_job.job_id using errcode = 'EJ004';
  end if;
  if v_job.status in ('completed', 'failed', 'cancelled') then
    raise exception 'edgejobs: job % already finished (%)', cancel_job.job_id, v_job.status using errcode = 'EJ005';
  end if;
  if v_job.status = 'queued' then
    update edgejobs.jobs j set status = 'cancelled', cancel_requested_at = now(), finished_at = now(),
      expires_at = now() + j.keep_for, updated_at = now()
    where j.id = v_job.id returning * into v_job;
  else
    update edgejobs.jobs j set cancel_requested_at = coalesce(j.cancel_requested_at, now()), updated_at = now()
    where j.id = v_job.id returning * into v_job;
  end if;
  return edgejobs.details(v_job);
end
$function$;
-- privileges: authenticated=X/postgres service_role=X/postgres
comment on function public.cancel_job(uuid) is 'edgejobs: cancel a job. Queued: cancelled at once. Processing: cancel_requested_at is set and the worker aborts the handler, ending the job cancelled. Raises EJ004 if not found (or not yours), EJ005 if already finished.';

CREATE OR REPLACE FUNCTION public.claim_alert_check(every interval DEFAULT '00:00:30'::interval)
 RETURNS boolean
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
  update edgejobs.settings s set alert_checked_at = now()
  where s.alert_checked_at <= now() - greatest(claim_alert_check.every, interval '1 second')
  returning true
$function$;
-- privileges: service_role=X/postgres
comment on function public.claim_alert_check(interval) is 'edgejobs worker: true for the one caller that should evaluate the alert conditions now (at most once per `every`, across all workers); null otherwise.';

CREATE OR REPLACE FUNCTION public.claim_jobs(worker_id text, job_types text[], max_jobs integer DEFAULT 10, lease_seconds integer DEFAULT 30, queues text[] DEFAULT NULL::text[])
 RETURNS TABLE(id uuid, type text, queue text, input jsonb, priority integer, attempts integer, max_attempts integer, lease_token uuid, locked_until timestamp with time zone, progress jsonb, checkpoint jsonb, run_at timestamp with time zone, created_at timestamp with time zone, idempotency_key text, owner_id uuid, cancel_requested boolean)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
 SET enable_bitmapscan TO 'off'
 SET enable_seqscan TO 'off'
AS $function$
declare
  v_closed text[];           -- not claimed from in this claim: paused, or at their limit
  v_limited text[];          -- running queues with a concurrency limit
  v_locked text[] := '{}';   -- limited queues whose row this claim holds
  v_ids uuid[] := '{}';      -- taken so far, in claim order
  v_qs text[] := '{}';       -- their queues
  v_batch_ids uuid[];
  v_batch_qs text[];
  v_want integer;
  v_got text[];
  v_keep_ids uuid[];
  v_keep_qs text[];
  v_full text[];
  v_trimmed boolean;
  v_pass integer := 0;
begin
  if claim_jobs.worker_id is null or length(claim_jobs.worker_id) not between 1 and 200 then
    raise exception 'edgejobs: worker_id must be 1-200 characters' using errcode = 'EJ001';
  end if;
  if claim_jobs.job_types is null then
    raise exception 'edgejobs: job_types must list the job types this worker can run' using errcode = 'EJ001';
  end if;
  if claim_jobs.max_jobs is null or claim_jobs.max_jobs not between 1 and 1000 then
    raise exception 'edgejobs: max_jobs must be between 1 and 1000' using errcode = 'EJ001';
  end if;
  if claim_jobs.lease_seconds is null or claim_jobs.lease_seconds not between 1 and 600 then
    raise exception 'edgejobs: lease_seconds must be between 1 and 600' using errcode = 'EJ001';
  end if;

  perform 1 from edgejobs.reap_leases(1000);

  select coalesce(array_agg(q.name) filter (where q.paused), '{}'),
         coalesce(array_agg(q.name) filter (where not q.paused and q.concurrency_limit is not null), '{}')
    into v_closed, v_limited
  from edgejobs.queues q;

  if cardinality(v_limited) > 0 then
    -- Queues already at their limit are skipped (an unlocked count: the locked one below decides).
    v_closed := v_closed || coalesce((
      select array_agg(q.name) from edgejobs.queues q
      where q.name = any (v_limited)
        and q.concurrency_limit <= (select count(*) from edgejobs.jobs j where j.status = 'processing' and j.queue = q.name)), '{}');
  end if;

  loop
    v_pass := v_pass + 1;
    v_want := claim_jobs.max_jobs - cardinality(v_ids);
    -- Walks jobs_claim_idx in order and stops after v_want rows; rows another worker is claiming
    -- right now are skipped, not waited for.
    select array_agg(c.id order by c.priority desc, c.run_at, c.id),
           array_agg(c.queue order by c.priority desc, c.run_at, c.id)
      into v_batch_ids, v_batch_qs
    from (
      select j.id, j.queue, j.priority, j.run_at from edgejobs.jobs j
      where j.status = 'queued' and j.run_at <= now()
        and j.type = any (claim_jobs.job_types)
        and (claim_jobs.queues is null or j.queue = any (claim_jobs.queues))
        and j.queue <> all (v_closed)
        and j.id <> all (v_ids)
      order by j.priority desc, j.run_at, j.id
      limit v_want
      for update skip locked
    ) c;
    exit when v_batch_ids is null;

    if not (v_limited && v_batch_qs) then
      v_ids := v_ids || v_batch_ids;
      exit;
    end if;

    -- Lock the limited queues this batch touches, then count what runs: the lock is held until
    -- commit, and the next statement's fresh snapshot sees every claim committed before it, so
    -- two claimers can never both take the last slot.
    if v_pass = 1 then
      select coalesce(array_agg(l.name), '{}') into v_got from (
        select q.name from edgejobs.queues q
        where q.name = any (v_limited) and q.name = any (v_batch_qs)
        order by q.name
        for update
      ) l;
    else
      select coalesce(array_agg(l.name), '{}') into v_got from (
        select q.name from edgejobs.queues q
        where q.name = any (v_limited) and q.name = any (v_batch_qs) and q.name <> all (v_locked)
        order by q.name
        for update skip locked
      ) l;
    end if;
    v_locked := v_locked || v_got;

    -- Keep each limited queue's rows up to its free slots (minus what earlier passes took); a
    -- limited queue whose lock another claimer holds has no free slot for this claim.
    with b as (
      select u.id, u.queue, u.ord, row_number() over (partition by u.queue order by u.ord) as rn
      from unnest(v_batch_ids, v_batch_qs) with ordinality as u(id, queue, ord)
    ),
    s as (
      select q.name,
             case when q.name = any (v_locked) then
               q.concurrency_limit
               - (select count(*) from edgejobs.jobs j where j.status = 'processing' and j.queue = q.name)
               - (select count(*) from unnest(v_qs) t(queue) where t.queue = q.name)
             else 0 end as free
      from edgejobs.queues q
      where q.name = any (v_limited) and q.name = any (v_batch_qs)
    )
    select coalesce(array_agg(b.id order by b.ord) filter (where s.name is null or b.rn <= s.free), '{}'),
           coalesce(array_agg(b.queue order by b.ord) filter (where s.name is null or b.rn <= s.free), '{}'),
           coalesce(array_agg(distinct b.queue) filter (where s.name is not null and b.rn >= s.free), '{}'),
           coalesce(bool_or(s.name is not null and b.rn > s.free), false)
      into v_keep_ids, v_keep_qs, v_full, v_trimmed
    from b left join s on s.name = b.queue;

    v_ids := v_ids || v_keep_ids;
    v_qs := v_qs || v_keep_qs;
    v_closed := v_closed || v_full;
    -- Look again only when rows were dropped, the batch has room, and this pass found as many
    -- rows as it asked for (fewer means every candidate was seen).
    exit when not v_trimmed or cardinality(v_ids) >= claim_jobs.max_jobs
      or cardinality(v_batch_ids) < v_want or v_pass >= 16;
  end loop;

  if cardinality(v_ids) = 0 then
    return;
  end if;

  return query
  with u as (
    update edgejobs.jobs j
    set status = 'processing', attempts = j.attempts + 1, lease_token = gen_random_uuid(),
        locked_by = claim_jobs.worker_id,
        locked_until = now() + make_interval(secs => claim_jobs.lease_seconds),
        started_at = now(), updated_at = now()
    where j.id = any (v_ids)
    returning j.id, j.type, j.queue, j.input, j.priority, j.attempts, j.max_attempts, j.lease_token,
              j.locked_until, j.progress, j.checkpoint, j.run_at, j.created_at, j.idempotency_key,
              j.owner_id, j.cancel_requested_at is not null as cancel_requested
  )
  select * from u order by u.priority desc, u.run_at, u.id;
end
$function$;
-- privileges: service_role=X/postgres
comment on function public.claim_jobs(text,text[],integer,integer,text[]) is 'edgejobs worker: claim up to max_jobs (1-1000) ready jobs of the given types, highest priority first then earliest run_at. Jobs whose lease expired are taken back first (claimable at once). Paused queues are skipped; a queue with a concurrency limit gets at most its free slots and the batch is filled from other queues. Each job gets a fresh lease_token and a lease of lease_seconds (1-600, default 30); attempts is incremented. FOR UPDATE SKIP LOCKED: safe under any number of concurrent workers.';

CREATE OR REPLACE FUNCTION public.claim_worker_kick()
 RETURNS boolean
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$ select edgejobs.try_claim_kick() $function$;
-- privileges: service_role=X/postgres
comment on function public.claim_worker_kick() is 'edgejobs: true when the caller should kick a worker now (at most one kick per interval across all callers; none while a drain runs). Used by route handlers that kick through functions.invoke when the database cannot (no pg_net or Vault secrets).';

CREATE OR REPLACE FUNCTION public.complete_jobs(jobs jsonb)
 RETURNS TABLE(id uuid, outcome text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.complete_jobs(jsonb) is 'edgejobs worker: complete [{id, lease_token, result?, progress?, children?}]; the job''s error is cleared (earlier attempts stay in errors). children: jobs to enqueue with the completion (as enqueue_jobs takes them, at most 1000), owned by the job''s owner and recording it as parent_id; written only if the completion is. Answers per job: completed; lease_lost when the token no longer holds the job (nothing written); or, when the children are refused, the outcome of a failed run (retrying, failed, cancelled) with error code children_refused.';

CREATE OR REPLACE FUNCTION public.console_job(job_id uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.console_job(uuid) is 'edgejobs operator: everything about one job for the console (null: no such job): its row but the lease token, every attempt''s error, the lease holder, its parent, children (ctx.enqueue) and webhook deliveries.';

CREATE OR REPLACE FUNCTION public.console_jobs(filter jsonb DEFAULT '{}'::jsonb, before_created_at timestamp with time zone DEFAULT NULL::timestamp with time zone, before_id uuid DEFAULT NULL::uuid, max_rows integer DEFAULT 50)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.console_jobs(jsonb,timestamp with time zone,uuid,integer) is 'edgejobs operator: every owner''s jobs, newest first, for the console: filter {status, type, queue, owner_id, id, id_prefix (6-32 hex digits), idempotency_key, created_after, created_before} (strings). Answers {jobs, scanned, next}: each call walks at most 5,000 jobs down the created_at index (an owner''s down theirs) from the cursor (before_created_at, before_id), so a rare filter over a million jobs answers a short page and `next` to go on from; id and idempotency_key are looked up by index. max_rows 1-500 (default 50).';

CREATE OR REPLACE FUNCTION public.count_running_workers()
 RETURNS integer
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
  select count(*)::integer from edgejobs.worker_runs r
  where r.status = 'running' and (r.deadline_at is null or r.deadline_at > now())
$function$;
-- privileges: service_role=X/postgres
comment on function public.count_running_workers() is 'edgejobs worker: how many drains are running now (worker runs not finished and not past their deadline). Bounds fan-out and keeps cron ticks from piling drains up.';

CREATE OR REPLACE FUNCTION public.delete_schedule(name text)
 RETURNS boolean
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
  with gone as (delete from edgejobs.schedules s where s.name = delete_schedule.name returning 1)
  select exists (select from gone)
$function$;
-- privileges: service_role=X/postgres
comment on function public.delete_schedule(text) is 'edgejobs operator: delete a schedule (its runs stay, with their schedule_name). A schedule defined in code comes back at the app''s next registration: remove it from the code to stop it.';

CREATE OR REPLACE FUNCTION public.enqueue_job(type text, input jsonb DEFAULT '{}'::jsonb, queue text DEFAULT NULL::text, priority integer DEFAULT NULL::integer, run_at timestamp with time zone DEFAULT NULL::timestamp with time zone, delay_seconds double precision DEFAULT NULL::double precision, max_attempts integer DEFAULT NULL::integer, backoff_base_seconds double precision DEFAULT NULL::double precision, backoff_max_seconds double precision DEFAULT NULL::double precision, idempotency_key text DEFAULT NULL::text, keep_for_seconds integer DEFAULT NULL::integer, singleton_key text DEFAULT NULL::text)
 RETURNS TABLE(id uuid, type text, queue text, status text, priority integer, run_at timestamp with time zone, created_at timestamp with time zone, idempotency_key text, replayed boolean)
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
  select * from edgejobs.insert_jobs(
    jsonb_build_array(
      jsonb_strip_nulls(jsonb_build_object(
        'type', enqueue_job.type, 'queue', enqueue_job.queue, 'priority', enqueue_job.priority,
        'run_at', enqueue_job.run_at, 'delay_seconds', enqueue_job.delay_seconds,
        'max_attempts', enqueue_job.max_attempts, 'backoff_base_seconds', enqueue_job.backoff_base_seconds,
        'backoff_max_seconds', enqueue_job.backoff_max_seconds, 'idempotency_key', enqueue_job.idempotency_key,
        'keep_for_seconds', enqueue_job.keep_for_seconds, 'singleton_key', enqueue_job.singleton_key))
      || jsonb_build_object('input', coalesce(enqueue_job.input, '{}'::jsonb))),
    edgejobs.caller_owner_id())
$function$;
-- privileges: authenticated=X/postgres service_role=X/postgres
comment on function public.enqueue_job(text,jsonb,text,integer,timestamp with time zone,double precision,integer,double precision,double precision,text,integer,text) is 'edgejobs: enqueue one job (see enqueue_jobs for every option, default and rule: queue, priority, attempts, backoff and keep-for are the service role''s to set). Returns the job id, status and whether an idempotency key replayed an existing job or a singleton key answered the live one. Callable from SQL, e.g. select * from enqueue_job(''send_email'', ''{"to": "a@b.c"}'').';

CREATE OR REPLACE FUNCTION public.enqueue_jobs(jobs jsonb)
 RETURNS TABLE(id uuid, type text, queue text, status text, priority integer, run_at timestamp with time zone, created_at timestamp with time zone, idempotency_key text, replayed boolean)
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
  select * from edgejobs.insert_jobs(enqueue_jobs.jobs, edgejobs.caller_owner_id())
$function$;
-- privileges: authenticated=X/postgres service_role=X/postgres
comment on function public.enqueue_jobs(jsonb) is 'edgejobs: enqueue many jobs in one call. `jobs` is a JSON array of objects with `type` (required), `input`, `run_at` or `delay_seconds`, `idempotency_key`, `singleton_key`, and, for the service role only, `queue`, `priority` (higher first), `max_attempts` (counting the first run), `backoff_base_seconds`, `backoff_max_seconds`, `keep_for_seconds`; options left out come from the type''s row in edgejobs.job_types, else ''default'', 0, 3, 1, 3600, 7 days. Returns one row per job, in order; `replayed` is true when an idempotency key matched an existing job, or a singleton key a job of the type and owner that is queued or processing (nothing new stored). All or nothing: any refused element (EJ001 malformed, EJ002 too large, EJ003 key reused, EJ006 unknown type, EJ007 input breaks the type''s schema, 42501 option or type not open to the caller) stores nothing. The owner is auth.uid() (null for the service role).';

CREATE OR REPLACE FUNCTION public.fail_jobs(jobs jsonb)
 RETURNS TABLE(id uuid, outcome text, run_at timestamp with time zone)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_bad record;
begin
  perform edgejobs.parse_leases(fail_jobs.jobs);
  select t.ord - 1 as idx, 'retry_at must be an ISO 8601 timestamp' as problem into v_bad
  from jsonb_array_elements(fail_jobs.jobs) with ordinality as t(e, ord)
  where (t.e ->> 'retry_at') is not null
    and not (t.e ->> 'retry_at' ~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$')
  union all
  select t.ord - 1, 'permanent must be a boolean'
  from jsonb_array_elements(fail_jobs.jobs) with ordinality as t(e, ord)
  where (t.e ->> 'permanent') is not null and jsonb_typeof(t.e -> 'permanent') <> 'boolean'
  order by 1 limit 1;
  if found then
    raise exception 'edgejobs: jobs[%] %', v_bad.idx, v_bad.problem using errcode = 'EJ001';
  end if;
  return query select * from edgejobs.fail_leased_jobs(fail_jobs.jobs);
exception when invalid_datetime_format or datetime_field_overflow then
  raise exception 'edgejobs: a retry_at is not a valid timestamp (%)', sqlerrm using errcode = 'EJ001';
end
$function$;
-- privileges: service_role=X/postgres
comment on function public.fail_jobs(jsonb) is 'edgejobs worker: record failed attempts for [{id, lease_token, error: {message, code?, ...}, permanent?, retry_at?, progress?}]. A job is retried (outcome retrying; at retry_at or after exponential backoff with jitter) unless permanent or out of attempts (failed, the dead-letter state) or cancel was requested (cancelled). Every attempt''s error is kept in errors; progress, when given, is the handler''s latest. lease_lost when the token no longer holds the job.';

CREATE OR REPLACE FUNCTION public.finish_worker_run(run_id uuid, summary jsonb DEFAULT '{}'::jsonb, error jsonb DEFAULT NULL::jsonb)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_count integer;
  v_bad text;
  v_run edgejobs.worker_runs;
begin
  if finish_worker_run.summary is null or jsonb_typeof(finish_worker_run.summary) <> 'object' then
    raise exception 'edgejobs: summary must be a JSON object' using errcode = 'EJ001';
  end if;
  select k into v_bad from unnest(array['claimed', 'completed', 'failed', 'retried', 'cancelled', 'handed_back', 'lease_lost']) k
  where (finish_worker_run.summary ->> k) is not null and not edgejobs.is_json_int(finish_worker_run.summary -> k, 0, 2147483647)
  limit 1;
  if found then
    raise exception 'edgejobs: summary.% must be a non-negative integer', v_bad using errcode = 'EJ001';
  end if;
  if finish_worker_run.error is null
     and coalesce((finish_worker_run.summary ->> 'claimed')::integer, 0) = 0
     and coalesce((finish_worker_run.summary ->> 'lease_lost')::integer, 0) = 0 then
    delete from edgejobs.worker_runs r
    where r.id = finish_worker_run.run_id and r.status = 'running'
    returning * into v_run;
    if v_run.id is null then
      raise exception 'edgejobs: worker run % not found or already finished', finish_worker_run.run_id using errcode = 'EJ004';
    end if;
    update edgejobs.worker_liveness l
    set last_look_at = now(), last_worker_id = v_run.worker_id, last_trigger = v_run.trigger,
        empty_looks = l.empty_looks + 1
    where l.id;
    return;
  end if;
  update edgejobs.worker_runs r
  set status = case when finish_worker_run.error is null then 'succeeded' else 'failed' end,
      finished_at = now(),
      claimed = coalesce((finish_worker_run.summary ->> 'claimed')::integer, 0),
      completed = coalesce((finish_worker_run.summary ->> 'completed')::integer, 0),
      failed = coalesce((finish_worker_run.summary ->> 'failed')::integer, 0),
      retried = coalesce((finish_worker_run.summary ->> 'retried')::integer, 0),
      cancelled = coalesce((finish_worker_run.summary ->> 'cancelled')::integer, 0),
      handed_back = coalesce((finish_worker_run.summary ->> 'handed_back')::integer, 0),
      lease_lost = coalesce((finish_worker_run.summary ->> 'lease_lost')::integer, 0),
      stop_reason = left(finish_worker_run.summary ->> 'stop_reason', 64),
      error = finish_worker_run.error
  where r.id = finish_worker_run.run_id and r.status = 'running';
  get diagnostics v_count = row_count;
  if v_count = 0 then
    raise exception 'edgejobs: worker run % not found or already finished', finish_worker_run.run_id using errcode = 'EJ004';
  end if;
end
$function$;
-- privileges: service_role=X/postgres
comment on function public.finish_worker_run(uuid,jsonb,jsonb) is 'edgejobs worker: record the end of a drain with its summary {claimed, completed, failed, retried, cancelled, handed_back, lease_lost, stop_reason}; a non-null error marks the run failed. A drain that claimed nothing and did not fail leaves no row: its run is deleted and counted in edgejobs.worker_liveness.';

CREATE OR REPLACE FUNCTION public.fire_schedule(name text, expected_next_fire_at timestamp with time zone, fire_times timestamp with time zone[], next_fire_at timestamp with time zone)
 RETURNS TABLE(fire_at timestamp with time zone, job_id uuid)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.fire_schedule(text,timestamp with time zone,timestamp with time zone[],timestamp with time zone) is 'edgejobs worker: fires a due schedule: when its next_fire_at is still expected_next_fire_at (compare-and-set), sets it to next_fire_at and enqueues a run for each of fire_times by the overlap policy (job_id null: skipped). Answers nothing when another drain fired it first. Each fire time is a key: a second run for it cannot be stored.';

CREATE OR REPLACE FUNCTION public.get_due_schedules(as_of timestamp with time zone DEFAULT now(), max_rows integer DEFAULT 100)
 RETURNS TABLE(name text, cron text, timezone text, catch_up text, catch_up_limit integer, next_fire_at timestamp with time zone, last_fire_at timestamp with time zone, created_at timestamp with time zone)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
  select s.name, s.cron, s.timezone, s.catch_up, s.catch_up_limit, s.next_fire_at, s.last_fire_at, s.created_at
  from edgejobs.schedules s
  where not s.paused and s.retired_at is null
    and (s.next_fire_at is null or s.next_fire_at <= get_due_schedules.as_of)
  order by s.next_fire_at nulls first
  limit least(greatest(coalesce(get_due_schedules.max_rows, 100), 1), 1000)
$function$;
-- privileges: service_role=X/postgres
comment on function public.get_due_schedules(timestamp with time zone,integer) is 'edgejobs worker: schedules due at as_of (default now), and those whose next fire time is not computed yet (next_fire_at null). Cheap: an index on next_fire_at. Each drain calls it as it starts and every few seconds.';

CREATE OR REPLACE FUNCTION public.get_job(job_id uuid)
 RETURNS SETOF job_details
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
  select d.* from edgejobs.jobs j cross join lateral edgejobs.details(j) d
  where j.id = get_job.job_id and (edgejobs.caller_is_service() or j.owner_id = auth.uid())
$function$;
-- privileges: authenticated=X/postgres service_role=X/postgres
comment on function public.get_job(uuid) is 'edgejobs: one job (no row if it does not exist or belongs to someone else; existence is not revealed). End users see only their own jobs.';

CREATE OR REPLACE FUNCTION public.get_queue_health(worker_seen_within interval DEFAULT '00:10:00'::interval)
 RETURNS TABLE(ready bigint, scheduled bigint, processing bigint, oldest_ready_age_seconds double precision, last_run_started_at timestamp with time zone, last_run_finished_at timestamp with time zone, last_run_status text, last_success_at timestamp with time zone, consecutive_failed_runs integer, last_seen_at timestamp with time zone, unhandled bigint, unhandled_types text[])
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.get_queue_health(interval) is 'edgejobs operator: queue depth (ready, scheduled, processing), age in seconds of the oldest ready job, the last recorded worker run and its status, the last success (a run that succeeded, or a drain that found nothing), how many runs in a row have failed or been lost since, and when a worker was last seen. Ready jobs whose type no worker seen within worker_seen_within (default 10 minutes) runs are counted as unhandled (with their types), not as ready: no worker will take them until one that runs their type starts.';

CREATE OR REPLACE FUNCTION public.get_queue_stats(finished_within interval DEFAULT '01:00:00'::interval)
 RETURNS TABLE(queue text, type text, ready bigint, scheduled bigint, processing bigint, completed bigint, failed bigint, cancelled bigint, oldest_ready_at timestamp with time zone)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  if finished_within is null or finished_within < interval '0' or finished_within > interval '31 days' then
    raise exception 'edgejobs: finished_within must be between 0 and 31 days' using errcode = 'EJ001';
  end if;
  return query
  with recursive types(type) as (
    -- Each type that has finished jobs, by a loose scan of jobs_type_finished_idx (one probe per type).
    (select j.type from edgejobs.jobs j where j.finished_at is not null order by j.type limit 1)
    union all
    select (select j.type from edgejobs.jobs j where j.finished_at is not null and j.type > t.type order by j.type limit 1)
    from types t where t.type is not null
  ),
  live as (
    select j.queue, j.type,
           count(*) filter (where j.status = 'queued' and j.run_at <= now()) as ready,
           count(*) filter (where j.status = 'queued' and j.run_at > now()) as scheduled,
           count(*) filter (where j.status = 'processing') as processing,
           min(j.run_at) filter (where j.status = 'queued' and j.run_at <= now()) as oldest_ready_at
    from edgejobs.jobs j
    where j.status = 'queued' or j.status = 'processing'
    group by j.queue, j.type
  ),
  finished as (
    -- Aggregated inside the lateral, per type: the planner then walks each type's index range
    -- rather than joining the types to a scan of every finished job.
    select t.type, f.queue, f.completed, f.failed, f.cancelled
    from types t
    cross join lateral (
      select j.queue,
             count(*) filter (where j.status = 'completed') as completed,
             count(*) filter (where j.status = 'failed') as failed,
             count(*) filter (where j.status = 'cancelled') as cancelled
      from edgejobs.jobs j
      where j.type = t.type and j.finished_at is not null and j.finished_at >= now() - get_queue_stats.finished_within
      group by j.queue
    ) f
    where t.type is not null
  )
  select coalesce(l.queue, f.queue), coalesce(l.type, f.type),
         coalesce(l.ready, 0), coalesce(l.scheduled, 0), coalesce(l.processing, 0),
         coalesce(f.completed, 0), coalesce(f.failed, 0), coalesce(f.cancelled, 0), l.oldest_ready_at
  from live l
  full join finished f on f.queue = l.queue and f.type = l.type
  order by 1, 2;
end
$function$;
-- privileges: service_role=X/postgres
comment on function public.get_queue_stats(interval) is 'edgejobs operator: per queue and type, the live jobs (ready, scheduled, processing, the oldest ready job''s run_at) and the jobs that finished within `finished_within` (default 1 hour; up to 31 days): completed, failed, cancelled. Index-driven: the partial indexes on queued and processing jobs, and each type''s range of jobs_type_finished_idx; no scan of the retained jobs (the edgejobs.queue_stats view counts those).';

CREATE OR REPLACE FUNCTION public.get_throughput(since interval DEFAULT '01:00:00'::interval, bucket_seconds integer DEFAULT 60)
 RETURNS TABLE(bucket_start timestamp with time zone, completed bigint, failed bigint, cancelled bigint)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.get_throughput(interval,integer) is 'edgejobs operator: jobs that ended per bucket (default each minute of the last hour; at most a day, 1,440 buckets): completed, failed, cancelled. Index-driven like get_queue_stats: each type''s range of jobs_type_finished_idx.';

CREATE OR REPLACE FUNCTION public.get_type_stats(since interval DEFAULT '24:00:00'::interval)
 RETURNS TABLE(type text, schedule_name text, runs bigint, completed bigint, failed bigint, cancelled bigint, consecutive_failures integer, last_success_at timestamp with time zone, last_failure_at timestamp with time zone, duration_p50_ms double precision, duration_p95_ms double precision, duration_avg_ms double precision, runs_per_minute double precision)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
    -- The history: of the latest 100 runs that ended, those that completed or failed, newest
    -- first. (Cancelled ones are skipped after the limit: before it, a type whose jobs are mostly
    -- cancelled made the walk read all of them.)
    select array_agg(r.status order by r.finished_at desc) filter (where r.status <> 'cancelled') as statuses,
           max(r.finished_at) filter (where r.status = 'completed') as last_success_at,
           max(r.finished_at) filter (where r.status = 'failed') as last_failure_at
    from (
      (select j.status, j.finished_at from edgejobs.jobs j
       where x.schedule_name is null and j.type = x.type and j.finished_at is not null
       order by j.finished_at desc limit 100)
      union all
      (select j.status, j.finished_at from edgejobs.jobs j
       where x.schedule_name is not null and j.schedule_name = x.schedule_name and j.finished_at is not null
       order by j.finished_at desc limit 100)
    ) r
  ) h
  order by x.type, x.schedule_name nulls first
$function$;
-- privileges: service_role=X/postgres
comment on function public.get_type_stats(interval) is 'edgejobs operator: per job type, and per schedule (schedule_name set), over the window `since` (default 24 hours): runs that ended (completed, failed, cancelled), the durations of their last attempt (p50, p95, average, in ms) and runs per minute; and over the latest 100 runs that ended (cancelled ones skipped): consecutive_failures (failed runs since the latest completed one), last success and failure. Index-driven: a loose scan for the types, then each type''s and schedule''s latest runs.';

CREATE OR REPLACE FUNCTION public.get_waiting_limited_queues(job_types text[], queues text[] DEFAULT NULL::text[])
 RETURNS text[]
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
  -- Read after a claim came back short: ready jobs in a limited queue mean "wait for a slot", not
  -- "the queue is empty". Not only full queues: the claim may have found the queue full just
  -- before one of this drain's own completions committed, and that is exactly the slot to refill.
  -- (Ready jobs of a queue that is not full and that the claim skipped were locked by another
  -- claimer; waiting for a slot costs this drain one more look.) Runs only after short claims,
  -- and reads nothing of the jobs table when no queue has a limit.
  select coalesce(array_agg(q.name order by q.name), '{}')
  from edgejobs.queues q
  where not q.paused and q.concurrency_limit is not null
    and (get_waiting_limited_queues.queues is null or q.name = any (get_waiting_limited_queues.queues))
    and exists (
      select 1 from edgejobs.jobs j
      where j.status = 'queued' and j.run_at <= now() and j.queue = q.name
        and j.type = any (get_waiting_limited_queues.job_types))
$function$;
-- privileges: service_role=X/postgres
comment on function public.get_waiting_limited_queues(text[],text[]) is 'edgejobs worker: the queues with a concurrency limit that hold ready jobs of these types (optionally only these queues). After a claim that came back short, a non-empty answer means jobs wait for a free slot: the drain claims again when one of its own jobs in such a queue ends, and polls for slots others free.';

CREATE OR REPLACE FUNCTION public.hand_back_jobs(jobs jsonb)
 RETURNS TABLE(id uuid, outcome text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  return query
  with i as (select * from edgejobs.parse_leases(hand_back_jobs.jobs)),
  u as (
    update edgejobs.jobs j
    set status = case when j.cancel_requested_at is null then 'queued' else 'cancelled' end,
        attempts = j.attempts - 1,
        run_at = case when j.cancel_requested_at is null then now() else j.run_at end,
        checkpoint = case when i.item ? 'checkpoint' then i.item -> 'checkpoint' else j.checkpoint end,
        progress = case when i.item ? 'progress' then i.item -> 'progress' else j.progress end,
        lease_token = null, locked_by = null, locked_until = null,
        finished_at = case when j.cancel_requested_at is null then null else now() end,
        expires_at = case when j.cancel_requested_at is null then null else now() + j.keep_for end,
        updated_at = now()
    from i
    where j.id = any (array(select i.id from i)) and j.id = i.id and j.lease_token = i.lease_token
    returning j.id, j.status
  )
  select i.id, case when u.id is null then 'lease_lost' else u.status end
  from i left join u on u.id = i.id
  order by i.ord;
end
$function$;
-- privileges: service_role=X/postgres
comment on function public.hand_back_jobs(jsonb) is 'edgejobs worker: return unfinished jobs to the queue ([{id, lease_token, checkpoint?, progress?}]): at a deadline or a stop, or jobs claimed but never started. The attempt is not counted and the checkpoint is kept, so the next run resumes. Outcome queued, cancelled (if cancel was requested) or lease_lost.';

CREATE OR REPLACE FUNCTION public.heartbeat_jobs(jobs jsonb, lease_seconds integer DEFAULT 30)
 RETURNS TABLE(id uuid, outcome text, locked_until timestamp with time zone, cancel_requested boolean)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  if heartbeat_jobs.lease_seconds is null or heartbeat_jobs.lease_seconds not between 1 and 600 then
    raise exception 'edgejobs: lease_seconds must be between 1 and 600' using errcode = 'EJ001';
  end if;
  return query
  with i as (select * from edgejobs.parse_leases(heartbeat_jobs.jobs)),
  u as (
    update edgejobs.jobs j
    set locked_until = now() + make_interval(secs => heartbeat_jobs.lease_seconds), updated_at = now()
    from i
    where j.id = any (array(select i.id from i)) and j.id = i.id and j.lease_token = i.lease_token
    returning j.id, j.locked_until, j.cancel_requested_at is not null as cancel_requested
  )
  select i.id, case when u.id is null then 'lease_lost' else 'extended' end, u.locked_until,
         coalesce(u.cancel_requested, false)
  from i left join u on u.id = i.id
  order by i.ord;
end
$function$;
-- privileges: service_role=X/postgres
comment on function public.heartbeat_jobs(jsonb,integer) is 'edgejobs worker: extend the leases of [{id, lease_token}] by lease_seconds. Answers per job: outcome extended or lease_lost, the new lease end, and cancel_requested (abort the handler).';

CREATE OR REPLACE FUNCTION public.list_jobs(status text DEFAULT NULL::text, type text DEFAULT NULL::text, queue text DEFAULT NULL::text, before_created_at timestamp with time zone DEFAULT NULL::timestamp with time zone, before_id uuid DEFAULT NULL::uuid, max_rows integer DEFAULT 50)
 RETURNS SETOF job_details
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_service boolean := edgejobs.caller_is_service();
  v_uid uuid := auth.uid();
begin
  if list_jobs.status is not null and list_jobs.status not in ('queued', 'processing', 'completed', 'failed', 'cancelled') then
    raise exception 'edgejobs: status must be one of queued, processing, completed, failed, cancelled; got "%"', list_jobs.status
      using errcode = 'EJ001';
  end if;
  if list_jobs.max_rows is null or list_jobs.max_rows not between 1 and 1000 then
    raise exception 'edgejobs: max_rows must be between 1 and 1000' using errcode = 'EJ001';
  end if;
  if (list_jobs.before_created_at is null) <> (list_jobs.before_id is null) then
    raise exception 'edgejobs: give both before_created_at and before_id (the cursor), or neither' using errcode = 'EJ001';
  end if;
  if not v_service and v_uid is null then
    return;
  end if;
  return query
  select d.* from edgejobs.jobs j cross join lateral edgejobs.details(j) d
  where (v_service or j.owner_id = v_uid)
    and (list_jobs.status is null or j.status = list_jobs.status)
    and (list_jobs.type is null or j.type = list_jobs.type)
    and (list_jobs.queue is null or j.queue = list_jobs.queue)
    and (list_jobs.before_created_at is null or (j.created_at, j.id) < (list_jobs.before_created_at, list_jobs.before_id))
  order by j.created_at desc, j.id desc
  limit list_jobs.max_rows;
end
$function$;
-- privileges: authenticated=X/postgres service_role=X/postgres
comment on function public.list_jobs(text,text,text,timestamp with time zone,uuid,integer) is 'edgejobs: the caller''s jobs, newest first, filtered by status, type and queue. Paginate with the last row''s created_at and id as before_created_at/before_id. max_rows 1-1000 (default 50).';

CREATE OR REPLACE FUNCTION public.list_operator_actions(max_rows integer DEFAULT 50, before_id bigint DEFAULT NULL::bigint)
 RETURNS TABLE(id bigint, at timestamp with time zone, actor text, action text, filter jsonb, affected integer)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  if list_operator_actions.max_rows is null or list_operator_actions.max_rows not between 1 and 500 then
    raise exception 'edgejobs: max_rows must be between 1 and 500' using errcode = 'EJ001';
  end if;
  return query
  select a.id, a.at, a.actor, a.action, a.filter, a.affected from edgejobs.operator_actions a
  where list_operator_actions.before_id is null or a.id < list_operator_actions.before_id
  order by a.id desc limit list_operator_actions.max_rows;
end
$function$;
-- privileges: service_role=X/postgres
comment on function public.list_operator_actions(integer,bigint) is 'edgejobs operator: what operators did, newest first (before_id pages on). max_rows 1-500 (default 50).';

CREATE OR REPLACE FUNCTION public.list_queues()
 RETURNS TABLE(name text, concurrency_limit integer, paused boolean, updated_at timestamp with time zone)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
  select q.name, q.concurrency_limit, q.paused, q.updated_at from edgejobs.queues q order by q.name
$function$;
-- privileges: service_role=X/postgres
comment on function public.list_queues() is 'edgejobs operator: the queues with settings (a concurrency limit or a pause, now or before). A queue without a row is unlimited and running.';

CREATE OR REPLACE FUNCTION public.list_schedules()
 RETURNS TABLE(name text, cron text, timezone text, job_type text, state text, next_fire_at timestamp with time zone, last_fire_at timestamp with time zone, overlap text, catch_up text, fired bigint, skipped bigint, last_job_id uuid, last_job_status text, last_job_finished_at timestamp with time zone, last_job_error text)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$ select * from edgejobs.schedule_status v order by v.name $function$;
-- privileges: service_role=X/postgres
comment on function public.list_schedules() is 'edgejobs operator: every schedule with its state, next and last fire, counts and the latest run''s outcome (the edgejobs.schedule_status view).';

CREATE OR REPLACE FUNCTION public.list_worker_runs(max_rows integer DEFAULT 50, before_id uuid DEFAULT NULL::uuid)
 RETURNS TABLE(id uuid, worker_id text, trigger text, status text, started_at timestamp with time zone, deadline_at timestamp with time zone, finished_at timestamp with time zone, claimed integer, completed integer, failed integer, retried integer, cancelled integer, handed_back integer, lease_lost integer, stop_reason text, error jsonb)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.list_worker_runs(integer,uuid) is 'edgejobs operator: drains, newest first (before_id, the last run of a page, pages on), status lost for a run still marked running a minute past its deadline (the worker was killed). max_rows 1-500 (default 50).';

CREATE OR REPLACE FUNCTION public.operator_action(action text, target text, value integer DEFAULT NULL::integer, actor text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.operator_action(text,text,integer,text) is 'edgejobs operator: one queue or schedule action, recorded in edgejobs.operator_actions with actor: pause_queue, resume_queue, set_queue_concurrency (value: the limit, null for none), pause_schedule, resume_schedule, trigger_schedule (value 1: even if a run is live). Answers the queue''s or schedule''s new state (trigger_schedule: {job_id}, null when the overlap policy held the run back). Job actions go through bulk_jobs (ids).';

CREATE OR REPLACE FUNCTION public.pause_queue(queue text)
 RETURNS TABLE(name text, concurrency_limit integer, paused boolean)
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$ select * from edgejobs.upsert_queue(pause_queue.queue, true, false, null) $function$;
-- privileges: service_role=X/postgres
comment on function public.pause_queue(text) is 'edgejobs operator: stop workers claiming jobs from the queue (running jobs finish; enqueues still accepted).';

CREATE OR REPLACE FUNCTION public.pause_schedule(name text)
 RETURNS SETOF edgejobs.schedules
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
  update edgejobs.schedules s set paused = true, updated_at = now() where s.name = pause_schedule.name returning s.*
$function$;
-- privileges: service_role=X/postgres
comment on function public.pause_schedule(text) is 'edgejobs operator: stop a schedule firing (runs already enqueued go on). No row: no such schedule.';

CREATE OR REPLACE FUNCTION public.purge_jobs(older_than interval DEFAULT NULL::interval, max_rows integer DEFAULT 10000)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
  -- Then by count: each type's keep_completed and keep_failed.
  if v_count < purge_jobs.max_rows then
    v_count := v_count + edgejobs.purge_by_count(purge_jobs.max_rows - v_count);
  end if;
  return v_count;
end
$function$;
-- privileges: service_role=X/postgres
comment on function public.purge_jobs(interval,integer) is 'edgejobs operator: delete finished jobs (completed, failed, cancelled) - those past their expires_at, or with older_than, those finished longer ago than that - and then completed and failed jobs past each type''s keep_completed / keep_failed (the latest are kept). Never touches queued or processing jobs. At most max_rows per call; returns how many were deleted.';

CREATE OR REPLACE FUNCTION public.purge_worker_runs(older_than interval DEFAULT '7 days'::interval)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.purge_worker_runs(interval) is 'edgejobs operator: delete finished worker run records older than older_than (default 7 days).';

CREATE OR REPLACE FUNCTION public.reap_expired_leases(max_jobs integer DEFAULT 1000)
 RETURNS TABLE(id uuid, outcome text, run_at timestamp with time zone)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  if reap_expired_leases.max_jobs is null or reap_expired_leases.max_jobs not between 1 and 100000 then
    raise exception 'edgejobs: max_jobs must be between 1 and 100000' using errcode = 'EJ001';
  end if;
  return query select * from edgejobs.reap_leases(reap_expired_leases.max_jobs);
end
$function$;
-- privileges: service_role=X/postgres
comment on function public.reap_expired_leases(integer) is 'edgejobs worker/operator: jobs whose lease expired (their worker died) go back to the queue at once, or to failed when out of attempts, or cancelled when cancel was requested; the lost attempt is recorded as an error with code lease_expired. claim_jobs does this itself before it claims, so workers need not call it.';

CREATE OR REPLACE FUNCTION public.record_alerts(conditions jsonb, url text, min_interval interval DEFAULT '00:15:00'::interval)
 RETURNS TABLE(key text, event text, delivery_id uuid)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.record_alerts(jsonb,text,interval) is 'edgejobs worker: takes the alert conditions a worker evaluated ([{key, firing, summary, details}]) and, for each, enqueues a signed delivery to url (type edgejobs.webhook) when it starts firing (alert.firing: at most one per min_interval per condition; a condition still firing after a held-back alert gets it once the interval has passed) or stops after an alert was sent (alert.resolved). Conditions not listed keep their state. Returns the deliveries enqueued.';

CREATE OR REPLACE FUNCTION public.register_job_types(types jsonb, worker_name text DEFAULT NULL::text)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
 SET lock_timeout TO '5s'
AS $function$
declare
  v_allowed constant text[] := array['type', 'queue', 'priority', 'max_attempts', 'backoff_base_seconds',
    'backoff_max_seconds', 'keep_for_seconds', 'users_may_enqueue', 'anonymous_may_enqueue', 'input_schema'];
  v_bad record;
  v_count integer;
begin
  if register_job_types.types is null or jsonb_typeof(register_job_types.types) <> 'array'
     or jsonb_array_length(register_job_types.types) not between 1 and 1000 then
    raise exception 'edgejobs: types must be a JSON array of 1-1000 job type objects' using errcode = 'EJ001';
  end if;
  if register_job_types.worker_name is not null and length(register_job_types.worker_name) not between 1 and 200 then
    raise exception 'edgejobs: worker_name must be 1-200 characters' using errcode = 'EJ001';
  end if;
  select t.ord - 1 as idx,
    case
      when jsonb_typeof(t.e) <> 'object' then 'must be an object'
      when (t.e - v_allowed) <> '{}'::jsonb then
        'has unknown field ' || (select string_agg(quote_ident(k), ', ') from jsonb_object_keys(t.e - v_allowed) k)
      when jsonb_typeof(t.e -> 'users_may_enqueue') not in ('boolean', 'null') then 'users_may_enqueue must be a boolean'
      when jsonb_typeof(t.e -> 'anonymous_may_enqueue') not in ('boolean', 'null') then 'anonymous_may_enqueue must be a boolean'
      when (t.e -> 'anonymous_may_enqueue') = 'true' and (t.e -> 'users_may_enqueue') = 'false'
        then 'anonymous_may_enqueue needs users_may_enqueue'
      when jsonb_typeof(t.e -> 'input_schema') not in ('object', 'null') then 'input_schema must be a JSON Schema object'
      when (select count(*) from jsonb_array_elements(register_job_types.types) o where o ->> 'type' = t.e ->> 'type') > 1
        then 'names a type given more than once'
    end as problem
  into v_bad
  from jsonb_array_elements(register_job_types.types) with ordinality as t(e, ord)
  where jsonb_typeof(t.e) <> 'object' or (t.e - v_allowed) <> '{}'::jsonb
     or jsonb_typeof(t.e -> 'users_may_enqueue') not in ('boolean', 'null')
     or jsonb_typeof(t.e -> 'anonymous_may_enqueue') not in ('boolean', 'null')
     or ((t.e -> 'anonymous_may_enqueue') = 'true' and (t.e -> 'users_may_enqueue') = 'false')
     or jsonb_typeof(t.e -> 'input_schema') not in ('object', 'null')
     or (select count(*) from jsonb_array_elements(register_job_types.types) o where o ->> 'type' = t.e ->> 'type') > 1
  order by t.ord limit 1;
  if found then
    raise exception 'edgejobs: types[%] %', v_bad.idx, v_bad.problem using errcode = 'EJ001';
  end if;
  -- The type and option fields follow exactly the enqueue rules: check them with the same code.
  begin
    perform edgejobs.validate_job_specs((
      select jsonb_agg(t.e - array['users_may_enqueue', 'anonymous_may_enqueue', 'input_schema'] order by t.ord)
      from jsonb_array_elements(register_job_types.types) with ordinality as t(e, ord)));
  exception when sqlstate 'EJ001' then
    raise exception '%', replace(sqlerrm, 'edgejobs: jobs[', 'edgejobs: types[') using errcode = 'EJ001';
  end;

  insert into edgejobs.job_types as jt (type, queue, priority, max_attempts, backoff_base_seconds, backoff_max_seconds,
    keep_for, users_may_enqueue, anonymous_may_enqueue, input_schema)
  select t.e ->> 'type', t.e ->> 'queue', (t.e ->> 'priority')::integer, (t.e ->> 'max_attempts')::integer,
    (t.e ->> 'backoff_base_seconds')::double precision, (t.e ->> 'backoff_max_seconds')::double precision,
    make_interval(secs => (t.e ->> 'keep_for_seconds')::double precision),
    coalesce((t.e ->> 'users_may_enqueue')::boolean, true), coalesce((t.e ->> 'anonymous_may_enqueue')::boolean, false),
    nullif(t.e -> 'input_schema', 'null'::jsonb)
  from jsonb_array_elements(register_job_types.types) t(e)
  order by t.e ->> 'type' -- one lock order for concurrent registrations
  on conflict (type) do update
  set queue = excluded.queue, priority = excluded.priority, max_attempts = excluded.max_attempts,
      backoff_base_seconds = excluded.backoff_base_seconds, backoff_max_seconds = excluded.backoff_max_seconds,
      keep_for = excluded.keep_for,
      -- Who may enqueue a type is the app's to say (its routes register without a worker name): a
      -- worker's registration sets it only for a type it is the first to register, so a worker
      -- on older code cannot reopen a type the app has closed.
      users_may_enqueue = case when register_job_types.worker_name is null then excluded.users_may_enqueue else jt.users_may_enqueue end,
      anonymous_may_enqueue = case when register_job_types.worker_name is null then excluded.anonymous_may_enqueue else jt.anonymous_may_enqueue end,
      input_schema = excluded.input_schema, updated_at = now()
  -- A registration that changes nothing writes nothing (every cold start registers).
  where (jt.queue, jt.priority, jt.max_attempts, jt.backoff_base_seconds, jt.backoff_max_seconds, jt.keep_for, jt.input_schema)
    is distinct from
        (excluded.queue, excluded.priority, excluded.max_attempts, excluded.backoff_base_seconds, excluded.backoff_max_seconds,
         excluded.keep_for, excluded.input_schema)
     or (register_job_types.worker_name is null
         and (jt.users_may_enqueue, jt.anonymous_may_enqueue) is distinct from (excluded.users_may_enqueue, excluded.anonymous_may_enqueue));
  v_count := jsonb_array_length(register_job_types.types);

  if register_job_types.worker_name is not null then
    insert into edgejobs.job_type_workers as w (type, worker_name)
    select t.e ->> 'type', register_job_types.worker_name
    from jsonb_array_elements(register_job_types.types) t(e)
    order by 1
    on conflict on constraint job_type_workers_pkey do update set last_seen_at = now();
    -- This worker now runs exactly these types; forget workers unseen for 30 days.
    delete from edgejobs.job_type_workers w
    where (w.worker_name = register_job_types.worker_name
           and not exists (select from jsonb_array_elements(register_job_types.types) t(e) where t.e ->> 'type' = w.type))
       or w.last_seen_at < now() - interval '30 days';
  end if;
  return v_count;
end
$function$;
-- privileges: service_role=X/postgres
comment on function public.register_job_types(jsonb,text) is 'edgejobs: register job types (service role; the app and every worker call it when they start, from their defineJob registry; idempotent). `types` is a JSON array of {type, queue, priority, max_attempts, backoff_base_seconds, backoff_max_seconds, keep_for_seconds, users_may_enqueue (true), anonymous_may_enqueue (false), input_schema}; each row is replaced by what is given (last registration wins), except who may enqueue a type (users_may_enqueue, anonymous_may_enqueue): that is the app''s registration''s (no worker_name) to change; a worker''s sets it only for a type new to the table. With `worker_name`, records that this worker runs exactly these types. Waits at most 5 s for locks. Returns the number of types.';

CREATE OR REPLACE FUNCTION public.register_schedules(schedules jsonb)
 RETURNS TABLE(name text, created boolean, retired boolean)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.register_schedules(jsonb) is 'edgejobs: the app''s schedules (service role; registerSchedules() calls it at start; idempotent). `schedules` is a JSON array of {name, cron, timezone (''UTC''), job_type, input ({}), options ({}: queue, priority, max_attempts, backoff_base_seconds, backoff_max_seconds, keep_for_seconds), overlap (''skip'' | ''queue'' | ''allow''), catch_up (''latest'' | ''none'' | ''all''), catch_up_limit (10), run_on_create (false), enabled (true)}. Creates and updates them; a schedule defined in code before and not listed now is retired (fires no more; listed again, it fires again); schedules made in SQL are left alone. Returns each name with whether it was created or retired.';

CREATE OR REPLACE FUNCTION public.resume_queue(queue text)
 RETURNS TABLE(name text, concurrency_limit integer, paused boolean)
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$ select * from edgejobs.upsert_queue(resume_queue.queue, false, false, null) $function$;
-- privileges: service_role=X/postgres
comment on function public.resume_queue(text) is 'edgejobs operator: let workers claim from a paused queue again.';

CREATE OR REPLACE FUNCTION public.resume_schedule(name text)
 RETURNS SETOF edgejobs.schedules
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
  -- The next fire time is computed again from now: a paused window is not caught up.
  update edgejobs.schedules s set paused = false, next_fire_at = null, updated_at = now()
  where s.name = resume_schedule.name and s.paused returning s.*
$function$;
-- privileges: service_role=X/postgres
comment on function public.resume_schedule(text) is 'edgejobs operator: let a paused schedule fire again, from its next fire time after now (the paused window is not caught up).';

CREATE OR REPLACE FUNCTION public.retry_failed_jobs(job_id uuid DEFAULT NULL::uuid, type text DEFAULT NULL::text, queue text DEFAULT NULL::text, failed_after timestamp with time zone DEFAULT NULL::timestamp with time zone, failed_before timestamp with time zone DEFAULT NULL::timestamp with time zone)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.retry_failed_jobs(uuid,text,text,timestamp with time zone,timestamp with time zone) is 'edgejobs operator: redrive failed jobs - one (job_id) or all matching type, queue and a finished_at window (no filter: every failed job). They are queued now with a fresh set of attempts; their error history is kept. Returns how many were requeued.';

CREATE OR REPLACE FUNCTION public.save_job_progress(jobs jsonb)
 RETURNS TABLE(id uuid, outcome text, cancel_requested boolean)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  return query
  with i as (select * from edgejobs.parse_leases(save_job_progress.jobs)),
  u as (
    update edgejobs.jobs j
    set progress = case when i.item ? 'progress' then i.item -> 'progress' else j.progress end,
        checkpoint = case when i.item ? 'checkpoint' then i.item -> 'checkpoint' else j.checkpoint end,
        updated_at = now()
    from i
    where j.id = any (array(select i.id from i)) and j.id = i.id and j.lease_token = i.lease_token
    returning j.id, j.cancel_requested_at is not null as cancel_requested
  )
  select i.id, case when u.id is null then 'lease_lost' else 'saved' end, coalesce(u.cancel_requested, false)
  from i left join u on u.id = i.id
  order by i.ord;
end
$function$;
-- privileges: service_role=X/postgres
comment on function public.save_job_progress(jsonb) is 'edgejobs worker: store progress and/or checkpoint for [{id, lease_token, progress?, checkpoint?}] (a key left out keeps the old value). Answers per job: saved or lease_lost, and cancel_requested.';

CREATE OR REPLACE FUNCTION public.schedule_worker(every_seconds integer DEFAULT 5)
 RETURNS TABLE(jobname text, schedule text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.schedule_worker(integer) is 'edgejobs operator: schedules the drain (pg_cron → pg_net → the process-jobs function, every N seconds; every minute on pg_cron < 1.5) and an hourly purge of cron.job_run_details, finished jobs and worker runs. Idempotent. Needs pg_cron, pg_net and the Vault secrets edgejobs_worker_url and edgejobs_worker_secret.';

CREATE OR REPLACE FUNCTION public.set_queue_concurrency(queue text, concurrency_limit integer)
 RETURNS TABLE(name text, concurrency_limit integer, paused boolean)
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$ select * from edgejobs.upsert_queue(set_queue_concurrency.queue, null, true, set_queue_concurrency.concurrency_limit) $function$;
-- privileges: service_role=X/postgres
comment on function public.set_queue_concurrency(text,integer) is 'edgejobs operator: at most concurrency_limit jobs of the queue processing at once across all workers (null: unlimited).';

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
-- privileges: service_role=X/postgres
comment on function public.set_type_policies(jsonb) is 'edgejobs operator: per registered type, keep at most keep_completed completed and keep_failed failed jobs (the latest; null: by time only), applied by purge_jobs; the retry backoff_factor (1-100; null: 2); and the webhook_url its jobs'' ends are posted to (null: none), e.g. select * from set_type_policies(''[{"type": "report.generate", "keep_completed": 100, "keep_failed": 500, "backoff_factor": 5}]''). registerJobTypes() calls it with each type''s defineJob `keep`, `retry.factor` and `webhook`. Returns the types it changed (an unchanged one is not written).';

CREATE OR REPLACE FUNCTION public.start_worker_run(worker_id text, trigger text, deadline_at timestamp with time zone DEFAULT NULL::timestamp with time zone, worker_name text DEFAULT NULL::text, job_types text[] DEFAULT NULL::text[])
 RETURNS uuid
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_id uuid;
begin
  if start_worker_run.worker_id is null or length(start_worker_run.worker_id) not between 1 and 200 then
    raise exception 'edgejobs: worker_id must be 1-200 characters' using errcode = 'EJ001';
  end if;
  if start_worker_run.trigger is null or length(start_worker_run.trigger) not between 1 and 64 then
    raise exception 'edgejobs: trigger must be 1-64 characters' using errcode = 'EJ001';
  end if;
  if start_worker_run.worker_name is not null and length(start_worker_run.worker_name) not between 1 and 200 then
    raise exception 'edgejobs: worker_name must be 1-200 characters' using errcode = 'EJ001';
  end if;
  insert into edgejobs.worker_runs (worker_id, trigger, deadline_at)
  values (start_worker_run.worker_id, start_worker_run.trigger, start_worker_run.deadline_at)
  returning edgejobs.worker_runs.id into v_id;
  if start_worker_run.worker_name is not null and start_worker_run.job_types is not null then
    insert into edgejobs.job_type_workers as w (type, worker_name)
    select jt.type, start_worker_run.worker_name from edgejobs.job_types jt
    where jt.type = any(start_worker_run.job_types)
    order by 1
    on conflict on constraint job_type_workers_pkey do update set last_seen_at = now()
    where w.last_seen_at < now() - interval '5 seconds';
  end if;
  return v_id;
end
$function$;
-- privileges: service_role=X/postgres
comment on function public.start_worker_run(text,text,timestamp with time zone,text,text[]) is 'edgejobs worker: record the start of a drain (worker id, trigger such as cron or kick, deadline). With worker_name and job_types (the types it runs), also marks that worker as seen for each registered type. Returns the run id for finish_worker_run.';

CREATE OR REPLACE FUNCTION public.trigger_schedule(name text, force boolean DEFAULT false)
 RETURNS TABLE(job_id uuid, skipped boolean)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.trigger_schedule(text,boolean) is 'edgejobs operator: one run of a schedule now (also when paused), respecting its overlap policy unless force; skipped = the policy held it back. Does not move the schedule''s next fire time.';

CREATE OR REPLACE FUNCTION public.unschedule_worker()
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
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
$function$;
-- privileges: service_role=X/postgres
comment on function public.unschedule_worker() is 'edgejobs operator: removes the edgejobs-drain and edgejobs-purge cron jobs. Returns how many it removed.';

CREATE OR REPLACE FUNCTION public.upsert_schedule(name text, cron text, job_type text, input jsonb DEFAULT '{}'::jsonb, timezone text DEFAULT 'UTC'::text, options jsonb DEFAULT '{}'::jsonb, overlap text DEFAULT 'skip'::text, catch_up text DEFAULT 'latest'::text, catch_up_limit integer DEFAULT 10, run_on_create boolean DEFAULT false)
 RETURNS SETOF edgejobs.schedules
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
  -- Arguments given as null take their defaults (only the top level: the input keeps its nulls).
  select * from edgejobs.save_schedules(jsonb_build_array((
    select coalesce(jsonb_object_agg(a.k, a.v), '{}'::jsonb)
    from jsonb_each(jsonb_build_object(
      'name', upsert_schedule.name, 'cron', upsert_schedule.cron, 'job_type', upsert_schedule.job_type,
      'input', upsert_schedule.input, 'timezone', upsert_schedule.timezone, 'options', upsert_schedule.options,
      'overlap', upsert_schedule.overlap, 'catch_up', upsert_schedule.catch_up,
      'catch_up_limit', upsert_schedule.catch_up_limit, 'run_on_create', upsert_schedule.run_on_create)) a(k, v)
    where a.v <> 'null'::jsonb)), false)
$function$;
-- privileges: service_role=X/postgres
comment on function public.upsert_schedule(text,text,text,jsonb,text,jsonb,text,text,integer,boolean) is 'edgejobs operator: create or change a schedule from SQL, e.g. select * from upsert_schedule(''daily-brief'', ''0 8 * * *'', ''brief.send'', timezone => ''America/New_York''). An unknown time zone or a malformed cron expression is refused (EJ001) naming it. Schedules made here are never retired by the app''s registration.';

create policy "edgejobs: owners receive their job broadcasts" on realtime.messages for select to authenticated
  using (((extension = 'broadcast'::text) AND (topic = ( SELECT realtime.topic() AS topic)) AND (( SELECT realtime.topic() AS topic) ~~ 'edgejobs:%:job:%'::text) AND (split_part(( SELECT realtime.topic() AS topic), ':'::text, 2) = (( SELECT auth.uid() AS uid))::text)));
