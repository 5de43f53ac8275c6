/**
 * The process-jobs worker as a Hono app under /process-jobs (Supabase routes
 * /functions/v1/process-jobs/* here). POST starts a drain and answers 202 at once; the drain runs
 * in EdgeRuntime.waitUntil (in-process where there is no EdgeRuntime, e.g. plain Deno).
 */
import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { HTTPException } from 'hono/http-exception';
import { INVOCATION_TRIGGERS, runInvocation } from '../invocation.ts';
import { EdgeJobsError, coerceError } from '../errors.ts';
import { toErrorResponse } from '../http/errors.ts';
import { createConsoleLogger } from '../logger.ts';
import { constantTimeEqual } from '../secrets.ts';
import type { JobRegistry } from '../job.ts';
import type { Store } from '../store.ts';
import type { ScheduleDefinition } from '../schedules.ts';
import type { WorkerConfig } from './config.ts';

export interface AppDeps {
  config: WorkerConfig;
  store: Store;
  registry: JobRegistry;
  /** The app's schedules, registered by the first drain. */
  schedules?: ScheduleDefinition[];
  /** Keeps the instance alive until the promise settles (EdgeRuntime.waitUntil), if the runtime has it. */
  waitUntil?: (promise: Promise<unknown>) => void;
}

const TRIGGERS = new Set<string>(INVOCATION_TRIGGERS);

export function createApp({ config, store, registry, schedules, waitUntil }: AppDeps) {
  const log = createConsoleLogger('info');
  /** Every running drain, so a shutdown notice can hand all of their jobs back. */
  const running = new Set<AbortController>();

  const startInvocation = async (selfUrl: string, trigger: 'continue' | 'fanout') => {
    const response = await fetch(selfUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${config.secret}` },
      body: JSON.stringify({ trigger }),
      signal: AbortSignal.timeout(10_000),
    });
    await response.body?.cancel();
    if (response.status !== 202) throw new Error(`the next invocation answered ${response.status}`);
  };

  const app = new Hono().basePath('/process-jobs');

  // One error model with the routes: { error: { code, message } }, the same status per code,
  // WWW-Authenticate on 401; anything unexpected is a logged 500 that shows the caller nothing.
  app.onError((error) => (error instanceof HTTPException ? error.getResponse() : toErrorResponse(error, log)));
  const refused = (message: string) => toErrorResponse(new EdgeJobsError('unauthorized', message));

  app.get('/health', async (c) => {
    const drains = await store.countRunningWorkers().catch(() => null);
    return c.json({ ok: drains !== null, runningDrains: drains, wallClockMs: config.wallClockMs, maxDrains: config.maxDrains }, drains === null ? 503 : 200);
  });

  app.post('/', bearerAuth({
    verifyToken: (token) => constantTimeEqual(token, config.secret),
    noAuthenticationHeader: { message: () => refused('send the worker secret: Authorization: Bearer <EDGEJOBS_WORKER_SECRET>') },
    invalidAuthenticationHeader: { message: () => refused('the Authorization header must be "Bearer <EDGEJOBS_WORKER_SECRET>"') },
    invalidToken: { message: () => refused('wrong worker secret') },
  }), async (c) => {
    // An empty body is a manual run; anything else must say which trigger it is.
    const text = await c.req.text();
    let body: { trigger?: unknown } = {};
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text) as { trigger?: unknown };
      } catch {
        throw new EdgeJobsError('malformed_json', 'the body must be JSON: {"trigger": "cron" | "kick" | "manual"}');
      }
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body) || (body.trigger !== undefined && (typeof body.trigger !== 'string' || !TRIGGERS.has(body.trigger)))) {
      throw new EdgeJobsError('invalid_argument', `trigger must be one of ${[...TRIGGERS].join(', ')}`);
    }
    const trigger = (body.trigger as string | undefined) ?? 'manual';
    const startedAt = Date.now();
    const deadline = startedAt + config.wallClockMs - config.marginMs;
    const workerId = `process-jobs-${crypto.randomUUID()}`;
    const stop = new AbortController();
    running.add(stop);
    const work = runInvocation({
      store, registry, ...(schedules ? { schedules } : {}), trigger, deadline, workerId, workerName: 'process-jobs', signal: stop.signal, logger: log,
      concurrency: config.concurrency, leaseMs: config.leaseMs, maxDrains: config.maxDrains, readyPerDrain: config.readyPerDrain,
      // The only stop here is the platform's shutdown notice: hand everything back at once.
      shutdownGraceMs: 0,
      startInvocation: config.selfUrl ? (next) => startInvocation(config.selfUrl as string, next) : undefined,
    }).then((result) => {
      log.info('drain finished', { workerId, trigger, drained: result.drained, fannedOut: result.fannedOut, continued: result.continued, ...result.summary });
    }, (error) => log.error('drain crashed', { workerId, error: coerceError(error).message }))
      .finally(() => running.delete(stop));
    if (waitUntil) waitUntil(work);
    return c.json({ accepted: true, workerId, trigger, deadline: new Date(deadline).toISOString() }, 202);
  });

  /** The platform is about to stop this instance: abort every drain so its jobs are handed back. */
  const shutdown = (reason: string) => {
    for (const controller of running) controller.abort(new Error(`shutting down: ${reason}`));
  };
  return { app, shutdown };
}
