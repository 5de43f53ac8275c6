/**
 * Every call into the SQL API, described once: the function, its named arguments with their SQL
 * types, how a store method's arguments become them, the shape of the answer and how it becomes
 * the method's result. The adapters implement only how to make one call (a statement on
 * postgres.js, an `rpc()` on supabase-js): see {@link storeFromCalls}. The security test reads
 * `who` from the same table.
 */
import {
  fromClaimedRow, fromEnqueuedRow, fromFailRow, fromHealthRow, fromHeartbeatRow, fromJobRow, fromOutcomeRow,
  fromDueScheduleRow, fromProgressRow, fromQueueRow, fromQueueStatsRow, fromScheduleRow, fromTypeStatsRow, toSqlSchedule,
  fromConsoleJob, fromConsolePage, fromOperatorActionRow, fromThroughputRow, fromWorkerRunRow,
  intervalFromMs, leaseSeconds, toSqlComplete, toSqlFail, toSqlJobSpec, toSqlJobType, toSqlLease, toSqlProgress,
} from './rows.ts';
import type { CompleteOutcome, HandBackOutcome, Store } from './store.ts';

type Row = Record<string, unknown>;

/** How an argument is typed in SQL: the direct adapter casts to it; PostgREST reads the signature. */
export type SqlType = 'jsonb' | 'text' | 'text[]' | 'uuid' | 'integer' | 'timestamptz' | 'timestamptz[]' | 'interval' | 'boolean';

/** One SQL API function as the store calls it. */
export interface SqlCall<In extends unknown[] = unknown[], Out = unknown> {
  /** The function in `public`. */
  fn: string;
  /** Who may call it: end users and the server ('client'), or the service role only. */
  who: 'client' | 'service';
  /** Named arguments in the order they are sent, with their SQL types. */
  args: Record<string, SqlType>;
  /** The argument values, by name (JSON-ready: ISO strings for times, strings for intervals). */
  input(...args: In): Record<string, unknown>;
  /** `rows` for set-returning and composite functions, `value` for a scalar. */
  returns: 'rows' | 'value';
  /** The method's result from the rows (or the value). */
  output(answer: unknown): Out;
}

const call = <In extends unknown[], Out>(c: SqlCall<In, Out>) => c;
const rows = (answer: unknown) => answer as Row[];
const iso = (date: Date | null | undefined) => date?.toISOString() ?? null;

