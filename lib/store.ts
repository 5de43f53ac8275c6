/**
 * The store: every call into the SQL API, as one interface with one method per SQL function, so
 * that each method is exactly one round trip (one `supabase.rpc()` or one SQL statement).
 * Adapters: `createPostgresStore()` (a direct connection) and the supabase-js adapter.
 * Times are `Date`s and durations milliseconds on this side; the SQL API takes seconds.
 */
import type { ErrorJson } from './errors.ts';
import type { JobTypeRecord } from './job-types.ts';
import type { DueSchedule, ScheduleDefinition } from './schedules.ts';
import type { JobStatus } from './states.ts';

/** One job to enqueue. Every option has the SQL default when left out. */
export interface EnqueueSpec {
  type: string;
  input?: unknown;
  /** Default 'default'. */
  queue?: string;
  /** Higher runs first. Default 0. */
  priority?: number;
  /** Do not run before this time. Give runAt or delayMs, not both. */
  runAt?: Date;
  /** Do not run before now + delayMs. */
  delayMs?: number;
  /** Most runs, counting the first (1-1000). Default 3. */
  maxAttempts?: number;
  /** Retry delay after the first failure; doubles each time. Default 1000. */
  backoffBaseMs?: number;
  /** Cap on the retry delay. Default 3,600,000. */
  backoffMaxMs?: number;
  /** The same key for the same type and owner returns the existing job (until it expires). */
  idempotencyKey?: string;
  /**
   * While a job of this type and owner with this key is queued or processing, enqueue answers it
   * (replayed) instead of storing another; free again once it ends.
   */
  singletonKey?: string;
  /** How long the finished job is kept. Default 7 days. */
  keepForMs?: number;
  /** Server only: POST the job's end here, signed (Standard Webhooks); default the type's `webhook`. */
  webhookUrl?: string;
}

/** What enqueue answers for each job. */
export interface EnqueuedJob {
  id: string;
  type: string;
  queue: string;
  status: JobStatus;
  priority: number;
  runAt: Date;
  createdAt: Date;
  idempotencyKey: string | null;
  /** True when an idempotency key matched an existing job: nothing new was stored. */
  replayed: boolean;
}

/** What a bulk action does: cancel (queued ones end, processing ones are asked to stop), redrive failed and cancelled jobs, delete queued and finished ones. */
export type BulkAction = 'cancel' | 'redrive' | 'delete';

/** Which jobs a bulk action takes (at least one field). */
export interface BulkFilter {
  status?: JobStatus;
  type?: string;
  queue?: string;
  ownerId?: string;
  /** At most 10,000. */
  ids?: string[];
  createdAfter?: Date;
  createdBefore?: Date;
  finishedAfter?: Date;
  finishedBefore?: Date;
}

/** One `bulk_jobs` call: the count of a dry run, or one batch's work. */
export interface BulkBatch {
  matched: number;
  affected: number;
  more: boolean;
}

/** A job as clients see it. */
export interface JobDetails {
  id: string;
  type: string;
  queue: string;
  status: JobStatus;
  priority: number;
  input: unknown;
  progress: unknown;
  result: unknown;
  error: ErrorJson | null;
  attempts: number;
  maxAttempts: number;
  runAt: Date;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  cancelRequestedAt: Date | null;
  idempotencyKey: string | null;
  expiresAt: Date | null;
  /** The job whose handler enqueued this one (ctx.enqueue), or null. */
  parentId: string | null;
  /** The jobs this one's handler enqueued, in the order it enqueued them. */
  children: JobChild[];
}

/** A follow-up job, as its parent's details list it. */
export interface JobChild {
  id: string;
  type: string;
  status: JobStatus;
}

export interface ListJobsFilter {
  status?: JobStatus;
  type?: string;
  queue?: string;
  /** Cursor: the createdAt and id of the last job of the previous page. */
  before?: { createdAt: Date; id: string };
  /** 1-1000, default 50. */
  limit?: number;
}

