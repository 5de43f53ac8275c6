/**
 * The HTTP API from plain TypeScript (scripts, server code, tests, the browser without React):
 * submit a job, read it (with ETag), list the caller's jobs, cancel one, wait for it to end.
 */
import { EdgeJobsError, type ErrorCode } from '../errors.ts';
import { isTerminal, type JobStatus } from '../states.ts';
import type { AcceptedJob, ApiErrorBody, JobView } from '../wire.ts';

export interface ClientOptions {
  /** Where the routes are mounted. Default '/api/jobs' (relative: same origin in a browser). */
  baseUrl?: string;
  /** A fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Extra headers on every request, e.g. `{ Authorization: 'Bearer <jwt>' }`. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * An error answer of the API, with its HTTP status and `{ code, message, issues }`. `code` is the
 * server's, as sent: a code newer than this client's `ERROR_CODES` is kept, not replaced.
 */
export class ApiError extends EdgeJobsError {
  static override readonly kind: string = 'ApiError';
  override readonly name: string = 'ApiError';
  readonly status: number;
  readonly issues: ApiErrorBody['issues'];
  constructor(status: number, body: ApiErrorBody) {
    super(body.code as ErrorCode, body.message, { details: { status }, retryable: status === 503 || status >= 500 });
    this.status = status;
    this.issues = body.issues;
  }
}

const base = (o: ClientOptions) => (o.baseUrl ?? '/api/jobs').replace(/\/$/, '');

async function send(url: string, init: RequestInit, o: ClientOptions): Promise<Response> {
  const doFetch = o.fetch ?? fetch;
  try {
    return await doFetch(url, { ...init, signal: init.signal ?? o.signal, headers: { ...o.headers, ...(init.headers as Record<string, string>) } });
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e;
    throw new EdgeJobsError('network_error', `could not reach ${url}: ${(e as Error)?.message ?? e}`, { cause: e, retryable: true });
  }
}

async function fail(response: Response): Promise<never> {
  let body: ApiErrorBody = { code: 'internal', message: `HTTP ${response.status}` };
  try {
    body = ((await response.json()) as { error: ApiErrorBody }).error ?? body;
  } catch {
    // not JSON: keep the status line
  }
  throw new ApiError(response.status, body);
}

/**
 * Enqueues a job through `POST {baseUrl}` and answers the 202 body.
 * @example
 * const job = await submitJob('report.generate', { title: 'Q3', rows }, { idempotencyKey: 'q3' })
 */
export async function submitJob(type: string, input: unknown, options: ClientOptions & { idempotencyKey?: string; singletonKey?: string; delayMs?: number; runAt?: Date } = {}): Promise<AcceptedJob> {
  const jobOptions: Record<string, unknown> = {};
  if (options.singletonKey !== undefined) jobOptions.singletonKey = options.singletonKey;
  if (options.delayMs !== undefined) jobOptions.delayMs = options.delayMs;
  if (options.runAt !== undefined) jobOptions.runAt = options.runAt.toISOString();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  const response = await send(base(options), { method: 'POST', headers, body: JSON.stringify({ type, input, ...(Object.keys(jobOptions).length ? { options: jobOptions } : {}) }) }, options);
  if (response.status !== 202) await fail(response);
  return (await response.json()) as AcceptedJob;
}

export interface FetchedJob {
  /** The job, or null when the server answered 304 (unchanged since `etag`). */
  job: JobView | null;
  etag: string | null;
  /** The server's Retry-After in ms, if it sent one (only while the job is not finished). */
  retryAfterMs: number | null;
}

/** Reads a job, sending `If-None-Match` when `etag` is given. Throws {@link ApiError} (404 for unknown). */
export async function fetchJob(id: string, options: ClientOptions & { etag?: string | null } = {}): Promise<FetchedJob> {
  const headers: Record<string, string> = options.etag ? { 'if-none-match': options.etag } : {};
  const response = await send(`${base(options)}/${encodeURIComponent(id)}`, { method: 'GET', headers, cache: 'no-store' }, options);
  const retryAfter = Number(response.headers.get('retry-after'));
  const retryAfterMs = response.headers.has('retry-after') && Number.isFinite(retryAfter) ? retryAfter * 1000 : null;
  if (response.status === 304) return { job: null, etag: options.etag ?? null, retryAfterMs };
  if (!response.ok) await fail(response);
  return { job: (await response.json()) as JobView, etag: response.headers.get('etag'), retryAfterMs };
}

/**
 * The caller's jobs, newest first, through `GET {baseUrl}`: a page of `limit` (1-100, default 20)
 * and the cursor of the next (null at the end).
 * @example
 * const { jobs, nextCursor } = await listJobs({ status: 'failed' })
 */
export async function listJobs(options: ClientOptions & { status?: JobStatus; type?: string; limit?: number; cursor?: string | null } = {}): Promise<{ jobs: JobView[]; nextCursor: string | null }> {
  const query = new URLSearchParams();
  if (options.status) query.set('status', options.status);
  if (options.type) query.set('type', options.type);
  if (options.limit !== undefined) query.set('limit', String(options.limit));
  if (options.cursor) query.set('cursor', options.cursor);
  const qs = query.toString();
  const response = await send(`${base(options)}${qs ? `?${qs}` : ''}`, { method: 'GET', cache: 'no-store' }, options);
  if (!response.ok) await fail(response);
  return (await response.json()) as { jobs: JobView[]; nextCursor: string | null };
}

/** Cancels a job: queued jobs end at once, running ones are asked to stop. Throws 409 `job_finished` once ended. */
export async function cancelJob(id: string, options: ClientOptions = {}): Promise<JobView> {
  const response = await send(`${base(options)}/${encodeURIComponent(id)}`, { method: 'DELETE' }, options);
  if (!response.ok) await fail(response);
  return (await response.json()) as JobView;
}

/**
 * Polls a job until it is completed, failed or cancelled, honouring Retry-After and ETags, and
 * answers its final state (it does not throw for a failed job: check `status`).
 * @example
 * const { id } = await submitJob('report.generate', input)
 * const done = await waitForJob(id, { timeoutMs: 60_000, onUpdate: (j) => console.log(j.progress) })
 */
export async function waitForJob(id: string, options: ClientOptions & { timeoutMs?: number; maxDelayMs?: number; onUpdate?: (job: JobView) => void } = {}): Promise<JobView> {
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  const maxDelay = options.maxDelayMs ?? 5_000;
  let etag: string | null = null;
  let last: JobView | null = null;
  let delay = 250;
  for (;;) {
    const fetched = await fetchJob(id, { ...options, etag });
    if (fetched.job) {
      last = fetched.job;
      etag = fetched.etag;
      options.onUpdate?.(last);
      delay = 250;
      if (isTerminal(last.status)) return last;
    } else {
      delay = Math.min(maxDelay, delay * 1.5);
    }
    const wait = Math.max(delay, Math.min(fetched.retryAfterMs ?? 0, maxDelay));
    if (Date.now() + wait > deadline) {
      throw new EdgeJobsError('timeout', `job ${id} did not finish within ${options.timeoutMs ?? 300_000} ms (last status: ${last?.status ?? 'unknown'})`, { details: { jobId: id } });
    }
    await sleep(wait, options.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}