/** The SQL API, one entry per store method. */
export const SQL_API = {
  enqueueJobs: call({
    fn: 'enqueue_jobs', who: 'client', args: { jobs: 'jsonb' }, returns: 'rows',
    input: (specs: Parameters<Store['enqueueJobs']>[0]) => ({ jobs: specs.map(toSqlJobSpec) }),
    output: (a) => rows(a).map(fromEnqueuedRow),
  }),
  getJob: call({
    fn: 'get_job', who: 'client', args: { job_id: 'uuid' }, returns: 'rows',
    input: (id: string) => ({ job_id: id }),
    output: (a) => (rows(a)[0] ? fromJobRow(rows(a)[0]!) : null),
  }),
  listJobs: call({
    fn: 'list_jobs', who: 'client', returns: 'rows',
    args: { status: 'text', type: 'text', queue: 'text', before_created_at: 'timestamptz', before_id: 'uuid', max_rows: 'integer' },
    input: (filter: Parameters<Store['listJobs']>[0] = {}) => ({
      status: filter.status ?? null, type: filter.type ?? null, queue: filter.queue ?? null,
      before_created_at: iso(filter.before?.createdAt), before_id: filter.before?.id ?? null, max_rows: filter.limit ?? 50,
    }),
    output: (a) => rows(a).map(fromJobRow),
  }),
  cancelJob: call({
    fn: 'cancel_job', who: 'client', args: { job_id: 'uuid' }, returns: 'rows',
    input: (id: string) => ({ job_id: id }),
    output: (a) => fromJobRow(rows(a)[0] as Row),
  }),

  claimJobs: call({
    fn: 'claim_jobs', who: 'service', returns: 'rows',
    args: { worker_id: 'text', job_types: 'text[]', max_jobs: 'integer', lease_seconds: 'integer', queues: 'text[]' },
    input: (r: Parameters<Store['claimJobs']>[0]) => ({
      worker_id: r.workerId, job_types: r.types, max_jobs: r.limit, lease_seconds: leaseSeconds(r.leaseMs), queues: r.queues ?? null,
    }),
    output: (a) => rows(a).map(fromClaimedRow),
  }),
  getWaitingLimitedQueues: call({
    fn: 'get_waiting_limited_queues', who: 'service', args: { job_types: 'text[]', queues: 'text[]' }, returns: 'value',
    input: (types: string[], queues?: string[]) => ({ job_types: types, queues: queues ?? null }),
    output: (a) => (Array.isArray(a) ? a.map(String) : []),
  }),
  heartbeatJobs: call({
    fn: 'heartbeat_jobs', who: 'service', args: { jobs: 'jsonb', lease_seconds: 'integer' }, returns: 'rows',
    input: (leases: Parameters<Store['heartbeatJobs']>[0], leaseMs: number) => ({ jobs: leases.map(toSqlLease), lease_seconds: leaseSeconds(leaseMs) }),
    output: (a) => rows(a).map(fromHeartbeatRow),
  }),
  saveJobProgress: call({
    fn: 'save_job_progress', who: 'service', args: { jobs: 'jsonb' }, returns: 'rows',
    input: (items: Parameters<Store['saveJobProgress']>[0]) => ({ jobs: items.map(toSqlProgress) }),
    output: (a) => rows(a).map(fromProgressRow),
  }),
  completeJobs: call({
    fn: 'complete_jobs', who: 'service', args: { jobs: 'jsonb' }, returns: 'rows',
    input: (items: Parameters<Store['completeJobs']>[0]) => ({ jobs: items.map(toSqlComplete) }),
    output: (a) => rows(a).map((r) => fromOutcomeRow<CompleteOutcome>(r)),
  }),
  failJobs: call({
    fn: 'fail_jobs', who: 'service', args: { jobs: 'jsonb' }, returns: 'rows',
    input: (items: Parameters<Store['failJobs']>[0]) => ({ jobs: items.map(toSqlFail) }),
    output: (a) => rows(a).map(fromFailRow),
  }),
  handBackJobs: call({
    fn: 'hand_back_jobs', who: 'service', args: { jobs: 'jsonb' }, returns: 'rows',
    input: (items: Parameters<Store['handBackJobs']>[0]) => ({ jobs: items.map(toSqlProgress) }),
    output: (a) => rows(a).map((r) => fromOutcomeRow<HandBackOutcome>(r)),
  }),
  reapExpiredLeases: call({
    fn: 'reap_expired_leases', who: 'service', args: { max_jobs: 'integer' }, returns: 'rows',
    input: (limit: number = 1000) => ({ max_jobs: limit }),
    output: (a) => rows(a).map(fromFailRow),
  }),
  startWorkerRun: call({
    fn: 'start_worker_run', who: 'service', returns: 'value',
    args: { worker_id: 'text', trigger: 'text', deadline_at: 'timestamptz', worker_name: 'text', job_types: 'text[]' },
    input: (run: Parameters<Store['startWorkerRun']>[0]) => ({
      worker_id: run.workerId, trigger: run.trigger, deadline_at: iso(run.deadline), worker_name: run.workerName ?? null, job_types: run.types ?? null,
    }),
    output: (a) => String(a),
  }),
  registerJobTypes: call({
    fn: 'register_job_types', who: 'service', args: { types: 'jsonb', worker_name: 'text' }, returns: 'value',
    input: (types: Parameters<Store['registerJobTypes']>[0], workerName: string | null = null) => ({ types: types.map(toSqlJobType), worker_name: workerName }),
    output: (a) => Number(a),
  }),
  finishWorkerRun: call({
    fn: 'finish_worker_run', who: 'service', args: { run_id: 'uuid', summary: 'jsonb', error: 'jsonb' }, returns: 'value',
    input: (runId: string, s: Parameters<Store['finishWorkerRun']>[1], error: Parameters<Store['finishWorkerRun']>[2] = null) => ({
      run_id: runId,
      summary: {
        claimed: s.claimed, completed: s.completed, failed: s.failed, retried: s.retried, cancelled: s.cancelled,
        handed_back: s.handedBack, lease_lost: s.leaseLost, stop_reason: s.stopReason,
      },
      error: error ?? null,
    }),
    output: (): void => undefined,
  }),

  getQueueStats: call({
    fn: 'get_queue_stats', who: 'service', args: { finished_within: 'interval' }, returns: 'rows',
    input: (finishedWithinMs: number = 3600 * 1000) => ({ finished_within: intervalFromMs(finishedWithinMs) }),
    output: (a) => rows(a).map(fromQueueStatsRow),
  }),
  getQueueHealth: call({
    fn: 'get_queue_health', who: 'service', args: {}, returns: 'rows',
    input: () => ({}),
    output: (a) => fromHealthRow(rows(a)[0] as Row),
  }),
  retryFailedJobs: call({
    fn: 'retry_failed_jobs', who: 'service', returns: 'value',
    args: { job_id: 'uuid', type: 'text', queue: 'text', failed_after: 'timestamptz', failed_before: 'timestamptz' },
    input: (f: Parameters<Store['retryFailedJobs']>[0] = {}) => ({
      job_id: f.jobId ?? null, type: f.type ?? null, queue: f.queue ?? null, failed_after: iso(f.failedAfter), failed_before: iso(f.failedBefore),
    }),
    output: (a) => Number(a),
  }),
  bulkJobs: call({
    fn: 'bulk_jobs', who: 'service', returns: 'rows',
    args: { action: 'text', filter: 'jsonb', dry_run: 'boolean', max_rows: 'integer', actor: 'text' },
    input: (action: Parameters<Store['bulkJobs']>[0], f: Parameters<Store['bulkJobs']>[1], o: Parameters<Store['bulkJobs']>[2] = {}) => ({
      action,
      filter: Object.fromEntries(Object.entries({
        status: f.status, type: f.type, queue: f.queue, owner_id: f.ownerId, ids: f.ids,
        created_after: iso(f.createdAfter) ?? undefined, created_before: iso(f.createdBefore) ?? undefined,
        finished_after: iso(f.finishedAfter) ?? undefined, finished_before: iso(f.finishedBefore) ?? undefined,
      }).filter(([, v]) => v !== undefined)),
      dry_run: o.dryRun ?? true, max_rows: o.maxRows ?? 1000, actor: o.actor ?? null,
    }),
    output: (a) => {
      const r = rows(a)[0] as Row;
      return { matched: Number(r.matched), affected: Number(r.affected), more: Boolean(r.more) };
    },
  }),
  purgeJobs: call({
    fn: 'purge_jobs', who: 'service', args: { older_than: 'interval', max_rows: 'integer' }, returns: 'value',
    input: (o: Parameters<Store['purgeJobs']>[0] = {}) => ({
      older_than: o.olderThanMs === undefined ? null : intervalFromMs(o.olderThanMs), max_rows: o.limit ?? 10000,
    }),
    output: (a) => Number(a),
  }),
  purgeWorkerRuns: call({
    fn: 'purge_worker_runs', who: 'service', args: { older_than: 'interval' }, returns: 'value',
    input: (olderThanMs: number = 7 * 24 * 3600 * 1000) => ({ older_than: intervalFromMs(olderThanMs) }),
    output: (a) => Number(a),
  }),
  pauseQueue: call({
    fn: 'pause_queue', who: 'service', args: { queue: 'text' }, returns: 'rows',
    input: (queue: string) => ({ queue }),
    output: (a) => fromQueueRow(rows(a)[0] as Row),
  }),
  resumeQueue: call({
    fn: 'resume_queue', who: 'service', args: { queue: 'text' }, returns: 'rows',
    input: (queue: string) => ({ queue }),
    output: (a) => fromQueueRow(rows(a)[0] as Row),
  }),
  setQueueConcurrency: call({
    fn: 'set_queue_concurrency', who: 'service', args: { queue: 'text', concurrency_limit: 'integer' }, returns: 'rows',
    input: (queue: string, limit: number | null) => ({ queue, concurrency_limit: limit }),
    output: (a) => fromQueueRow(rows(a)[0] as Row),
  }),
  countRunningWorkers: call({
    fn: 'count_running_workers', who: 'service', args: {}, returns: 'value',
    input: () => ({}),
    output: (a) => Number(a),
  }),
  claimWorkerKick: call({
    fn: 'claim_worker_kick', who: 'service', args: {}, returns: 'value',
    input: () => ({}),
    output: (a) => a === true,
  }),

  getDueSchedules: call({
    fn: 'get_due_schedules', who: 'service', args: { as_of: 'timestamptz' }, returns: 'rows',
    input: (asOf: Date = new Date()) => ({ as_of: iso(asOf) }),
    output: (a) => rows(a).map(fromDueScheduleRow),
  }),
  fireSchedule: call({
    fn: 'fire_schedule', who: 'service', returns: 'rows',
    args: { name: 'text', expected_next_fire_at: 'timestamptz', fire_times: 'timestamptz[]', next_fire_at: 'timestamptz' },
    input: (name: string, expected: Date | null, fires: Date[], next: Date) => ({
      name, expected_next_fire_at: iso(expected), fire_times: fires.map((f) => f.toISOString()), next_fire_at: iso(next),
    }),
    output: (a) => rows(a).map((r) => ({ fireAt: new Date(r.fire_at as string), jobId: (r.job_id as string | null) ?? null })),
  }),
  setTypePolicies: call({
    fn: 'set_type_policies', who: 'service', args: { types: 'jsonb' }, returns: 'rows',
    input: (types: Parameters<Store['setTypePolicies']>[0]) => ({
      types: types.map((t) => ({ type: t.type, keep_completed: t.keepCompleted, keep_failed: t.keepFailed, backoff_factor: t.backoffFactor, webhook_url: t.webhookUrl ?? null })),
    }),
    output: (a) => rows(a).length,
  }),
  registerSchedules: call({
    fn: 'register_schedules', who: 'service', args: { schedules: 'jsonb' }, returns: 'rows',
    input: (schedules: Parameters<Store['registerSchedules']>[0]) => ({ schedules: schedules.map(toSqlSchedule) }),
    output: (a) => rows(a).map((r) => ({ name: String(r.name), created: r.created === true, retired: r.retired === true })),
  }),
  getTypeStats: call({
    fn: 'get_type_stats', who: 'service', args: { since: 'interval' }, returns: 'rows',
    input: (sinceMs: number = 24 * 3600 * 1000) => ({ since: intervalFromMs(sinceMs) }),
    output: (a) => rows(a).map(fromTypeStatsRow),
  }),
  listSchedules: call({
    fn: 'list_schedules', who: 'service', args: {}, returns: 'rows',
    input: () => ({}),
    output: (a) => rows(a).map(fromScheduleRow),
  }),
  pauseSchedule: call({
    fn: 'pause_schedule', who: 'service', args: { name: 'text' }, returns: 'rows',
    input: (name: string) => ({ name }),
    output: (a) => (rows(a)[0] ? fromScheduleRow({ ...rows(a)[0], state: 'paused' }) : null),
  }),
  resumeSchedule: call({
    fn: 'resume_schedule', who: 'service', args: { name: 'text' }, returns: 'rows',
    input: (name: string) => ({ name }),
    output: (a) => (rows(a)[0] ? fromScheduleRow({ ...rows(a)[0], state: rows(a)[0]!.retired_at ? 'retired' : 'active' }) : null),
  }),
  triggerSchedule: call({
    fn: 'trigger_schedule', who: 'service', args: { name: 'text', force: 'boolean' }, returns: 'rows',
    input: (name: string, force: boolean = false) => ({ name, force }),
    output: (a) => ({ jobId: (rows(a)[0]?.job_id as string | null | undefined) ?? null }),
  }),
  deleteSchedule: call({
    fn: 'delete_schedule', who: 'service', args: { name: 'text' }, returns: 'value',
    input: (name: string) => ({ name }),
    output: (a) => a === true,
  }),

  consoleJobs: call({
    fn: 'console_jobs', who: 'service', returns: 'value',
    args: { filter: 'jsonb', before_created_at: 'timestamptz', before_id: 'uuid', max_rows: 'integer' },
    input: (f: Parameters<Store['consoleJobs']>[0] = {}, o: Parameters<Store['consoleJobs']>[1] = {}) => ({
      filter: Object.fromEntries(Object.entries({
        status: f.status, type: f.type, queue: f.queue, owner_id: f.ownerId, id: f.id, id_prefix: f.idPrefix, idempotency_key: f.idempotencyKey,
        created_after: iso(f.createdAfter) ?? undefined, created_before: iso(f.createdBefore) ?? undefined,
      }).filter(([, v]) => v !== undefined)),
      before_created_at: iso(o.before?.createdAt), before_id: o.before?.id ?? null, max_rows: o.limit ?? 50,
    }),
    output: fromConsolePage,
  }),
  consoleJob: call({
    fn: 'console_job', who: 'service', args: { job_id: 'uuid' }, returns: 'value',
    input: (id: string) => ({ job_id: id }),
    output: fromConsoleJob,
  }),
  getThroughput: call({
    fn: 'get_throughput', who: 'service', args: { since: 'interval', bucket_seconds: 'integer' }, returns: 'rows',
    input: (sinceMs: number = 3600 * 1000, bucketSeconds: number = 60) => ({ since: intervalFromMs(sinceMs), bucket_seconds: bucketSeconds }),
    output: (a) => rows(a).map(fromThroughputRow),
  }),
  listQueues: call({
    fn: 'list_queues', who: 'service', args: {}, returns: 'rows',
    input: () => ({}),
    output: (a) => rows(a).map(fromQueueRow),
  }),
  listWorkerRuns: call({
    fn: 'list_worker_runs', who: 'service', args: { max_rows: 'integer', before_id: 'uuid' }, returns: 'rows',
    input: (o: Parameters<Store['listWorkerRuns']>[0] = {}) => ({ max_rows: o.limit ?? 50, before_id: o.beforeId ?? null }),
    output: (a) => rows(a).map(fromWorkerRunRow),
  }),
  listOperatorActions: call({
    fn: 'list_operator_actions', who: 'service', args: { max_rows: 'integer', before_id: 'integer' }, returns: 'rows',
    input: (o: Parameters<Store['listOperatorActions']>[0] = {}) => ({ max_rows: o.limit ?? 50, before_id: o.beforeId ?? null }),
    output: (a) => rows(a).map(fromOperatorActionRow),
  }),
  operatorAction: call({
    fn: 'operator_action', who: 'service', args: { action: 'text', target: 'text', value: 'integer', actor: 'text' }, returns: 'value',
    input: (action: Parameters<Store['operatorAction']>[0], target: string, value: number | null = null, actor: string | null = null) =>
      ({ action, target, value, actor }),
    output: (a) => (a ?? {}) as Record<string, unknown>,
  }),
  claimAlertCheck: call({
    fn: 'claim_alert_check', who: 'service', args: { every: 'interval' }, returns: 'value',
    input: (everyMs: number) => ({ every: intervalFromMs(everyMs) }),
    output: (a) => a === true,
  }),
  recordAlerts: call({
    fn: 'record_alerts', who: 'service', args: { conditions: 'jsonb', url: 'text', min_interval: 'interval' }, returns: 'rows',
    input: (conditions: Parameters<Store['recordAlerts']>[0], url: string, minIntervalMs: number) => ({
      conditions: conditions.map((c) => ({ key: c.key, firing: c.firing, summary: c.summary ?? '', details: c.details ?? {} })),
      url, min_interval: intervalFromMs(minIntervalMs),
    }),
    output: (a) => rows(a).map((r) => ({ key: String(r.key), event: r.event as 'alert.firing' | 'alert.resolved', deliveryId: String(r.delivery_id) })),
  }),
} as const;

