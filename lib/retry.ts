/**
 * Repeats a database call that failed for a transient reason (connection lost, server
 * restarting, deadlock: the list is in sql-errors.ts) until it succeeds or time runs out.
 */
import { EdgeJobsError, coerceError } from './errors.ts';
import type { Logger } from './logger.ts';

/** First wait after a failed call; it doubles up to {@link MAX_RETRY_DELAY_MS}. */
const FIRST_RETRY_DELAY_MS = 100;
/** Longest wait between two tries: a restarted Postgres is noticed within a second. */
const MAX_RETRY_DELAY_MS = 1_000;

/**
 * Calls `fn` until it succeeds; retries only errors marked `retryable` (transient), waiting
 * 100 ms, 200 ms, 400 ms, 800 ms, then every second, as long as the next try starts before
 * `until` (epoch ms, or a function giving it: the drain shortens it when it is stopped) and
 * `stop` is not aborted. A fixed number of tries is not enough: a Postgres restart takes seconds
 * (a 3.5 s restart outlasted six tries), and a lost write makes a finished job run again.
 * @example
 * await retryTransient(() => store.completeJobs(items), deadline, log, 'complete_jobs')
 */
export async function retryTransient<T>(
  fn: () => Promise<T>, until: number | (() => number), log: Logger, what: string, stop?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const delay = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** (attempt - 1));
      const retryable = error instanceof EdgeJobsError && error.retryable;
      const end = typeof until === 'function' ? until() : until;
      if (!retryable || Date.now() + delay > end || stop?.aborted) throw error;
      if (attempt === 1 || attempt % 5 === 0) log.warn(`${what} failed, retrying`, { error: coerceError(error).message, attempt });
      await pause(delay, stop);
      if (stop?.aborted) throw error;
    }
  }
}

/** Waits `ms`, or less when `stop` aborts. */
function pause(ms: number, stop?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stop?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop?.addEventListener('abort', done, { once: true });
  });
}
