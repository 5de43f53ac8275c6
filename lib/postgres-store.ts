/**
 * The store on a direct Postgres connection (postgres.js): for the long-running worker, the
 * local dev runner, tests and benchmarks, and the Edge Function on SUPABASE_DB_URL. Each method
 * is one statement calling one SQL API function.
 */
import postgres from 'postgres';
import { EdgeJobsError } from './errors.ts';
import { fromDatabaseError } from './sql-errors.ts';
import {
  fromClaimedRow, fromEnqueuedRow, fromFailRow, fromHealthRow, fromHeartbeatRow, fromJobRow, fromOutcomeRow,
  fromProgressRow, fromQueueRow, fromQueueStatsRow,
  intervalFromMs, leaseSeconds, toSqlComplete, toSqlFail, toSqlJobSpec, toSqlJobType, toSqlLease, toSqlProgress,
} from './rows.ts';
import type { CompleteOutcome, HandBackOutcome, Store } from './store.ts';

type Sql = postgres.Sql<Record<string, never>>;
type Row = Record<string, unknown>;

/** Who the calls act as, like PostgREST does: a role and the JWT claims (auth.uid() = sub). */
export interface StoreAuth {
  role: 'anon' | 'authenticated' | 'service_role';
  claims: Record<string, unknown>;
}

export interface PostgresStoreOptions {
  /** A postgres.js client to use (not closed by `stop()`). Give this or `url`. */
  sql?: Sql;
  /** A connection string; the store makes (and `stop()` closes) its own client. */
  url?: string;
  /** Pool size when the store makes its client. Default 10. */
  max?: number;
  /**
   * Prepared statements. Default true; set false behind Supabase's transaction pooler
   * (port 6543), which does not support them.
   */
  prepare?: boolean;
  /** Act as this role and claims (RLS, auth.uid()); default: the connection's own role. */
  auth?: StoreAuth;
  /** The connections' name in pg_stat_activity when the store makes its client. Default 'edgejobs'. */
  applicationName?: string;
}

/** A {@link Store} on postgres.js, plus `withAuth()` and `stop()`. */
export interface PostgresStore extends Store {
  /** The same store acting as a user (or anon/service_role), as PostgREST would. */
  withAuth(auth: StoreAuth): PostgresStore;
  /** The underlying postgres.js client. */
  readonly sql: Sql;
  /**
   * Closes the client if the store created it: waits up to `timeoutMs` (default 5,000) for
   * queries in flight, then closes the connections anyway (after a Postgres restart, postgres.js
   * can hold a half-closed connection that would otherwise take the whole timeout).
   */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Creates the direct Postgres store.
 * @example
 * const store = createPostgresStore({ url: process.env.DATABASE_URL })
 * await store.enqueueJobs([{ type: 'email.send', input: { to } }])
 * await store.stop()
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresStore {
  if (!options.sql && !options.url) {
    throw new EdgeJobsError('configuration', 'createPostgresStore: give `sql` (a postgres.js client) or `url` (e.g. DATABASE_URL)');
  }
  const owned = !options.sql;
  const sql: Sql = options.sql ?? postgres(options.url as string, {
    max: options.max ?? 10,
    prepare: options.prepare ?? true,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'edgejobs' },
    backoff: reconnectDelaySeconds,
  });
  return makeStore(sql, owned, options.auth);
}

/**
 * Seconds before postgres.js tries to connect again after a failed connection: doubling from
 * 50 ms, never over a second. postgres.js's own default grows as 3^failures / 100 s up to 20 s, and
 * counts every failure of the pool: a worker that kept retrying through a 3.5 s Postgres restart
 * then waited 13 s longer than the outage for its next connection (measured in
 * tests/drain/outage.test.ts).
 */
export function reconnectDelaySeconds(failures: number): number {
  return Math.min(1, 0.05 * 2 ** failures) * (0.5 + Math.random() / 2);
}

