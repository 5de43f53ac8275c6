/**
 * When and how a drain stops. Three ways in:
 *
 * - the stop time (`deadline - handBackMarginMs`): the loop ends and running handlers are
 *   aborted at once, so that their jobs can be handed back before the deadline;
 * - an outside stop (`signal`: SIGTERM, beforeunload): the loop ends, and running handlers may go
 *   on for the shutdown grace (see the drain's wind-down);
 * - `handBackNow` (a second Ctrl-C): an outside stop that ends the grace at once.
 *
 * `halted` aborts on any of them, with the reason (`deadline` or `aborted`) as its reason.
 */
import type { EdgeJobsError } from './errors.ts';
import { abortReason } from './run-job.ts';

/** Stopped during a database outage: how long outcome writes are retried after the handlers' grace. */
const STOP_WRITES_MS = 2_000;

export interface StopControlOptions {
  deadline: number;
  /** deadline - handBackMarginMs. */
  stopAt: number;
  shutdownGraceMs: number;
  abortGraceMs: number;
  signal?: AbortSignal;
  handBackNow?: AbortSignal;
  /** Aborts the handlers that are running (called when the stop time comes). */
  abortRunning: (reason: EdgeJobsError) => void;
  /** Wakes the drain's loop. */
  wake: () => void;
}

export interface StopControl {
  /** Aborted when the drain must stop: no more claims, no more retries of a claim. */
  readonly halted: AbortSignal;
  /** Why it stopped, or null while it has not. */
  reason(): 'deadline' | 'aborted' | null;
  /** Stopped from outside: until when running jobs may finish (never past the stop time); else null. */
  graceEnd(): number | null;
  /** Whether the grace was ended (`handBackNow`). */
  graceEnded(): boolean;
  /**
   * Until when outcome writes are retried through a database outage: the deadline; once stopped
   * from outside, only the grace, the aborted handlers' grace and a little for the writes, so that
   * a stop during an outage still ends in time for the process manager.
   */
  writesUntil(): number;
  /** The reason handlers still running at the end are aborted with. */
  abortReasonNow(): EdgeJobsError;
  /** The stop time no longer halts or aborts anything (the wind-down has begun; the stop reason is settled). */
  disarm(): void;
  /** Removes the listeners (after the last outcome write, which `handBackNow` may still cut short). */
  dispose(): void;
}

export function createStopControl(o: StopControlOptions): StopControl {
  const halt = new AbortController();
  halt.signal.addEventListener('abort', o.wake);
  let stoppedAt = 0;
  let handBackNowAt = 0;

  const deadlineReason = abortReason('deadline', 'the drain reached its deadline');
  const timer = setTimeout(() => {
    halt.abort(deadlineReason);
    o.abortRunning(deadlineReason);
  }, Math.max(0, o.stopAt - Date.now()));
  const onStop = () => {
    stoppedAt ||= Date.now();
    halt.abort(abortReason('aborted', 'the drain was stopped'));
  };
  const onHandBackNow = () => {
    handBackNowAt ||= Date.now();
    onStop();
    o.wake(); // ends the grace wait
  };
  if (o.signal?.aborted) onStop();
  else o.signal?.addEventListener('abort', onStop, { once: true });
  if (o.handBackNow?.aborted) onHandBackNow();
  else o.handBackNow?.addEventListener('abort', onHandBackNow, { once: true });

  return {
    halted: halt.signal,
    reason: () => (halt.signal.aborted ? ((halt.signal.reason as EdgeJobsError).code as 'deadline' | 'aborted') : null),
    graceEnd: () => (stoppedAt ? Math.min(stoppedAt + o.shutdownGraceMs, o.stopAt) : null),
    graceEnded: () => handBackNowAt > 0,
    writesUntil() {
      if (handBackNowAt) return Math.min(o.deadline, handBackNowAt + o.abortGraceMs + STOP_WRITES_MS);
      if (stoppedAt) return Math.min(o.deadline, stoppedAt + o.shutdownGraceMs + o.abortGraceMs + STOP_WRITES_MS);
      return o.deadline;
    },
    abortReasonNow: () => (Date.now() >= o.stopAt ? deadlineReason : abortReason('aborted', 'the drain is stopping')),
    disarm: () => clearTimeout(timer),
    dispose() {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onStop);
      o.handBackNow?.removeEventListener('abort', onHandBackNow);
    },
  };
}
