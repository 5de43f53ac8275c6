/**
 * Conversions between the SQL API's rows and arguments (snake_case, seconds, ISO strings) and the
 * store's TypeScript shapes (camelCase, milliseconds, Dates). Shared by every store adapter so
 * they cannot drift apart.
 */
import type { ErrorJson } from './errors.ts';
import type { JobTypeRecord } from './job-types.ts';
import type { JobStatus } from './states.ts';
import type {
  ClaimedJob, CompleteItem, ConsoleJob, ConsoleJobRow, ConsoleJobsPage, OperatorActionRecord, ThroughputBucket, WorkerRunRecord, CompleteOutcome, EnqueueSpec, EnqueuedJob, FailItem, FailOutcome, HandBackItem,
  HandBackOutcome, HeartbeatOutcome, JobChild, JobDetails, Lease, ProgressItem, ProgressOutcome, QueueHealth, QueueSettings,
  QueueStats, ReapOutcome, ScheduleStatus, TypeStats,
} from './store.ts';
import type { DueSchedule, ScheduleDefinition } from './schedules.ts';

type Row = Record<string, unknown>;

const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : date(v));
const num = (v: unknown): number => Number(v);
const str = (v: unknown): string => String(v);
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** One element of `enqueue_jobs(jobs jsonb)`. Undefined options are left out (SQL defaults). */
export function toSqlJobSpec(spec: EnqueueSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { type: spec.type, input: spec.input === undefined ? {} : spec.input };
  if (spec.queue !== undefined) out.queue = spec.queue;
  if (spec.priority !== undefined) out.priority = spec.priority;
  if (spec.runAt !== undefined) out.run_at = spec.runAt.toISOString();
  if (spec.delayMs !== undefined) out.delay_seconds = spec.delayMs / 1000;
  if (spec.maxAttempts !== undefined) out.max_attempts = spec.maxAttempts;
  if (spec.backoffBaseMs !== undefined) out.backoff_base_seconds = spec.backoffBaseMs / 1000;
  if (spec.backoffMaxMs !== undefined) out.backoff_max_seconds = spec.backoffMaxMs / 1000;
  if (spec.idempotencyKey !== undefined) out.idempotency_key = spec.idempotencyKey;
  if (spec.singletonKey !== undefined) out.singleton_key = spec.singletonKey;
  if (spec.keepForMs !== undefined) out.keep_for_seconds = Math.ceil(spec.keepForMs / 1000);
  if (spec.webhookUrl !== undefined) out.webhook_url = spec.webhookUrl;
  return out;
}

/** A {@link JobTypeRecord} as register_job_types takes it. */
export function toSqlJobType(record: JobTypeRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: record.type, users_may_enqueue: record.usersMayEnqueue, anonymous_may_enqueue: record.anonymousMayEnqueue,
    input_schema: record.inputSchema,
  };
  if (record.queue !== undefined) out.queue = record.queue;
  if (record.priority !== undefined) out.priority = record.priority;
  if (record.maxAttempts !== undefined) out.max_attempts = record.maxAttempts;
  if (record.backoffBaseMs !== undefined) out.backoff_base_seconds = record.backoffBaseMs / 1000;
  if (record.backoffMaxMs !== undefined) out.backoff_max_seconds = record.backoffMaxMs / 1000;
  if (record.keepForMs !== undefined) out.keep_for_seconds = Math.ceil(record.keepForMs / 1000);
  return out;
}

/** A {@link Lease} as the worker functions take it. */
export function toSqlLease(item: Lease): { id: string; lease_token: string } {
  return { id: item.id, lease_token: item.leaseToken };
}
const lease = toSqlLease;

export function toSqlComplete(item: CompleteItem): Record<string, unknown> {
  const out: Record<string, unknown> = { ...lease(item), result: item.result === undefined ? null : item.result };
  if (item.progress !== undefined) out.progress = item.progress;
  if (item.children?.length) out.children = item.children.map(toSqlJobSpec);
  return out;
}

