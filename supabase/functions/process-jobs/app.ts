/**
 * The process-jobs worker as a Hono app under /process-jobs (Supabase routes
 * /functions/v1/process-jobs/* here). POST starts a drain and answers 202 at once; the drain runs
 * in EdgeRuntime.waitUntil (in-process where there is no EdgeRuntime, e.g. plain Deno).
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { INVOCATION_TRIGGERS, runInvocation } from '../../../lib/invocation.ts';
import { coerceError } from '../../../lib/errors.ts';
import { createConsoleLogger } from '../../../lib/logger.ts';
import { bearerToken, constantTimeEqual } from '../../../lib/secrets.ts';
import type { JobRegistry } from '../../../lib/job.ts';
import type { Store } from '../../../lib/store.ts';
import type { WorkerConfig } from './config.ts';

export interface AppDeps {
  config: WorkerConfig;
  store: Store;
  registry: JobRegistry;
  /** Keeps the instance alive until the promise settles (EdgeRuntime.waitUntil), if the runtime has it. */
  waitUntil?: (promise: Promise<unknown>) => void;
}

const TRIGGERS = new Set<string>(INVOCATION_TRIGGERS);

export function createApp({ config, store, registry, waitUntil }: AppDeps) {
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

  app.onError((error, c) => {
    if (error instanceof HTTPException) return c.json({ error: { code: error.status === 401 ? 'unauthorized' : 'invalid_argument', message: error.message } }, error.status);
    log.error('process-jobs failed', { error: coerceError(error).message });
    return c.json({ error: { code: 'internal', message: 'the worker failed; see the function logs' } }, 500);
  });

  app.get('/health', async (c) => {
    const drains = await store.countRunningWorkers().catch(() => null);
    return c.json({ ok: drains !== null, runningDrains: drains, wallClockMs: config.wallClockMs, maxDrains: config.maxDrains }, drains === null ? 503 : 200);
  });

  app.post('/', async (c) => {
    const given = bearerToken(c.req.header('authorization')) ?? c.req.header('x-edgejobs-secret') ?? '';
    if (!given || !constantTimeEqual(given, config.secret)) throw new HTTPException(401, { message: 'missing or wrong worker secret' });
    // An empty body is a manual run; anything else must say which trigger it is.
    const text = await c.req.text();
    let body: { trigger?: unknown } = {};
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text) as { trigger?: unknown };
      } catch {
        throw new HTTPException(400, { message: 'the body must be JSON: {"trigger": "cron" | "kick" | "manual"}' });
      }
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body) || (body.trigger !== undefined && (typeof body.trigger !== 'string' || !TRIGGERS.has(body.trigger)))) {
      throw new HTTPException(400, { message: `trigger must be one of ${[...TRIGGERS].join(', ')}` });
    }
    const trigger = (body.trigger as string | undefined) ?? 'manual';
    const startedAt = Date.now();
    const deadline = startedAt + config.wallClockMs - config.marginMs;
    const workerId = `process-jobs-${crypto.randomUUID()}`;
    const stop = new AbortController();
    running.add(stop);
    const work = runInvocation({
      store, registry, trigger, deadline, workerId, workerName: 'process-jobs', signal: stop.signal, logger: log,
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
