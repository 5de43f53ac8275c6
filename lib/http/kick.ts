/**
 * The kick from a route: after an enqueue, start a worker at once instead of at the next cron
 * tick, through `@supabase/functions-js` (`functions.invoke`). The database decides who kicks
 * (`claim_worker_kick()`: one kick per interval across every instance and every path, none while a
 * drain runs), so there is no kick storm; when the database can kick by itself (pg_net and the
 * Vault secrets are set up), its insert trigger has already claimed the kick and this does nothing.
 * A failed kick never fails the enqueue: it is logged, and the next tick runs the job.
 */
import { FunctionsClient } from '@supabase/functions-js';
import { coerceError } from '../errors.ts';
import { silentLogger, type Logger } from '../logger.ts';
import type { OperatorStore } from '../store.ts';

export interface KickerOptions {
  store: Pick<OperatorStore, 'claimWorkerKick'>;
  /** `${SUPABASE_URL}/functions/v1`. */
  functionsUrl: string;
  /** The worker secret the function checks (EDGEJOBS_WORKER_SECRET). */
  secret: string;
  /** Default 'process-jobs'. */
  functionName?: string;
  /**
   * After this instance kicked, it does not ask the database again for this long (default 1,000,
   * the database's own kicks.min_interval): under load most enqueues then cost no extra round trip.
   * 0 asks every time.
   */
  minIntervalMs?: number;
  logger?: Logger;
  /** Passed to functions-js; tests use it. */
  fetch?: typeof fetch;
}

/** Resolves true when this call kicked the worker; never rejects. */
export type Kicker = () => Promise<boolean>;

/**
 * @example
 * const kick = createKicker({ store, functionsUrl: `${process.env.SUPABASE_URL}/functions/v1`, secret: process.env.EDGEJOBS_WORKER_SECRET })
 */
export function createKicker(options: KickerOptions): Kicker {
  const log = options.logger ?? silentLogger;
  const name = options.functionName ?? 'process-jobs';
  const client = new FunctionsClient(options.functionsUrl, {
    headers: { Authorization: `Bearer ${options.secret}` },
    ...(options.fetch ? { customFetch: options.fetch } : {}),
  });
  const minIntervalMs = options.minIntervalMs ?? 1_000;
  let lastKickAt = -Infinity;
  return async () => {
    // The database would refuse within its interval anyway (it decides across every instance).
    if (Date.now() - lastKickAt < minIntervalMs) return false;
    try {
      if (!(await options.store.claimWorkerKick())) return false;
      lastKickAt = Date.now();
      const { error } = await client.invoke(name, { body: { trigger: 'kick' } });
      if (error) {
        log.warn('kick failed; the next cron tick will run the job', { error: coerceError(error).message });
        return false;
      }
      return true;
    } catch (error) {
      log.warn('kick failed; the next cron tick will run the job', { error: coerceError(error).message });
      return false;
    }
  };
}
