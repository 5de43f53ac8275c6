/**
 * The store on supabase-js: every method is exactly one `supabase.rpc()` (PostgREST), so it works
 * wherever only the Data API is reachable (Vercel route handlers, Edge Functions). Calls act as
 * whoever the client's key or access token says: the service key for workers and operators, a
 * user's JWT for client calls (ownership from auth.uid(), RLS as PostgREST applies it).
 */
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { EdgeJobsError } from './errors.ts';
import { fromDatabaseError } from './sql-errors.ts';
import {
  fromClaimedRow, fromEnqueuedRow, fromFailRow, fromHealthRow, fromHeartbeatRow, fromJobRow, fromOutcomeRow,
  fromProgressRow, fromQueueRow, fromQueueStatsRow,
  intervalFromMs, leaseSeconds, toSqlComplete, toSqlFail, toSqlJobSpec, toSqlJobType, toSqlLease, toSqlProgress,
} from './rows.ts';
import type { CompleteOutcome, HandBackOutcome, Store } from './store.ts';

type Row = Record<string, unknown>;
// The generated Database types describe `public`; rpc() is called with checked names below, so
// the client is used untyped here to keep this file independent of the generated file's shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyClient = SupabaseClient<any, any, any>;

export interface SupabaseStoreOptions {
  /** A supabase-js client to use. Give this, or `url` and `key`. */
  client?: AnyClient;
  /** The project URL (SUPABASE_URL). */
  url?: string;
  /** An API key: the service key for workers and servers, the anon/publishable key for users. */
  key?: string;
  /** A user's access token (JWT): calls act as that user, as PostgREST would. */
  accessToken?: string;
  /** Passed to supabase-js; tests use it to reach a stand-in. */
  fetch?: typeof fetch;
}

/** A {@link Store} on supabase-js, plus `withAccessToken()`. */
export interface SupabaseStore extends Store {
  /** The same project and key, acting as the user whose JWT this is. */
  withAccessToken(accessToken: string): SupabaseStore;
  readonly client: AnyClient;
  /** Nothing to release (HTTP only); here so both adapters can be stopped alike. */
  stop(): Promise<void>;
}

/**
 * Creates the supabase-js store.
 * @example
 * const store = createSupabaseStore({ url: process.env.SUPABASE_URL, key: process.env.SUPABASE_SERVICE_ROLE_KEY })
 * const [job] = await store.enqueueJobs([{ type: 'email.send', input: { to } }])
 */
export function createSupabaseStore(options: SupabaseStoreOptions): SupabaseStore {
  if (!options.client && !(options.url && options.key)) {
    throw new EdgeJobsError('configuration', 'createSupabaseStore: give `client`, or `url` (SUPABASE_URL) and `key` (SUPABASE_SERVICE_ROLE_KEY or a secret key)');
  }
  const client = options.client ?? makeClient(options.url as string, options.key as string, options.accessToken, options.fetch);
  const withAccessToken = (token: string) => {
    if (!options.url || !options.key) {
      throw new EdgeJobsError('configuration', 'createSupabaseStore: withAccessToken() needs the store to be made from `url` and `key`');
    }
    return createSupabaseStore({ ...options, client: undefined, accessToken: token });
  };
  const actsAs = options.accessToken ? 'user' : options.key ? keyActsAs(options.key) : undefined;
  return makeStore(client, withAccessToken, actsAs);
}

/**
 * Whom an API key acts as, as Supabase's gateway maps it: `sb_secret_…` and a legacy JWT with
 * role service_role act as the service; `sb_publishable_…` and the legacy anon JWT as a user.
 */
function keyActsAs(key: string): 'service' | 'user' | undefined {
  if (key.startsWith('sb_secret_')) return 'service';
  if (key.startsWith('sb_publishable_')) return 'user';
  try {
    const payload = JSON.parse(atob((key.split('.')[1] ?? '').replaceAll('-', '+').replaceAll('_', '/'))) as { role?: unknown };
    return payload.role === 'service_role' ? 'service' : 'user';
  } catch {
    return undefined;
  }
}