export function toSqlFail(item: FailItem): Record<string, unknown> {
  const out: Record<string, unknown> = { ...lease(item), error: item.error };
  if (item.permanent) out.permanent = true;
  if (item.retryAt) out.retry_at = item.retryAt.toISOString();
  if (item.progress !== undefined) out.progress = item.progress;
  return out;
}

export function toSqlProgress(item: ProgressItem | HandBackItem): Record<string, unknown> {
  const out: Record<string, unknown> = lease(item);
  if (item.progress !== undefined) out.progress = item.progress;
  if (item.checkpoint !== undefined) out.checkpoint = item.checkpoint;
  return out;
}

export function fromEnqueuedRow(r: Row): EnqueuedJob {
  return {
    id: str(r.id), type: str(r.type), queue: str(r.queue), status: r.status as JobStatus,
    priority: num(r.priority), runAt: date(r.run_at), createdAt: date(r.created_at),
    idempotencyKey: strOrNull(r.idempotency_key), replayed: Boolean(r.replayed),
  };
}

export function fromJobRow(r: Row): JobDetails {
  return {
    id: str(r.id), type: str(r.type), queue: str(r.queue), status: r.status as JobStatus,
    priority: num(r.priority), input: r.input, progress: r.progress ?? null, result: r.result ?? null,
    error: (r.error as ErrorJson | null) ?? null, attempts: num(r.attempts), maxAttempts: num(r.max_attempts),
    runAt: date(r.run_at), createdAt: date(r.created_at), updatedAt: date(r.updated_at),
    startedAt: dateOrNull(r.started_at), finishedAt: dateOrNull(r.finished_at),
    cancelRequestedAt: dateOrNull(r.cancel_requested_at), idempotencyKey: strOrNull(r.idempotency_key),
    expiresAt: dateOrNull(r.expires_at), parentId: strOrNull(r.parent_id),
    children: Array.isArray(r.children) ? (r.children as JobChild[]) : [],
  };
}

export function fromClaimedRow(r: Row): ClaimedJob {
  return {
    id: str(r.id), type: str(r.type), queue: str(r.queue), input: r.input, priority: num(r.priority),
    attempt: num(r.attempts), maxAttempts: num(r.max_attempts), leaseToken: str(r.lease_token),
    lockedUntil: date(r.locked_until), progress: r.progress ?? null, checkpoint: r.checkpoint ?? null,
    runAt: date(r.run_at), createdAt: date(r.created_at), idempotencyKey: strOrNull(r.idempotency_key),
    ownerId: strOrNull(r.owner_id), cancelRequested: Boolean(r.cancel_requested),
  };
}

/** Rows of complete_jobs and hand_back_jobs: `{id, outcome}`. */
export function fromOutcomeRow<T extends CompleteOutcome | HandBackOutcome>(r: Row): T {
  return { id: str(r.id), outcome: r.outcome } as T;
}

/** Rows of fail_jobs and reap_expired_leases: `{id, outcome, run_at}`. */
export function fromFailRow(r: Row): FailOutcome & ReapOutcome {
  return { id: str(r.id), outcome: r.outcome as FailOutcome['outcome'], runAt: dateOrNull(r.run_at) };
}

export function fromHeartbeatRow(r: Row): HeartbeatOutcome {
  return { id: str(r.id), outcome: r.outcome as HeartbeatOutcome['outcome'], lockedUntil: dateOrNull(r.locked_until), cancelRequested: Boolean(r.cancel_requested) };
}

export function fromProgressRow(r: Row): ProgressOutcome {
  return { id: str(r.id), outcome: r.outcome as ProgressOutcome['outcome'], cancelRequested: Boolean(r.cancel_requested) };
}

export function fromQueueStatsRow(r: Row): QueueStats {
  return {
    queue: str(r.queue), type: str(r.type), ready: num(r.ready), scheduled: num(r.scheduled),
    processing: num(r.processing), completed: num(r.completed), failed: num(r.failed),
    cancelled: num(r.cancelled), oldestReadyAt: dateOrNull(r.oldest_ready_at),
  };
}

