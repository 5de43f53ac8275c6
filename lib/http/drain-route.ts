/**
 * The drain as a route, for Vercel Cron (`Authorization: Bearer $CRON_SECRET`): the same
 * invocation the Edge Function runs, with a deadline below the route's maxDuration. On Vercel
 * Hobby crons run once a day: a fallback, not the main trigger.
 */
import { EdgeJobsError } from '../errors.ts';
import { runInvocation, type InvocationOptions } from '../invocation.ts';
import type { AnyJobDefinition, JobRegistry } from '../job.ts';
import { bearerToken, constantTimeEqual } from '../secrets.ts';
import type { Logger } from '../logger.ts';
import type { Store } from '../store.ts';
import { jsonResponse, toErrorResponse } from './errors.ts';

export interface DrainRouteOptions {
  store: Store;
  registry: JobRegistry<AnyJobDefinition>;
  /** CRON_SECRET. Required: without it the route drains nothing and answers 500 (logged: the server is not configured). */
  secret: string | undefined;
  /** How long the drain may run; keep it below the route's maxDuration. */
  drainMs: number;
  /** Where failures are logged (a 500 shows the caller nothing). Default: none. */
  logger?: Logger;
  /** Passed on to runInvocation (concurrency, leaseMs, maxDrains, …). */
  invocation?: Partial<Omit<InvocationOptions, 'store' | 'registry' | 'trigger' | 'deadline'>>;
}

/**
 * @example
 * export const maxDuration = 300
 * export const GET = drainRoute({ store, registry, secret: process.env.CRON_SECRET, drainMs: 270_000 })
 */
export function drainRoute(options: DrainRouteOptions): (request: Request) => Promise<Response> {
  if (!Number.isInteger(options.drainMs) || options.drainMs < 1_000) {
    throw new EdgeJobsError('configuration', `drainRoute: drainMs (EDGEJOBS_CRON_DRAIN_MS) must be an integer of at least 1000, not ${String(options.drainMs)}`);
  }
  return async (request) => {
    try {
      if (!options.secret) {
        // The server's fault, not the caller's: a 500 with the reason in the log; nothing runs.
        throw new EdgeJobsError('configuration', 'the cron drain route is off: set CRON_SECRET on the server (Vercel sends it as the Bearer token)');
      }
      const given = bearerToken(request.headers.get('authorization'));
      if (!given || !constantTimeEqual(given, options.secret)) {
        throw new EdgeJobsError('unauthorized', 'this route is for Vercel Cron: send Authorization: Bearer $CRON_SECRET');
      }
      const result = await runInvocation({
        workerName: 'vercel-cron', ...options.invocation, store: options.store, registry: options.registry, trigger: 'cron',
        deadline: Date.now() + options.drainMs, signal: request.signal,
      });
      return jsonResponse(200, result);
    } catch (thrown) {
      return toErrorResponse(thrown, options.logger);
    }
  };
}
