/**
 * A drain's leases: every `heartbeatMs` it renews the lease of every job it holds (waiting,
 * running, or with its outcome being written) in one call, writes buffered progress every
 * `progressFlushMs`, and acts on what the database says about each job: a lost lease or a
 * cancel request. Each answer is one map lookup (see HeldJobs).
 */
import { coerceError } from './errors.ts';
import type { Outcomes } from './drain-outcomes.ts';
import type { HeldJob, HeldJobs } from './held-jobs.ts';
import type { Logger } from './logger.ts';
import { abortReason } from './run-job.ts';
import type { WorkerStore } from './store.ts';

export interface LeaseKeeperOptions {
  store: WorkerStore;
  held: HeldJobs;
  outcomes: Outcomes;
  leaseMs: number;
  heartbeatMs: number;
  progressFlushMs: number;
  log: Logger;
}

export interface LeaseKeeper {
  /** Acts on the database's news about one lease this drain holds (an answer for an older lease of the job is ignored). */
  news(id: string, leaseToken: string, leaseLost: boolean, cancelRequested: boolean): void;
  /** The lease of a held job is gone (the job was claimed again): end that entry. */
  lost(entry: HeldJob): void;
  /** Writes progress (and a checkpoint) for a running job now and acts on the answer. */
  saveProgress(entry: HeldJob, checkpoint?: { value: unknown }): ReturnType<Outcomes['saveProgress']>;
  /** Stops writing buffered progress (the outcome writes carry the latest). */
  stopProgress(): void;
  stop(): void;
}

export function startLeaseKeeper({ store, held, outcomes, leaseMs, heartbeatMs, progressFlushMs, log }: LeaseKeeperOptions): LeaseKeeper {
  const act = (entry: HeldJob, leaseLost: boolean, cancelRequested: boolean) => {
    if (!leaseLost && !cancelRequested) return;
    switch (entry.state) {
      case 'waiting':
        // Never started: a lost lease needs nothing more; a cancelled job is handed back, which
        // ends it cancelled without counting an attempt that never ran.
        if (leaseLost) outcomes.lost(entry);
        else outcomes.handBack(entry);
        return;
      case 'running':
        entry.abort?.abort(leaseLost
          ? abortReason('lease_lost', 'the lease on this job was lost')
          : abortReason('cancelled', 'the job was cancelled'));
        return;
      case 'writing':
        return; // its outcome write will say what happened
    }
  };
  const news = (id: string, leaseToken: string, leaseLost: boolean, cancelRequested: boolean) => {
    const entry = held.get(id, leaseToken);
    if (entry) act(entry, leaseLost, cancelRequested);
  };

  const saveProgress = async (entry: HeldJob, checkpoint?: { value: unknown }) => {
    const r = await outcomes.saveProgress(entry, checkpoint);
    news(r.id, entry.job.leaseToken, r.outcome === 'lease_lost', r.cancelRequested);
    return r;
  };

  let beating = false;
  const heartbeat = setInterval(async () => {
    if (beating || held.size === 0) return;
    beating = true;
    try {
      const leases = held.leases();
      const answers = await store.heartbeatJobs(leases, leaseMs);
      // One answer per lease sent, in order: matched by token too, so an answer about a lease
      // that was replaced meanwhile (the job ended and was claimed again) touches nothing.
      answers.forEach((r, i) => news(r.id, leases[i]!.leaseToken, r.outcome === 'lease_lost', r.cancelRequested));
    } catch (error) {
      log.warn('heartbeat failed; leases may expire', { error: coerceError(error).message });
    } finally {
      beating = false;
    }
  }, heartbeatMs);

  const flushProgress = () => {
    for (const entry of held.inState('running')) {
      if (entry.progressDirty && held.get(entry.job.id, entry.job.leaseToken)) saveProgress(entry).catch((error) => log.warn('saving progress failed', { jobId: entry.job.id, error: coerceError(error).message }));
    }
  };
  const progress = setInterval(flushProgress, progressFlushMs);
  const stopProgress = () => clearInterval(progress);

  return {
    news,
    lost: (entry) => act(entry, true, false),
    saveProgress,
    stopProgress,
    stop() {
      stopProgress();
      clearInterval(heartbeat);
    },
  };
}