/** A job a worker has claimed: it holds the lease until `lockedUntil`. */
export interface ClaimedJob {
  id: string;
  type: string;
  queue: string;
  input: unknown;
  priority: number;
  /** This run's number (attempts so far, counting this one). */
  attempt: number;
  maxAttempts: number;
  leaseToken: string;
  lockedUntil: Date;
  progress: unknown;
  checkpoint: unknown;
  runAt: Date;
  createdAt: Date;
  idempotencyKey: string | null;
  ownerId: string | null;
  cancelRequested: boolean;
}

export interface ClaimRequest {
  workerId: string;
  /** Only jobs of these types are claimed (the worker's registry). */
  types: string[];
  /** 1-1000. */
  limit: number;
  leaseMs: number;
  /** Only these queues; default all. */
  queues?: string[];
}

/** A job and the lease token that proves this worker holds it. */
export interface Lease {
  id: string;
  leaseToken: string;
}

export interface CompleteItem extends Lease {
  result?: unknown;
  progress?: unknown;
  /**
   * Follow-up jobs (at most 1000), written in the completion's transaction: only if the job is
   * completed, owned by its owner, each recording it as its parent.
   */
  children?: EnqueueSpec[];
}

export interface FailItem extends Lease {
  error: ErrorJson;
  /** No retry: the job goes to failed. */
  permanent?: boolean;
  /** Retry at this time instead of after the backoff delay. */
  retryAt?: Date;
  /** The handler's latest progress, kept on the job. */
  progress?: unknown;
}

export interface HandBackItem extends Lease {
  checkpoint?: unknown;
  progress?: unknown;
}

export interface ProgressItem extends Lease {
  progress?: unknown;
  checkpoint?: unknown;
}

/**
 * `completed` or `lease_lost`; when its children were refused, the job is not completed but
 * failed (error code `children_refused`), and the outcome is that failure's.
 */
export type CompleteOutcome = { id: string; outcome: 'completed' | 'lease_lost' | 'retrying' | 'failed' | 'cancelled' };
export type FailOutcome = { id: string; outcome: 'retrying' | 'failed' | 'cancelled' | 'lease_lost'; runAt: Date | null };
export type HandBackOutcome = { id: string; outcome: 'queued' | 'cancelled' | 'lease_lost' };
export type HeartbeatOutcome = { id: string; outcome: 'extended' | 'lease_lost'; lockedUntil: Date | null; cancelRequested: boolean };
export type ProgressOutcome = { id: string; outcome: 'saved' | 'lease_lost'; cancelRequested: boolean };
export type ReapOutcome = { id: string; outcome: 'retrying' | 'failed' | 'cancelled' | 'lease_lost'; runAt: Date | null };

/** Counts a drain reports when it finishes. */
export interface WorkerRunSummary {
  claimed: number;
  completed: number;
  failed: number;
  retried: number;
  cancelled: number;
  handedBack: number;
  leaseLost: number;
  stopReason: string;
}

export interface QueueStats {
  queue: string;
  type: string;
  ready: number;
  scheduled: number;
  processing: number;
  /** Completed, failed and cancelled within the window asked for (getQueueStats' finishedWithinMs). */
  completed: number;
  failed: number;
  cancelled: number;
  oldestReadyAt: Date | null;
}

export interface QueueHealth {
  ready: number;
  scheduled: number;
  processing: number;
  oldestReadyAgeMs: number | null;
  lastRunStartedAt: Date | null;
  lastRunFinishedAt: Date | null;
  lastRunStatus: 'running' | 'succeeded' | 'failed' | 'lost' | null;
  lastSuccessAt: Date | null;
  consecutiveFailedRuns: number;
  /** When a worker was last seen: a run started or finished, or a drain that found nothing (which leaves no run record). */
  lastSeenAt: Date | null;
  /**
   * Ready jobs whose type no worker seen in the last 10 minutes runs (counted here, not in `ready`
   * or `oldestReadyAgeMs`). Always 0 where no worker has registered its types.
   */
  unhandled: number;
  /** The types of those jobs. */
  unhandledTypes: string[];
}

export interface RetryFailedFilter {
  jobId?: string;
  type?: string;
  queue?: string;
  failedAfter?: Date;
  failedBefore?: Date;
}

