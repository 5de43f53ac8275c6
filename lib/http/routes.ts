/**
 * Route handler factories on web Request/Response, for Next.js App Router (or any runtime that
 * speaks fetch). Each handler is thin: parse, authenticate, one store call, map the result.
 *
 *   POST   /api/jobs          enqueue any registered type: { type, input, options? } → 202
 *   POST   /api/<your route>  enqueue one type, the body is its input (enqueueRoute) → 202
 *   GET    /api/jobs/:id      status, progress, result or error; ETag / 304; Retry-After
 *   DELETE /api/jobs/:id      cancel: 200 cancelled, 202 cancel requested, 409 finished
 *   GET    /api/jobs          the caller's jobs, ?status=&type=&limit=&cursor=
 *   GET    /api/jobs/health   200 healthy / 503 not, with the figures
 *   GET    /api/jobs/stats    per queue and type counts, per type history (operators)
 *   POST   /api/jobs/bulk     cancel, redrive or delete by filter; a dry run by default (operators)
 */
import { z } from 'zod';
import { EdgeJobsError, ValidationError, type ErrorJson } from '../errors.ts';
import { silentLogger, type Logger } from '../logger.ts';
import { createQueue, type EnqueueOptions } from '../queue.ts';
import { parseWith, type AnyJobDefinition, type JobRegistry } from '../job.ts';
import { registerOnce } from '../job-types.ts';
import { JOB_STATUS, isTerminal } from '../states.ts';
import { bulkAction } from '../bulk.ts';
import type { BulkFilter, ClientStore, EnqueuedJob, JobDetails } from '../store.ts';
import type { JobView } from '../wire.ts';
import { isOperator, type Authenticator, type Caller } from './auth.ts';
import { assessHealth, resolveThresholds, type HealthThresholds } from '../health.ts';
import { readJsonBody } from './body.ts';
import { jsonResponse, toErrorResponse } from './errors.ts';
import type { StoreProvider } from './stores.ts';

export type { HealthThresholds } from '../health.ts';

export interface JobRoutesOptions<D extends AnyJobDefinition> {
  registry: JobRegistry<D>;
  stores: StoreProvider;
  auth: Authenticator;
  /** Where the status routes are mounted; statusUrl is `${basePath}/${id}`. Default '/api/jobs'. */
  basePath?: string;
  /** Largest request body. Default 1 MiB + 4 KiB (the database refuses inputs over 1 MiB). */
  maxBodyBytes?: number;
  /** Retry-After (seconds) on 202 and on the status of running jobs. Default 1. */
  retryAfterSeconds?: number;
  health?: HealthThresholds & {
    /** Who may read health: 'public' (counts only, for uptime monitors) or 'service'. Default 'public'. */
    access?: 'public' | 'service';
  };
  logger?: Logger;
  /**
   * Who besides the service key is an operator (the stats route, the console): a signed-in user
   * (not anonymous) whose JWT's `app_metadata` has this claim set to `true`. Only the project's
   * admin API writes app_metadata, so users cannot give it to themselves. Default
   * 'edgejobs_operator'; false: the service key only.
   */
  operatorClaim?: string | false;
  /**
   * Starts a worker after an enqueue (see `createKicker`). Runs after the response, through
   * `afterResponse`; it never delays or fails the enqueue.
   */
  kick?: () => Promise<unknown>;
  /** Runs work after the response is sent: Next.js `after`, or `waitUntil`. Default: fire and forget. */
  afterResponse?: (task: () => Promise<unknown>) => void;
  /**
   * Write the registry's types into the database (registerJobTypes) before the first enqueue of
   * this process, so that `supabase.rpc()` callers meet the same rules and defaults. Default true.
   */
  registerJobTypes?: boolean;
}

/** What a Next.js route handler receives as its second argument. */
export interface RouteContext {
  params?: Promise<Record<string, string | string[]>> | Record<string, string | string[]>;
}

export type RouteHandler = (request: Request, context?: RouteContext) => Promise<Response>;

export interface JobRoutes {
  /** POST: enqueue any registered type from `{ type, input, options? }`. */
  enqueue: RouteHandler;
  /** POST for one job type: the body is the job's input. `export const POST = routes.enqueueRoute(generateReport)` */
  enqueueRoute(definition: AnyJobDefinition): RouteHandler;
  /** GET /:id */
  status: RouteHandler;
  /** DELETE /:id */
  cancel: RouteHandler;
  /** GET: the caller's jobs. */
  list: RouteHandler;
  /** GET: queue health. */
  health: RouteHandler;
  /** GET: counts per queue and type, per type history (operators). */
  stats: RouteHandler;
  /** POST: a bulk action by filter, counted first (operators). */
  bulk: RouteHandler;
}