/** Makes one call: the only thing an adapter implements. */
export type RunCall = (call: SqlCall, values: Record<string, unknown>) => Promise<unknown>;

/** A {@link Store} whose every method is one call of {@link SQL_API} through `run`. */
export function storeFromCalls(run: RunCall): Store {
  const method = <In extends unknown[], Out>(c: SqlCall<In, Out>) =>
    async (...args: In): Promise<Out> => c.output(await run(c as unknown as SqlCall, c.input(...args)));
  return {
    enqueueJobs: method(SQL_API.enqueueJobs),
    getJob: method(SQL_API.getJob),
    listJobs: method(SQL_API.listJobs),
    cancelJob: method(SQL_API.cancelJob),
    claimJobs: method(SQL_API.claimJobs),
    getWaitingLimitedQueues: method(SQL_API.getWaitingLimitedQueues),
    heartbeatJobs: method(SQL_API.heartbeatJobs),
    saveJobProgress: method(SQL_API.saveJobProgress),
    completeJobs: method(SQL_API.completeJobs),
    failJobs: method(SQL_API.failJobs),
    handBackJobs: method(SQL_API.handBackJobs),
    reapExpiredLeases: method(SQL_API.reapExpiredLeases),
    startWorkerRun: method(SQL_API.startWorkerRun),
    registerJobTypes: method(SQL_API.registerJobTypes),
    finishWorkerRun: method(SQL_API.finishWorkerRun),
    getQueueStats: method(SQL_API.getQueueStats),
    getQueueHealth: method(SQL_API.getQueueHealth),
    retryFailedJobs: method(SQL_API.retryFailedJobs),
    bulkJobs: method(SQL_API.bulkJobs),
    purgeJobs: method(SQL_API.purgeJobs),
    purgeWorkerRuns: method(SQL_API.purgeWorkerRuns),
    pauseQueue: method(SQL_API.pauseQueue),
    resumeQueue: method(SQL_API.resumeQueue),
    setQueueConcurrency: method(SQL_API.setQueueConcurrency),
    countRunningWorkers: method(SQL_API.countRunningWorkers),
    claimWorkerKick: method(SQL_API.claimWorkerKick),
    getDueSchedules: method(SQL_API.getDueSchedules),
    fireSchedule: method(SQL_API.fireSchedule),
    setTypePolicies: method(SQL_API.setTypePolicies),
    registerSchedules: method(SQL_API.registerSchedules),
    getTypeStats: method(SQL_API.getTypeStats),
    listSchedules: method(SQL_API.listSchedules),
    pauseSchedule: method(SQL_API.pauseSchedule),
    resumeSchedule: method(SQL_API.resumeSchedule),
    triggerSchedule: method(SQL_API.triggerSchedule),
    deleteSchedule: method(SQL_API.deleteSchedule),
    consoleJobs: method(SQL_API.consoleJobs),
    consoleJob: method(SQL_API.consoleJob),
    getThroughput: method(SQL_API.getThroughput),
    listQueues: method(SQL_API.listQueues),
    listWorkerRuns: method(SQL_API.listWorkerRuns),
    listOperatorActions: method(SQL_API.listOperatorActions),
    operatorAction: method(SQL_API.operatorAction),
    claimAlertCheck: method(SQL_API.claimAlertCheck),
    recordAlerts: method(SQL_API.recordAlerts),
  };
}