export interface QueueSettings {
  name: string;
  concurrencyLimit: number | null;
  paused: boolean;
}

/** Calls for clients: signed-in users (their own jobs) and the server. */
export interface ClientStore {
  /**
   * Whom the calls act as: 'user' (an end user's identity: their own jobs, no server-only
   * options) or 'service'. Undefined is taken as 'service'.
   */
  readonly actsAs?: 'service' | 'user';
  enqueueJobs(specs: EnqueueSpec[]): Promise<EnqueuedJob[]>;
  getJob(id: string): Promise<JobDetails | null>;
  listJobs(filter?: ListJobsFilter): Promise<JobDetails[]>;
  cancelJob(id: string): Promise<JobDetails>;
}

/** Calls for workers (service role). */
export interface WorkerStore {
  claimJobs(request: ClaimRequest): Promise<ClaimedJob[]>;
  /**
   * The queues with a concurrency limit that hold ready jobs of these types: after a short claim,
   * jobs that wait for a free slot rather than an empty queue.
   */
  getWaitingLimitedQueues(types: string[], queues?: string[]): Promise<string[]>;
  heartbeatJobs(leases: Lease[], leaseMs: number): Promise<HeartbeatOutcome[]>;
  saveJobProgress(items: ProgressItem[]): Promise<ProgressOutcome[]>;
  completeJobs(items: CompleteItem[]): Promise<CompleteOutcome[]>;
  failJobs(items: FailItem[]): Promise<FailOutcome[]>;
  handBackJobs(items: HandBackItem[]): Promise<HandBackOutcome[]>;
  reapExpiredLeases(limit?: number): Promise<ReapOutcome[]>;
  /**
   * Records a drain's start. With `workerName` and `types`, also marks that worker as seen for
   * each of those types (see {@link registerJobTypes}).
   */
  startWorkerRun(run: { workerId: string; trigger: string; deadline: Date | null; workerName?: string; types?: string[] }): Promise<string>;
  /** Writes job types into the database's registry; with `workerName`, that worker runs exactly these. Returns how many. */
  registerJobTypes(types: JobTypeRecord[], workerName?: string | null): Promise<number>;
  finishWorkerRun(runId: string, summary: WorkerRunSummary, error?: ErrorJson | null): Promise<void>;
  /** Schedules due at `asOf` (default now), and those whose next fire time is not computed yet. */
  getDueSchedules(asOf?: Date): Promise<DueSchedule[]>;
  /**
   * Fires a due schedule: when its next fire time is still `expected`, moves it to `next` and
   * enqueues a run for each of `fires` by its overlap policy (jobId null: skipped). Answers
   * nothing when another drain fired it first.
   */
  fireSchedule(name: string, expected: Date | null, fires: Date[], next: Date): Promise<Array<{ fireAt: Date; jobId: string | null }>>;
  /**
   * Per registered type: most completed and failed jobs kept (null: by time only) and the retry
   * backoff factor (null: 2). Returns how many types changed.
   */
  setTypePolicies(types: Array<{ type: string; keepCompleted: number | null; keepFailed: number | null; backoffFactor: number | null; webhookUrl?: string | null }>): Promise<number>;
  /** The app's schedules: creates, updates, retires those no longer listed. */
  registerSchedules(schedules: ScheduleDefinition[]): Promise<Array<{ name: string; created: boolean; retired: boolean }>>;
  /** True for the one worker that should evaluate the alert conditions now (at most once per `everyMs` across workers). */
  claimAlertCheck(everyMs: number): Promise<boolean>;
  /** Records evaluated alert conditions; enqueues a signed delivery to `url` for each change worth telling (see record_alerts). */
  recordAlerts(conditions: AlertCondition[], url: string, minIntervalMs: number): Promise<Array<{ key: string; event: 'alert.firing' | 'alert.resolved'; deliveryId: string }>>;
}