function makeStore(sql: Sql, owned: boolean, auth: StoreAuth | undefined): PostgresStore {
  if (auth && !['anon', 'authenticated', 'service_role'].includes(auth.role)) {
    throw new EdgeJobsError('configuration', `createPostgresStore: auth.role must be anon, authenticated or service_role, not "${auth.role}"`);
  }

  /** Runs one SQL API call; with `auth`, inside a transaction that sets role and claims first. */
  async function call(name: string, run: (q: Sql) => Promise<Row[]>): Promise<Row[]> {
    try {
      if (!auth) return await run(sql);
      // As PostgREST does it: one transaction that sets the role and claims, then the call. The
      // four statements are pipelined on one connection, so a user's call costs one round trip
      // like a service call (COMMIT after a failed call just ends the aborted transaction).
      const c = await sql.reserve();
      try {
        const [begin, claims, rows, commit] = await Promise.allSettled([
          c`begin`,
          c`select set_config('role', ${auth.role}, true), set_config('request.jwt.claims', ${JSON.stringify(auth.claims)}, true)`,
          run(c as unknown as Sql),
          c`commit`,
        ]);
        for (const step of [begin, claims, rows, commit]) if (step.status === 'rejected') throw step.reason;
        return (rows as PromiseFulfilledResult<Row[]>).value;
      } finally {
        c.release();
      }
    } catch (thrown) {
      throw fromDatabaseError(thrown, name);
    }
  }
  // The server types these parameters as jsonb; postgres.js then serializes the value itself.
  const json = (value: unknown) => sql.json(value as postgres.JSONValue);

  const store: PostgresStore = {
    sql,
    actsAs: auth && auth.role !== 'service_role' ? 'user' : 'service',
    withAuth: (next) => makeStore(sql, false, next),
    async stop(timeoutMs = 5_000) {
      if (owned) await sql.end({ timeout: timeoutMs / 1000 });
    },

    async enqueueJobs(specs) {
      const rows = await call('enqueue_jobs', (q) => q`select * from public.enqueue_jobs(jobs => ${json(specs.map(toSqlJobSpec))}::jsonb)`);
      return rows.map(fromEnqueuedRow);
    },
    async getJob(id) {
      const rows = await call('get_job', (q) => q`select * from public.get_job(job_id => ${id}::uuid)`);
      return rows[0] ? fromJobRow(rows[0]) : null;
    },
    async listJobs(filter = {}) {
      const rows = await call('list_jobs', (q) => q`select * from public.list_jobs(
        status => ${filter.status ?? null}::text, type => ${filter.type ?? null}::text, queue => ${filter.queue ?? null}::text,
        before_created_at => ${filter.before?.createdAt ?? null}::timestamptz, before_id => ${filter.before?.id ?? null}::uuid,
        max_rows => ${filter.limit ?? 50}::integer)`);
      return rows.map(fromJobRow);
    },
    async cancelJob(id) {
      const rows = await call('cancel_job', (q) => q`select * from public.cancel_job(job_id => ${id}::uuid)`);
      return fromJobRow(rows[0] as Row);
    },

    async claimJobs(request) {
      const rows = await call('claim_jobs', (q) => q`select * from public.claim_jobs(
        worker_id => ${request.workerId}::text, job_types => ${q.array(request.types)}::text[],
        max_jobs => ${request.limit}::integer, lease_seconds => ${leaseSeconds(request.leaseMs)}::integer,
        queues => ${request.queues ? q.array(request.queues) : null}::text[])`);
      return rows.map(fromClaimedRow);
    },
    async getWaitingLimitedQueues(types, queues) {
      const rows = await call('get_waiting_limited_queues', (q) => q`select public.get_waiting_limited_queues(
        job_types => ${q.array(types)}::text[], queues => ${queues ? q.array(queues) : null}::text[]) as names`);
      return (rows[0]?.names as string[] | undefined) ?? [];
    },
    async heartbeatJobs(leases, leaseMs) {
      const rows = await call('heartbeat_jobs', (q) => q`select * from public.heartbeat_jobs(jobs => ${json(leases.map(toSqlLease))}::jsonb, lease_seconds => ${leaseSeconds(leaseMs)}::integer)`);
      return rows.map(fromHeartbeatRow);
    },
    async saveJobProgress(items) {
      const rows = await call('save_job_progress', (q) => q`select * from public.save_job_progress(jobs => ${json(items.map(toSqlProgress))}::jsonb)`);
      return rows.map(fromProgressRow);
    },
    async completeJobs(items) {
      const rows = await call('complete_jobs', (q) => q`select * from public.complete_jobs(jobs => ${json(items.map(toSqlComplete))}::jsonb)`);
      return rows.map((r) => fromOutcomeRow<CompleteOutcome>(r));
    },
    async failJobs(items) {
      const rows = await call('fail_jobs', (q) => q`select * from public.fail_jobs(jobs => ${json(items.map(toSqlFail))}::jsonb)`);
      return rows.map(fromFailRow);
    },
    async handBackJobs(items) {
      const rows = await call('hand_back_jobs', (q) => q`select * from public.hand_back_jobs(jobs => ${json(items.map(toSqlProgress))}::jsonb)`);
      return rows.map((r) => fromOutcomeRow<HandBackOutcome>(r));
    },
    async reapExpiredLeases(limit = 1000) {
      const rows = await call('reap_expired_leases', (q) => q`select * from public.reap_expired_leases(max_jobs => ${limit}::integer)`);
      return rows.map(fromFailRow);
    },
    async startWorkerRun(run) {
      const rows = await call('start_worker_run', (q) => q`select public.start_worker_run(worker_id => ${run.workerId}::text,
        trigger => ${run.trigger}::text, deadline_at => ${run.deadline}::timestamptz, worker_name => ${run.workerName ?? null}::text,
        job_types => ${run.types ? q.array(run.types) : null}::text[]) as id`);
      return String(rows[0]?.id);
    },
    async registerJobTypes(types, workerName = null) {
      const rows = await call('register_job_types', (q) => q`select public.register_job_types(types => ${json(types.map(toSqlJobType))}::jsonb, worker_name => ${workerName}::text) as n`);
      return Number(rows[0]?.n);
    },
    async finishWorkerRun(runId, summary, error = null) {
      const body = {
        claimed: summary.claimed, completed: summary.completed, failed: summary.failed, retried: summary.retried,
        cancelled: summary.cancelled, handed_back: summary.handedBack, lease_lost: summary.leaseLost, stop_reason: summary.stopReason,
      };
      await call('finish_worker_run', (q) => q`select public.finish_worker_run(run_id => ${runId}::uuid, summary => ${json(body)}::jsonb, error => ${error ? json(error) : null}::jsonb)`);
    },

    async getQueueStats() {
      return (await call('get_queue_stats', (q) => q`select * from public.get_queue_stats()`)).map(fromQueueStatsRow);
    },
    async getQueueHealth() {
      const rows = await call('get_queue_health', (q) => q`select * from public.get_queue_health()`);
      return fromHealthRow(rows[0] as Row);
    },
    async retryFailedJobs(filter = {}) {
      const rows = await call('retry_failed_jobs', (q) => q`select public.retry_failed_jobs(
        job_id => ${filter.jobId ?? null}::uuid, type => ${filter.type ?? null}::text, queue => ${filter.queue ?? null}::text,
        failed_after => ${filter.failedAfter ?? null}::timestamptz, failed_before => ${filter.failedBefore ?? null}::timestamptz) as n`);
      return Number(rows[0]?.n);
    },
    async purgeJobs(opts = {}) {
      const rows = await call('purge_jobs', (q) => q`select public.purge_jobs(
        older_than => ${opts.olderThanMs === undefined ? null : intervalFromMs(opts.olderThanMs)}::interval,
        max_rows => ${opts.limit ?? 10000}::integer) as n`);
      return Number(rows[0]?.n);
    },
    async purgeWorkerRuns(olderThanMs = 7 * 24 * 3600 * 1000) {
      const rows = await call('purge_worker_runs', (q) => q`select public.purge_worker_runs(older_than => ${intervalFromMs(olderThanMs)}::interval) as n`);
      return Number(rows[0]?.n);
    },
    async pauseQueue(queue) {
      return fromQueueRow((await call('pause_queue', (q) => q`select * from public.pause_queue(queue => ${queue}::text)`))[0] as Row);
    },
    async resumeQueue(queue) {
      return fromQueueRow((await call('resume_queue', (q) => q`select * from public.resume_queue(queue => ${queue}::text)`))[0] as Row);
    },
    async countRunningWorkers() {
      return Number((await call('count_running_workers', (q) => q`select public.count_running_workers() as n`))[0]?.n);
    },
    async claimWorkerKick() {
      return (await call('claim_worker_kick', (q) => q`select public.claim_worker_kick() as ok`))[0]?.ok === true;
    },
    async setQueueConcurrency(queue, limit) {
      return fromQueueRow((await call('set_queue_concurrency', (q) => q`select * from public.set_queue_concurrency(queue => ${queue}::text, concurrency_limit => ${limit}::integer)`))[0] as Row);
    },
  };
  return store;
}
