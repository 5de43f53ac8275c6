/**
 * One worker invocation (an Edge Function request, a Vercel Cron call): decide whether to drain,
 * fan out when the queue is deep, drain until the deadline, and start the next invocation when
 * time ran out with work left. Runtime-neutral; the host supplies `startInvocation` (an HTTP call
 * to itself).
 */
import { drain, type DrainOptions, type DrainSummary } from './drain.ts';
import { coerceError } from './errors.ts';
import { createConsoleLogger } from './logger.ts';
import type { OperatorStore, WorkerStore } from './store.ts';

/** The triggers an invocation may name. */
export const INVOCATION_TRIGGERS = ['cron', 'kick', 'continue', 'fanout', 'manual'] as const;

/** Why an invocation started: 'cron' and 'kick' may fan out; 'continue' and 'fanout' may not. */
export type InvocationTrigger = (typeof INVOCATION_TRIGGERS)[number] | (string & {});

export interface InvocationOptions extends Omit<DrainOptions, 'store' | 'trigger'> {
  store: WorkerStore & Pick<OperatorStore, 'countRunningWorkers' | 'getQueueHealth'>;
  trigger: InvocationTrigger;
  /** Most drains running at once, this one included (fan-out and cron ticks stop there). Default 4. */
  maxDrains?: number;
  /** Ready jobs per extra drain when fanning out. Default 500. */
  readyPerDrain?: number;
  /** Starts another invocation (e.g. POST to this function). Without it there is no fan-out or continuation. */
  startInvocation?: (trigger: 'continue' | 'fanout') => Promise<void>;
}

export interface InvocationResult {
  /** False when enough drains were already running: nothing was done. */
  drained: boolean;
  summary: DrainSummary | null;
  /** Extra drains started because the queue was deep. */
  fannedOut: number;
  /** Whether the next invocation was started because time ran out with work left. */
  continued: boolean;
}

/**
 * Runs one invocation to its end.
 * @example
 * EdgeRuntime.waitUntil(runInvocation({ store, registry, trigger: 'cron', deadline: Date.now() + 135_000, startInvocation }))
 */
export async function runInvocation(options: InvocationOptions): Promise<InvocationResult> {
  const { store, trigger, maxDrains = 4, readyPerDrain = 500, startInvocation, ...drainOptions } = options;
  const log = options.logger ?? createConsoleLogger('warn');
  const root = trigger !== 'continue' && trigger !== 'fanout';
  let fannedOut = 0;
  try {
    if (root) {
      const running = await store.countRunningWorkers();
      if (running >= maxDrains) return { drained: false, summary: null, fannedOut: 0, continued: false };
      if (startInvocation && maxDrains - running > 1) {
        const { ready } = await store.getQueueHealth();
        fannedOut = Math.min(maxDrains - running - 1, Math.floor(ready / readyPerDrain));
        for (let i = 0; i < fannedOut; i++) {
          startInvocation('fanout').catch((e) => log.warn('fan-out invocation failed to start', { error: coerceError(e).message }));
        }
      }
    }
  } catch (error) {
    // Not knowing how many drains run is no reason not to drain.
    log.warn('could not read the worker count; draining without fan-out', { error: coerceError(error).message });
  }
  const summary = await drain({ ...drainOptions, store, trigger });
  let continued = false;
  if (startInvocation && summary.moreWork && (summary.stopReason === 'deadline' || summary.stopReason === 'aborted')) {
    try {
      await startInvocation('continue');
      continued = true;
    } catch (error) {
      log.warn('could not start the next invocation; the next cron tick will', { error: coerceError(error).message });
    }
  }
  return { drained: true, summary, fannedOut, continued };
}