export function fromHealthRow(r: Row): QueueHealth {
  return {
    ready: num(r.ready), scheduled: num(r.scheduled), processing: num(r.processing),
    oldestReadyAgeMs: r.oldest_ready_age_seconds === null || r.oldest_ready_age_seconds === undefined ? null : num(r.oldest_ready_age_seconds) * 1000,
    lastRunStartedAt: dateOrNull(r.last_run_started_at), lastRunFinishedAt: dateOrNull(r.last_run_finished_at),
    lastRunStatus: (r.last_run_status as QueueHealth['lastRunStatus']) ?? null,
    lastSuccessAt: dateOrNull(r.last_success_at), consecutiveFailedRuns: num(r.consecutive_failed_runs),
    lastSeenAt: dateOrNull(r.last_seen_at),
    unhandled: num(r.unhandled ?? 0), unhandledTypes: (r.unhandled_types as string[] | null | undefined) ?? [],
  };
}

export function fromQueueRow(r: Row): QueueSettings {
  return { name: str(r.name), concurrencyLimit: r.concurrency_limit === null ? null : num(r.concurrency_limit), paused: Boolean(r.paused) };
}

/** Seconds for a lease, from milliseconds (at least 1). */
export function leaseSeconds(leaseMs: number): number {
  return Math.max(1, Math.ceil(leaseMs / 1000));
}

/** A Postgres interval literal for milliseconds, e.g. '90.5 seconds'. */
export function intervalFromMs(ms: number): string {
  return `${ms / 1000} seconds`;
}

/** A {@link ScheduleDefinition} as register_schedules takes it. */
export function toSqlSchedule(s: ScheduleDefinition): Record<string, unknown> {
  const options = toSqlJobSpec({ type: s.type, ...s.options });
  delete options.type;
  delete options.input;
  return {
    name: s.name, cron: s.cron, timezone: s.timezone, job_type: s.type, input: s.input === undefined ? {} : s.input, options,
    overlap: s.overlap, catch_up: s.catchUp, catch_up_limit: s.catchUpLimit, run_on_create: s.runOnCreate, enabled: s.enabled,
  };
}


export function fromDueScheduleRow(r: Row): DueSchedule {
  return {
    name: String(r.name), cron: String(r.cron), timezone: String(r.timezone), catchUp: r.catch_up as DueSchedule['catchUp'],
    catchUpLimit: Number(r.catch_up_limit), nextFireAt: dateOrNull(r.next_fire_at),
  };
}

export function fromScheduleRow(r: Row): ScheduleStatus {
  return {
    name: String(r.name), cron: String(r.cron), timezone: String(r.timezone), type: String(r.job_type),
    state: r.state as ScheduleStatus['state'], nextFireAt: dateOrNull(r.next_fire_at), lastFireAt: dateOrNull(r.last_fire_at),
    overlap: String(r.overlap), catchUp: String(r.catch_up), fired: Number(r.fired), skipped: Number(r.skipped),
    lastJob: r.last_job_id ? {
      id: String(r.last_job_id), status: r.last_job_status as JobStatus, finishedAt: dateOrNull(r.last_job_finished_at),
      error: (r.last_job_error as string | null | undefined) ?? null,
    } : null,
  };
}

export function fromTypeStatsRow(r: Row): TypeStats {
  return {
    type: str(r.type), schedule: strOrNull(r.schedule_name), runs: num(r.runs), completed: num(r.completed), failed: num(r.failed),
    cancelled: num(r.cancelled), consecutiveFailures: num(r.consecutive_failures ?? 0),
    lastSuccessAt: dateOrNull(r.last_success_at), lastFailureAt: dateOrNull(r.last_failure_at),
    durationMs: r.duration_p50_ms === null || r.duration_p50_ms === undefined ? null
      : { p50: num(r.duration_p50_ms), p95: num(r.duration_p95_ms), avg: num(r.duration_avg_ms) },
    runsPerMinute: num(r.runs_per_minute),
  };
}