/** Calls for operators (service role, dashboard). */
export interface OperatorStore {
  /**
   * Per queue and type: the live jobs, and those that finished within `finishedWithinMs`
   * (default an hour, at most 31 days). Index-driven: no scan of the retained jobs.
   */
  getQueueStats(finishedWithinMs?: number): Promise<QueueStats[]>;
  getQueueHealth(): Promise<QueueHealth>;
  retryFailedJobs(filter?: RetryFailedFilter): Promise<number>;
  /**
   * One batch of a bulk action (`bulk_jobs`): with `dryRun` (the default), only counts the jobs
   * it applies to (`matched`); else acts on at most `maxRows` (1-10000, default 1000) of them in
   * one transaction, recorded with `actor`, and says whether more are left. See {@link bulkAction}.
   */
  bulkJobs(action: BulkAction, filter: BulkFilter, options?: { dryRun?: boolean; maxRows?: number; actor?: string }): Promise<BulkBatch>;
  purgeJobs(options?: { olderThanMs?: number; limit?: number }): Promise<number>;
  purgeWorkerRuns(olderThanMs?: number): Promise<number>;
  pauseQueue(queue: string): Promise<QueueSettings>;
  resumeQueue(queue: string): Promise<QueueSettings>;
  setQueueConcurrency(queue: string, limit: number | null): Promise<QueueSettings>;
  /** Drains running now (unfinished worker runs before their deadline). */
  countRunningWorkers(): Promise<number>;
  /** True for the one caller that may kick a worker now (shared throttle, none while a drain runs). */
  claimWorkerKick(): Promise<boolean>;
  /** Per type and per schedule: runs over the window (default 24 h), the failure streak, durations. */
  getTypeStats(sinceMs?: number): Promise<TypeStats[]>;
  listSchedules(): Promise<ScheduleStatus[]>;
  /** null: no such schedule. */
  pauseSchedule(name: string): Promise<ScheduleStatus | null>;
  /** null: no such schedule, or it was not paused. */
  resumeSchedule(name: string): Promise<ScheduleStatus | null>;
  /** One run now (overlap policy unless `force`); jobId null when the policy held it back. */
  triggerSchedule(name: string, force?: boolean): Promise<{ jobId: string | null }>;
  deleteSchedule(name: string): Promise<boolean>;
  /** The console's job list: every owner's jobs, newest first, at most 5,000 read per call (see {@link ConsoleJobsPage}). */
  consoleJobs(filter?: ConsoleJobsFilter, options?: { before?: { createdAt: Date; id: string }; limit?: number }): Promise<ConsoleJobsPage>;
  /** Everything about one job; null: no such job. */
  consoleJob(id: string): Promise<ConsoleJob | null>;
  /** Jobs that ended per bucket (default each minute of the last hour). */
  getThroughput(sinceMs?: number, bucketSeconds?: number): Promise<ThroughputBucket[]>;
  /** The queues with settings (a limit or a pause, now or before). */
  listQueues(): Promise<QueueSettings[]>;
  /** Drains, newest first; `beforeId` (the last run of a page) pages on. */
  listWorkerRuns(options?: { limit?: number; beforeId?: string }): Promise<WorkerRunRecord[]>;
  listOperatorActions(options?: { limit?: number; beforeId?: number }): Promise<OperatorActionRecord[]>;
  /**
   * One queue or schedule action, recorded with `actor` (`operator_action`): `value` is the
   * concurrency limit (null: none), or 1 to trigger a schedule even while a run is live.
   */
  operatorAction(action: QueueAction | ScheduleAction, target: string, value?: number | null, actor?: string): Promise<Record<string, unknown>>;
}

/** A job type's (or, with `schedule`, a schedule's) run history (`get_type_stats`). */
export interface TypeStats {
  type: string;
  /** null: the type as a whole. */
  schedule: string | null;
  /** Runs that ended within the window, and how. */
  runs: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Failed runs since the latest completed one (among the latest 100). */
  consecutiveFailures: number;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  /** The last attempt's duration over the window's runs (null without runs). */
  durationMs: { p50: number; p95: number; avg: number } | null;
  runsPerMinute: number;
}