function makeClient(url: string, key: string, accessToken: string | undefined, customFetch: typeof fetch | undefined): AnyClient {
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    // The store never opens Realtime. On runtimes without a global WebSocket (Node 20),
    // realtime-js refuses to construct at all, so give it a transport that fails only if used.
    ...(typeof globalThis.WebSocket === 'undefined' ? { realtime: { transport: NoWebSocket as never } } : {}),
    global: {
      ...(accessToken ? { headers: { Authorization: `Bearer ${accessToken}` } } : {}),
      ...(customFetch ? { fetch: customFetch } : {}),
    },
  });
}

class NoWebSocket {
  constructor() {
    throw new EdgeJobsError('configuration', 'this runtime has no WebSocket; pass your own supabase-js client to use Realtime');
  }
}

function makeStore(client: AnyClient, withAccessToken: (token: string) => SupabaseStore, actsAs: 'service' | 'user' | undefined): SupabaseStore {
  /** One rpc; unwraps `{ data, error }` at once into data or a typed error. */
  async function scalar(name: string, args: Row): Promise<unknown> {
    let result: { data: unknown; error: { code?: string; message?: string } | null; status: number };
    try {
      result = await client.rpc(name, args);
    } catch (thrown) {
      throw new EdgeJobsError('database_unavailable', `${name}: ${(thrown as Error)?.message ?? thrown}`, { cause: thrown, retryable: true });
    }
    const { data, error, status } = result;
    if (!error) return data;
    // supabase-js reports a network failure as an error without a SQLSTATE and status 0.
    if (!error.code && (status === 0 || status >= 502)) {
      throw new EdgeJobsError('database_unavailable', `${name}: ${error.message ?? 'the Data API did not answer'}`, { cause: error, retryable: true, details: { status } });
    }
    // The gateway refused the key or token itself (no SQLSTATE): the server is misconfigured.
    if (!error.code && status === 401) {
      throw new EdgeJobsError('configuration', `${name}: the Data API refused the API key or token (401: ${error.message ?? 'unauthorized'}); check SUPABASE_SECRET_KEY and SUPABASE_URL`, { cause: error, details: { status } });
    }
    throw fromDatabaseError(error, name);
  }
  /** An rpc whose answer is rows: PostgREST sends an array for set-returning functions, an object for one composite. */
  async function rpc(name: string, args: Row): Promise<Row[]> {
    const data = await scalar(name, args);
    if (Array.isArray(data)) return data as Row[];
    return data === null || data === undefined ? [] : [data as Row];
  }

  return {
    client,
    withAccessToken,
    actsAs,
    async stop() {},

    async enqueueJobs(specs) {
      return (await rpc('enqueue_jobs', { jobs: specs.map(toSqlJobSpec) })).map(fromEnqueuedRow);
    },
    async getJob(id) {
      const rows = await rpc('get_job', { job_id: id });
      return rows[0] ? fromJobRow(rows[0]) : null;
    },
    async listJobs(filter = {}) {
      const rows = await rpc('list_jobs', {
        status: filter.status ?? null, type: filter.type ?? null, queue: filter.queue ?? null,
        before_created_at: filter.before?.createdAt.toISOString() ?? null, before_id: filter.before?.id ?? null,
        max_rows: filter.limit ?? 50,
      });
      return rows.map(fromJobRow);
    },
    async cancelJob(id) {
      return fromJobRow((await rpc('cancel_job', { job_id: id }))[0] as Row);
    },

    async claimJobs(request) {
      const rows = await rpc('claim_jobs', {
        worker_id: request.workerId, job_types: request.types, max_jobs: request.limit,
        lease_seconds: leaseSeconds(request.leaseMs), queues: request.queues ?? null,
      });
      return rows.map(fromClaimedRow);
    },
    async getWaitingLimitedQueues(types, queues) {
      const names = await scalar('get_waiting_limited_queues', { job_types: types, queues: queues ?? null });
      return Array.isArray(names) ? names.map(String) : [];
    },
    async heartbeatJobs(leases, leaseMs) {
      return (await rpc('heartbeat_jobs', { jobs: leases.map(toSqlLease), lease_seconds: leaseSeconds(leaseMs) })).map(fromHeartbeatRow);
    },
    async saveJobProgress(items) {
      return (await rpc('save_job_progress', { jobs: items.map(toSqlProgress) })).map(fromProgressRow);
    },
    async completeJobs(items) {
      return (await rpc('complete_jobs', { jobs: items.map(toSqlComplete) })).map((r) => fromOutcomeRow<CompleteOutcome>(r));
    },
    async failJobs(items) {
      return (await rpc('fail_jobs', { jobs: items.map(toSqlFail) })).map(fromFailRow);
    },
    async handBackJobs(items) {
      return (await rpc('hand_back_jobs', { jobs: items.map(toSqlProgress) })).map((r) => fromOutcomeRow<HandBackOutcome>(r));
    },
    async reapExpiredLeases(limit = 1000) {
      return (await rpc('reap_expired_leases', { max_jobs: limit })).map(fromFailRow);
    },
    async startWorkerRun(run) {
      return String(await scalar('start_worker_run', {
        worker_id: run.workerId, trigger: run.trigger, deadline_at: run.deadline?.toISOString() ?? null,
        worker_name: run.workerName ?? null, job_types: run.types ?? null,
      }));
    },
    async registerJobTypes(types, workerName = null) {
      return Number(await scalar('register_job_types', { types: types.map(toSqlJobType), worker_name: workerName }));
    },
    async finishWorkerRun(runId, summary, error = null) {
      await scalar('finish_worker_run', {
        run_id: runId,
        summary: {
          claimed: summary.claimed, completed: summary.completed, failed: summary.failed, retried: summary.retried,
          cancelled: summary.cancelled, handed_back: summary.handedBack, lease_lost: summary.leaseLost, stop_reason: summary.stopReason,
        },
        error,
      });
    },

    async getQueueStats() {
      return (await rpc('get_queue_stats', {})).map(fromQueueStatsRow);
    },
    async getQueueHealth() {
      return fromHealthRow((await rpc('get_queue_health', {}))[0] as Row);
    },
    async retryFailedJobs(filter = {}) {
      return Number(await scalar('retry_failed_jobs', {
        job_id: filter.jobId ?? null, type: filter.type ?? null, queue: filter.queue ?? null,
        failed_after: filter.failedAfter?.toISOString() ?? null, failed_before: filter.failedBefore?.toISOString() ?? null,
      }));
    },
    async purgeJobs(opts = {}) {
      return Number(await scalar('purge_jobs', {
        older_than: opts.olderThanMs === undefined ? null : intervalFromMs(opts.olderThanMs), max_rows: opts.limit ?? 10000,
      }));
    },
    async purgeWorkerRuns(olderThanMs = 7 * 24 * 3600 * 1000) {
      return Number(await scalar('purge_worker_runs', { older_than: intervalFromMs(olderThanMs) }));
    },
    async pauseQueue(queue) {
      return fromQueueRow((await rpc('pause_queue', { queue }))[0] as Row);
    },
    async resumeQueue(queue) {
      return fromQueueRow((await rpc('resume_queue', { queue }))[0] as Row);
    },
    async countRunningWorkers() {
      return Number(await scalar('count_running_workers', {}));
    },
    async claimWorkerKick() {
      return (await scalar('claim_worker_kick', {})) === true;
    },
    async setQueueConcurrency(queue, limit) {
      return fromQueueRow((await rpc('set_queue_concurrency', { queue, concurrency_limit: limit }))[0] as Row);
    },
  };
}