/** A row of console_jobs' list (JSON: times as strings). */
export function fromConsoleRow(r: Row): ConsoleJobRow {
  return {
    id: str(r.id), type: str(r.type), queue: str(r.queue), status: r.status as JobStatus, priority: num(r.priority),
    attempts: num(r.attempts), maxAttempts: num(r.max_attempts), runAt: date(r.run_at), createdAt: date(r.created_at),
    startedAt: dateOrNull(r.started_at), finishedAt: dateOrNull(r.finished_at), cancelRequestedAt: dateOrNull(r.cancel_requested_at),
    ownerId: strOrNull(r.owner_id), idempotencyKey: strOrNull(r.idempotency_key), parentId: strOrNull(r.parent_id),
    error: strOrNull(r.error),
  };
}

export function fromConsolePage(v: unknown): ConsoleJobsPage {
  const r = v as { jobs: Row[]; scanned: number; next: Row | null };
  return {
    jobs: r.jobs.map(fromConsoleRow),
    scanned: num(r.scanned),
    next: r.next ? { createdAt: date(r.next.created_at), id: str(r.next.id) } : null,
  };
}

const child = (c: Row) => ({ id: str(c.id), type: str(c.type), status: c.status as JobStatus });

export function fromConsoleJob(v: unknown): ConsoleJob | null {
  if (v === null || v === undefined) return null;
  const r = v as Row;
  const { error: _message, ...row } = fromConsoleRow(r);
  return {
    ...row,
    input: r.input, progress: r.progress ?? null, checkpoint: r.checkpoint ?? null, result: r.result ?? null,
    error: (r.error as ErrorJson | null) ?? null, errors: (r.errors as ErrorJson[] | null) ?? [],
    lockedBy: strOrNull(r.locked_by), lockedUntil: dateOrNull(r.locked_until), updatedAt: date(r.updated_at),
    expiresAt: dateOrNull(r.expires_at), keepForMs: num(r.keep_for_seconds) * 1000, singletonKey: strOrNull(r.singleton_key),
    scheduleName: strOrNull(r.schedule_name), scheduledFor: dateOrNull(r.scheduled_for), webhookUrl: strOrNull(r.webhook_url),
    backoffBaseMs: num(r.backoff_base_seconds) * 1000, backoffMaxMs: num(r.backoff_max_seconds) * 1000,
    parent: r.parent ? child(r.parent as Row) : null,
    children: ((r.children as Row[] | null) ?? []).map(child),
    deliveries: ((r.deliveries as Row[] | null) ?? []).map((d) => ({
      id: str(d.id), status: d.status as JobStatus, attempts: num(d.attempts), maxAttempts: num(d.max_attempts),
      url: str(d.url), event: str(d.event), runAt: date(d.run_at), finishedAt: dateOrNull(d.finished_at),
      errors: (d.errors as ErrorJson[] | null) ?? [],
    })),
  };
}

export function fromThroughputRow(r: Row): ThroughputBucket {
  return { start: date(r.bucket_start), completed: num(r.completed), failed: num(r.failed), cancelled: num(r.cancelled) };
}

export function fromWorkerRunRow(r: Row): WorkerRunRecord {
  return {
    id: str(r.id), workerId: str(r.worker_id), trigger: str(r.trigger), status: r.status as WorkerRunRecord['status'],
    startedAt: date(r.started_at), deadlineAt: dateOrNull(r.deadline_at), finishedAt: dateOrNull(r.finished_at),
    claimed: num(r.claimed), completed: num(r.completed), failed: num(r.failed), retried: num(r.retried),
    cancelled: num(r.cancelled), handedBack: num(r.handed_back), leaseLost: num(r.lease_lost),
    stopReason: strOrNull(r.stop_reason), error: (r.error as ErrorJson | null) ?? null,
  };
}

export function fromOperatorActionRow(r: Row): OperatorActionRecord {
  return {
    id: num(r.id), at: date(r.at), actor: str(r.actor), action: str(r.action),
    filter: (r.filter as Record<string, unknown>) ?? {}, affected: num(r.affected),
  };
}