/** A schedule as operators see it (`list_schedules`). */
export interface ScheduleStatus {
  name: string;
  cron: string;
  timezone: string;
  type: string;
  state: 'active' | 'paused' | 'retired';
  nextFireAt: Date | null;
  lastFireAt: Date | null;
  overlap: string;
  catchUp: string;
  fired: number;
  skipped: number;
  lastJob: { id: string; status: JobStatus; finishedAt: Date | null; error: string | null } | null;
}

/** The console's job list filter (`console_jobs`). */
export interface ConsoleJobsFilter {
  status?: JobStatus;
  type?: string;
  queue?: string;
  ownerId?: string;
  /** One job by id. */
  id?: string;
  /** The jobs whose id starts with these 6-32 hex digits (the 8 the console shows). */
  idPrefix?: string;
  /** The jobs holding this idempotency key (any type or owner). */
  idempotencyKey?: string;
  createdAfter?: Date;
  createdBefore?: Date;
}

/** A job as a row of the console's list. */
export interface ConsoleJobRow {
  id: string;
  type: string;
  queue: string;
  status: JobStatus;
  priority: number;
  attempts: number;
  maxAttempts: number;
  runAt: Date;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  cancelRequestedAt: Date | null;
  ownerId: string | null;
  idempotencyKey: string | null;
  parentId: string | null;
  /** The last error's message. */
  error: string | null;
}

/** One page of `console_jobs`: at most 5,000 jobs are read per call; `next` goes on from there. */
export interface ConsoleJobsPage {
  jobs: ConsoleJobRow[];
  /** How many jobs this call walked past (the filter kept `jobs` of them). */
  scanned: number;
  next: { createdAt: Date; id: string } | null;
}

/** One delivery of a job's webhook (an edgejobs.webhook job). */
export interface WebhookDelivery {
  id: string;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  url: string;
  event: string;
  runAt: Date;
  finishedAt: Date | null;
  errors: ErrorJson[];
}

/** Everything about one job (`console_job`). */
export interface ConsoleJob extends Omit<ConsoleJobRow, 'error'> {
  input: unknown;
  progress: unknown;
  checkpoint: unknown;
  result: unknown;
  error: ErrorJson | null;
  /** Every failed attempt's error, oldest first. */
  errors: ErrorJson[];
  lockedBy: string | null;
  lockedUntil: Date | null;
  updatedAt: Date;
  expiresAt: Date | null;
  keepForMs: number;
  singletonKey: string | null;
  scheduleName: string | null;
  scheduledFor: Date | null;
  webhookUrl: string | null;
  backoffBaseMs: number;
  backoffMaxMs: number;
  parent: JobChild | null;
  children: JobChild[];
  deliveries: WebhookDelivery[];
}

export interface ThroughputBucket {
  start: Date;
  completed: number;
  failed: number;
  cancelled: number;
}

/** A drain as operators see it (`list_worker_runs`). */
export interface WorkerRunRecord {
  id: string;
  workerId: string;
  trigger: string;
  status: 'running' | 'succeeded' | 'failed' | 'lost';
  startedAt: Date;
  deadlineAt: Date | null;
  finishedAt: Date | null;
  claimed: number;
  completed: number;
  failed: number;
  retried: number;
  cancelled: number;
  handedBack: number;
  leaseLost: number;
  stopReason: string | null;
  error: ErrorJson | null;
}

/** What an operator did (`edgejobs.operator_actions`). */
export interface OperatorActionRecord {
  id: number;
  at: Date;
  actor: string;
  action: string;
  filter: Record<string, unknown>;
  affected: number;
}

export type QueueAction = 'pause_queue' | 'resume_queue' | 'set_queue_concurrency';
export type ScheduleAction = 'pause_schedule' | 'resume_schedule' | 'trigger_schedule';

/** An alert condition as a worker evaluated it (`record_alerts`). */
export interface AlertCondition {
  /** health, type:<type> or schedule:<name>. */
  key: string;
  firing: boolean;
  summary?: string;
  details?: Record<string, unknown>;
}

/** The whole SQL API. */
export interface Store extends ClientStore, WorkerStore, OperatorStore {}
