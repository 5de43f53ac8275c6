/**
 * Drains again and again until stopped: the local dev runner and long-running worker processes.
 * Each round is one time-boxed `drain()` (so leases, hand-backs and worker-run records behave as
 * in the Edge Function); between rounds it waits `idleMs` when the queue was empty.
 */
import { DEFAULT_HAND_BACK_MARGIN_MS, drain, type DrainOptions, type DrainSummary } from './drain.ts';
import { EdgeJobsError } from './errors.ts';
import { silentLogger, type Logger } from './logger.ts';

export interface DrainLoopOptions extends Omit<DrainOptions, 'deadline' | 'signal'> {
  /** Length of each drain round. Default 10,000 ms. */
  roundMs?: number;
  /**
   * Idle, how often to look again: the wait between empty rounds, or with `waitForWork` the
   * longest single wait (jobs whose run_at comes send no notification). Default 250 ms. (The
   * drain's `recheckMs` is another idea: how often a busy drain claims again after a short claim.)
   */
  idleMs?: number;
  /** Wait after a round that failed (database down). Default 2,000 ms, doubling to 30 s. */
  errorMs?: number;
  /** Stop: the running round claims nothing more, lets running jobs finish within `shutdownGraceMs`, hands the rest back, and the loop resolves. */
  signal: AbortSignal;
  onRound?: (summary: DrainSummary) => void;
  /**
   * A wake-up (see {@link createWakeup}), the drain's own option: each round then waits for work
   * inside the drain (up to `idleMs` at a time, ending early when woken, then looking again for
   * jobs whose run_at has come) until the round's end, so a new job costs one claim and an idle
   * worker records one run per round. Without it, empty rounds end at once and the loop sleeps
   * `idleMs` between them.
   */
  waitForWork?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Runs drain rounds until `signal` aborts.
 * @example
 * const stop = new AbortController()
 * process.once('SIGTERM', () => stop.abort())
 * await runDrainLoop({ store, registry, signal: stop.signal })
 */
export async function runDrainLoop(options: DrainLoopOptions): Promise<void> {
  const { roundMs = 10_000, idleMs = 250, errorMs = 2_000, signal, onRound, waitForWork: wake, ...drainOptions } = options;
  const log = options.logger ?? silentLogger;
  const margin = options.handBackMarginMs ?? DEFAULT_HAND_BACK_MARGIN_MS;
  if (!(roundMs >= margin + 500)) {
    throw new EdgeJobsError('configuration', `runDrainLoop: roundMs (${roundMs}) must be at least handBackMarginMs (${margin}) + 500, or no job fits in a round`);
  }
  let backoff = errorMs;
  while (!signal.aborted) {
    // With a wake-up source the round itself waits for work (a new job costs one claim); without
    // one, an empty round ends at once and the loop polls between rounds.
    const waitForWork = wake && ((maxMs: number, s: AbortSignal) => wake(Math.min(idleMs, maxMs), s));
    const summary = await drain({ ...drainOptions, deadline: Date.now() + roundMs, signal, ...(waitForWork ? { waitForWork } : {}) });
    onRound?.(summary);
    if (summary.stopReason === 'error') {
      log.warn('drain round failed; waiting before the next', { waitMs: backoff, error: summary.error });
      await wait(backoff, signal);
      backoff = Math.min(30_000, backoff * 2);
      continue;
    }
    backoff = errorMs;
    // An empty queue, or a round that could claim nothing (all queues paused or at their limit).
    if (!wake && (summary.stopReason === 'empty' || summary.claimed === 0)) await wait(idleMs, signal);
  }
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A wake-up source for {@link runDrainLoop}'s idle waits (e.g. fed by LISTEN notifications). */
export interface Wakeup {
  /** Call when new work may exist; a wait in progress ends at once, otherwise the next one does. */
  notify(): void;
  /** Pass as `waitForWork`. */
  waitForWork(ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * Creates a wake-up that loses no notification: one that arrives while a round is still running
 * (between its last empty claim and the wait) ends the next wait at once.
 * @example
 * const wakeup = createWakeup()
 * await sql.listen('edgejobs_jobs', () => wakeup.notify())
 * await runDrainLoop({ store, registry, signal, waitForWork: wakeup.waitForWork, idleMs: 30_000 })
 */
export function createWakeup(): Wakeup {
  let pending = false;
  let wake: (() => void) | null = null;
  return {
    notify() {
      if (wake) wake();
      else pending = true;
    },
    waitForWork(ms, signal) {
      if (pending || signal.aborted) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wake = null;
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    },
  };
}

/**
 * Wake-ups from `LISTEN edgejobs_jobs` (the insert trigger's NOTIFY) on a postgres.js client, for
 * {@link runDrainLoop}'s `waitForWork`; null when LISTEN is not available (Supabase's transaction
 * pooler does not carry it: poll instead). postgres.js listens on a connection of its own.
 * @example
 * const wakeup = await listenForJobs(store.sql, log)
 * await runDrainLoop({ store, registry, signal, idleMs: 5_000, ...(wakeup ? { waitForWork: wakeup.waitForWork } : {}) })
 */
export async function listenForJobs(sql: { listen(channel: string, onNotify: () => void): Promise<unknown> }, log: Logger = silentLogger): Promise<Wakeup | null> {
  const wakeup = createWakeup();
  try {
    await sql.listen('edgejobs_jobs', () => wakeup.notify());
    return wakeup;
  } catch (error) {
    log.warn('LISTEN is not available; polling instead', { error: (error as Error).message });
    return null;
  }
}