/** How long one POST of a bulk action runs batches before it answers `more` (the routes' maxDuration is 10 s). */
const BULK_BUDGET_MS = 5_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The options any caller may give; queue, priority and attempts are the server's to set. */
const userOptions = z.strictObject({
  idempotencyKey: z.string().min(1).max(255).optional(),
  singletonKey: z.string().min(1).max(255).optional(),
  delayMs: z.number().int().min(0).max(365 * 24 * 3600 * 1000).optional(), // the database's delay_seconds bound
  runAt: z.iso.datetime({ offset: true }).optional(),
});
const serviceOptions = userOptions.extend({
  queue: z.string().optional(),
  priority: z.number().int().optional(),
  maxAttempts: z.number().int().optional(),
  keepForMs: z.number().int().optional(),
  webhookUrl: z.string().optional(),
});
const envelope = z.strictObject({
  type: z.string().min(1),
  input: z.unknown().optional(),
  options: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Creates every route handler for a registry. One factory (longer than a screen) because the six
 * handlers share what it builds once per process: the options, the thresholds, the registration
 * and the caller-to-store mapping; each handler is a short block below, and the work they share
 * (accept, view) is a named function.
 * @example
 * // app/_server/jobs.ts
 * export const routes = createJobRoutes({ registry, stores: storesFromEnv(process.env), auth: createAuthenticator({ jwtSecret }) })
 * // app/api/jobs/route.ts
 * export const POST = routes.enqueue
 */
export function createJobRoutes<D extends AnyJobDefinition>(options: JobRoutesOptions<D>): JobRoutes {
  const { registry, stores, auth } = options;
  const basePath = (options.basePath ?? '/api/jobs').replace(/\/$/, '');
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576 + 4096;
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  const log = options.logger ?? silentLogger;
  const thresholds = resolveThresholds(options.health);
  const operatorClaim = options.operatorClaim ?? 'edgejobs_operator';
  /** The service key, or a signed-in user with the operator claim; else 401 (no one) or 403. */
  const requireOperator = async (request: Request) => {
    const caller = await auth.authenticate(request);
    if (caller.kind === 'service') return caller;
    if (caller.kind === 'none') throw new EdgeJobsError('unauthorized', 'sign in as an operator, or use the service key');
    if (!isOperator(caller, operatorClaim)) throw new EdgeJobsError('forbidden', 'operators only');
    return caller;
  };
  const iso = z.iso.datetime({ offset: true }).transform((t) => new Date(t));
  const bulkBody = z.strictObject({
    action: z.enum(['cancel', 'redrive', 'delete']),
    filter: z.strictObject({
      status: z.enum(JOB_STATUS).optional(),
      type: z.string().min(1).optional(),
      queue: z.string().min(1).optional(),
      ownerId: z.uuid().optional(),
      ids: z.array(z.uuid()).min(1).max(10_000).optional(),
      createdAfter: iso.optional(), createdBefore: iso.optional(), finishedAfter: iso.optional(), finishedBefore: iso.optional(),
    }).refine((f) => Object.values(f).some((v) => v !== undefined), 'give at least one filter field (every job: { "status": … })'),
    dryRun: z.boolean().optional(),
    batchSize: z.number().int().min(1).max(10_000).optional(),
  });
  const statsQuery = z.strictObject({
    finishedWithinMs: z.coerce.number().int().min(60_000).max(31 * 24 * 3600_000).optional(),
  });

  const handle = (fn: RouteHandler): RouteHandler => async (request, context) => {
    try {
      return await fn(request, context);
    } catch (thrown) {
      return toErrorResponse(thrown, log);
    }
  };

  /** The store acting as the caller; no identity at all means nothing of theirs can exist. */
  async function storeFor(caller: Caller): Promise<ClientStore | null> {
    if (caller.kind === 'service') return stores.service;
    if (caller.kind === 'user') return stores.forUser(caller);
    return null;
  }

  async function accept(request: Request, definition: AnyJobDefinition, input: unknown, rawOptions: Record<string, unknown>, inputPath: string): Promise<Response> {
    let caller = await auth.authenticate(request);
    let setCookie: string | undefined;
    if (caller.kind === 'none') {
      const guest = definition.allowAnonymous ? await auth.issueGuest(request) : null;
      if (!guest) throw new EdgeJobsError('unauthorized', `sign in to enqueue "${definition.type}"`);
      caller = guest.caller;
      setCookie = guest.setCookie;
    }
    if (caller.kind === 'user' && definition.allowUsers === false) {
      throw new EdgeJobsError('forbidden', `"${definition.type}" can only be enqueued by the server`);
    }
    if (caller.kind === 'user' && caller.anonymous && !definition.allowAnonymous) {
      throw new EdgeJobsError('forbidden', `"${definition.type}" needs a signed-in (not anonymous) user`);
    }
    const headerKey = request.headers.get('idempotency-key');
    if (headerKey !== null && rawOptions.idempotencyKey !== undefined && rawOptions.idempotencyKey !== headerKey) {
      throw new EdgeJobsError('invalid_argument', 'the Idempotency-Key header and options.idempotencyKey differ; give one');
    }
    const merged = headerKey !== null ? { ...rawOptions, idempotencyKey: headerKey } : rawOptions;
    if (caller.kind !== 'service') {
      const serverOnly = Object.keys(merged).filter((k) => k in serviceOptions.shape && !(k in userOptions.shape));
      if (serverOnly.length) throw new EdgeJobsError('forbidden', `only the server may set ${serverOnly.map((k) => `options.${k}`).join(', ')}`);
    }
    const parsed = withPath('options', () => parseWith(caller.kind === 'service' ? serviceOptions : userOptions, merged, 'options'));
    const enqueueOptions: EnqueueOptions = { ...parsed, runAt: parsed.runAt ? new Date(parsed.runAt) : undefined } as EnqueueOptions;
    // Users' jobs take their type's options from the database's registry: not before it is written.
    if (options.registerJobTypes !== false && !(await registerOnce(stores.service, registry, { logger: log })) && caller.kind !== 'service') {
      throw new EdgeJobsError('database_unavailable', 'the job types could not be registered in the database yet; try again', { retryable: true });
    }
    const store = (await storeFor(caller)) as ClientStore;
    const queue = createQueue({ store, registry: registry as JobRegistry });
    let job: EnqueuedJob;
    try {
      job = await queue.enqueue(definition.type, input as never, enqueueOptions);
    } catch (error) {
      if (error instanceof ValidationError && inputPath) throw prefixed(error, inputPath);
      throw error;
    }
    // A replay stored nothing new; a job scheduled for later is the cron's (a kick now would find
    // nothing to run).
    if (options.kick && !job.replayed && job.runAt.getTime() <= Date.now() + 1_000) {
      const kick = options.kick;
      const later = options.afterResponse ?? ((task: () => Promise<unknown>) => void task());
      later(() => kick().catch(() => false)); // a kick never fails the enqueue
    }
    const statusUrl = `${basePath}/${job.id}`;
    const headers: Record<string, string> = { location: statusUrl, 'retry-after': retryAfter };
    if (job.replayed) headers['idempotent-replayed'] = 'true';
    if (setCookie) headers['set-cookie'] = setCookie;
    return jsonResponse(202, {
      id: job.id, type: job.type, status: job.status, statusUrl, createdAt: job.createdAt.toISOString(), replayed: job.replayed,
    }, headers);
  }

  async function jobId(request: Request, context?: RouteContext): Promise<string> {
    const params = context?.params ? await context.params : undefined;
    const fromParams = params?.id;
    const id = typeof fromParams === 'string' ? fromParams : decodeURIComponent(new URL(request.url).pathname.split('/').filter(Boolean).pop() ?? '');
    // A malformed id is answered like an unknown one: 404, nothing about what exists.
    if (!UUID.test(id)) throw new EdgeJobsError('job_not_found', `no job ${JSON.stringify(id)}`);
    return id.toLowerCase();
  }

  function view(job: JobDetails, caller: Caller): JobView {
    return {
      id: job.id,
      type: job.type,
      queue: job.queue,
      status: job.status,
      progress: job.progress,
      result: job.result,
      error: publicError(job.error),
      attempts: job.attempts,
      maxAttempts: job.maxAttempts,
      cancelRequested: job.cancelRequestedAt !== null,
      runAt: job.runAt.toISOString(),
      createdAt: job.createdAt.toISOString(),
      updatedAt: job.updatedAt.toISOString(),
      startedAt: job.startedAt?.toISOString() ?? null,
      finishedAt: job.finishedAt?.toISOString() ?? null,
      parentId: job.parentId,
      children: job.children.map((c) => ({ ...c, statusUrl: `${basePath}/${c.id}` })),
      // The private Realtime topic the job's changes are broadcast on (see the broadcast migration).
      realtimeTopic: caller.kind === 'user' && caller.accessToken ? `edgejobs:${caller.userId}:job:${job.id}` : null,
    };
  }

  function pollAfter(job: JobDetails): string | undefined {
    if (isTerminal(job.status)) return undefined;
    const untilRun = Math.ceil((job.runAt.getTime() - Date.now()) / 1000);
    return job.status === 'queued' && untilRun > Number(retryAfter) ? String(Math.min(untilRun, 60)) : retryAfter;
  }

  const enqueue = handle(async (request) => {
    const body = await readJsonBody(request, maxBodyBytes);
    const { type, input, options: rawOptions } = parseWith(envelope, body, 'request body');
    const definition = registry.get(type);
    if (!definition) {
      throw new EdgeJobsError('unknown_job_type', `unknown job type "${type}"`, { details: { type } });
    }
    return accept(request, definition, input, rawOptions ?? {}, 'input');
  });

  return {
    enqueue,
    enqueueRoute(definition) {
      if (registry.get(definition.type) !== definition) {
        throw new EdgeJobsError('configuration', `enqueueRoute: "${definition.type}" is not in the registry given to createJobRoutes`);
      }
      return handle(async (request) => accept(request, definition, await readJsonBody(request, maxBodyBytes), {}, ''));
    },

    status: handle(async (request, context) => {
      const id = await jobId(request, context);
      const caller = await auth.authenticate(request);
      const store = await storeFor(caller);
      const job = store ? await store.getJob(id) : null;
      if (!job) throw new EdgeJobsError('job_not_found', `no job ${id}`);
      const text = JSON.stringify(view(job, caller));
      const etag = `"${await digest(text)}"`;
      const headers: Record<string, string> = { etag };
      const after = pollAfter(job);
      if (after) headers['retry-after'] = after;
      if (matches(request.headers.get('if-none-match'), etag)) {
        return new Response(null, { status: 304, headers: { ...headers, 'cache-control': 'private, no-cache', vary: 'Authorization, Cookie' } });
      }
      return new Response(text, { status: 200, headers: { ...headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'private, no-cache', vary: 'Authorization, Cookie' } });
    }),

    cancel: handle(async (request, context) => {
      const id = await jobId(request, context);
      const caller = await auth.authenticate(request);
      const store = await storeFor(caller);
      if (!store) throw new EdgeJobsError('job_not_found', `no job ${id}`);
      const job = await store.cancelJob(id);
      const body = view(job, caller);
      return job.status === 'cancelled' ? jsonResponse(200, body) : jsonResponse(202, body, { 'retry-after': retryAfter });
    }),

    list: handle(async (request) => {
      const url = new URL(request.url);
      const query = parseWith(z.strictObject({
        status: z.enum(Object.values(JOB_STATUS) as [string, ...string[]]).optional(),
        type: z.string().min(1).max(128).optional(),
        limit: z.coerce.number().int().min(1).max(100).optional(),
        cursor: z.string().optional(),
      }), Object.fromEntries(url.searchParams), 'query');
      const caller = await auth.authenticate(request);
      const store = await storeFor(caller);
      if (!store) throw new EdgeJobsError('unauthorized', 'sign in to list your jobs');
      const limit = query.limit ?? 20;
      const jobs = await store.listJobs({
        status: query.status as JobDetails['status'] | undefined, type: query.type, limit: limit + 1,
        before: query.cursor ? decodeCursor(query.cursor) : undefined,
      });
      const page = jobs.slice(0, limit);
      const last = page[page.length - 1];
      return jsonResponse(200, {
        jobs: page.map((job) => view(job, caller)),
        nextCursor: jobs.length > limit && last ? encodeCursor(last) : null,
      });
    }),

    health: handle(async (request) => {
      if (options.health?.access === 'service' && (await auth.authenticate(request)).kind !== 'service') {
        throw new EdgeJobsError('unauthorized', 'health needs the service key');
      }
      const { health: h, problems, critical } = await assessHealth(stores.service, thresholds);
      return jsonResponse(problems.length ? 503 : 200, {
        healthy: problems.length === 0,
        problems,
        ready: h.ready,
        // Ready jobs of types no live worker runs: not counted in ready or its age (see the README).
        unhandled: h.unhandled,
        unhandledTypes: h.unhandledTypes,
        scheduled: h.scheduled,
        processing: h.processing,
        oldestReadyAgeMs: h.oldestReadyAgeMs,
        lastRun: h.lastRunStartedAt ? {
          startedAt: h.lastRunStartedAt.toISOString(), finishedAt: h.lastRunFinishedAt?.toISOString() ?? null, status: h.lastRunStatus,
        } : null,
        lastSuccessAt: h.lastSuccessAt?.toISOString() ?? null,
        lastSeenAt: h.lastSeenAt?.toISOString() ?? null,
        consecutiveFailedRuns: h.consecutiveFailedRuns,
        critical,
        thresholds,
      });
    }),

    bulk: handle(async (request) => {
      const caller = await requireOperator(request);
      const body = parseWith(bulkBody, await readJsonBody(request, maxBodyBytes), 'body');
      const filter = withoutUndefined(body.filter) as BulkFilter;
      if (body.dryRun !== false) {
        const { matched } = await stores.service.bulkJobs(body.action, filter);
        return jsonResponse(200, { dryRun: true, matched });
      }
      // Batches until done or for at most BULK_BUDGET_MS (the route's time is short): `more`
      // tells the caller to post again.
      const done = await bulkAction(stores.service, body.action, filter, {
        actor: caller.kind === 'service' ? 'service' : caller.userId, batchSize: body.batchSize ?? 1000, signal: AbortSignal.timeout(BULK_BUDGET_MS),
      });
      return jsonResponse(200, { dryRun: false, ...done });
    }),

    stats: handle(async (request) => {
      await requireOperator(request);
      const query = parseWith(statsQuery, Object.fromEntries(new URL(request.url).searchParams), 'query');
      const finishedWithinMs = query.finishedWithinMs ?? 3600_000;
      const [queues, types] = await Promise.all([
        stores.service.getQueueStats(finishedWithinMs), stores.service.getTypeStats(finishedWithinMs),
      ]);
      const now = Date.now();
      const totals = { ready: 0, scheduled: 0, processing: 0, completed: 0, failed: 0, cancelled: 0 };
      for (const q of queues) for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += q[k];
      return jsonResponse(200, {
        finishedWithinMs,
        totals,
        queues: queues.map(({ oldestReadyAt, ...q }) => ({ ...q, oldestReadyAgeMs: oldestReadyAt ? Math.max(0, now - oldestReadyAt.getTime()) : null })),
        types: types.map((t) => ({
          ...t, lastSuccessAt: t.lastSuccessAt?.toISOString() ?? null, lastFailureAt: t.lastFailureAt?.toISOString() ?? null,
          critical: t.consecutiveFailures >= thresholds.maxConsecutiveFailedJobs,
        })),
      }, { 'cache-control': 'no-store' });
    }),
  };
}

/** The issues of a validation error, with their paths under `prefix` (`options.bogus`). */
function prefixed(error: ValidationError, prefix: string): ValidationError {
  return new ValidationError(error.message, error.issues.map((i) => ({ ...i, path: i.path ? `${prefix}.${i.path}` : prefix })));
}

function withPath<T>(prefix: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw error instanceof ValidationError ? prefixed(error, prefix) : error;
  }
}

/** The part of a stored error an end user may see: no stack, no internals. */
function publicError(error: ErrorJson | null): { code: string; message: string } | null {
  return error ? { code: error.code, message: error.message } : null;
}

/** If-None-Match with the weak comparison RFC 9110 prescribes for it. */
function matches(header: string | null, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

async function digest(text: string): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  let binary = '';
  for (const b of hash.subarray(0, 18)) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_');
}

function encodeCursor(job: JobDetails): string {
  return btoa(`${job.createdAt.toISOString()}|${job.id}`).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const [at, id] = atob(cursor.replaceAll('-', '+').replaceAll('_', '/')).split('|');
    const createdAt = new Date(at ?? '');
    if (id && UUID.test(id) && !Number.isNaN(createdAt.getTime())) return { createdAt, id };
  } catch {
    // fall through
  }
  throw new EdgeJobsError('invalid_argument', 'cursor is not one this API handed out (use nextCursor as given)');
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
