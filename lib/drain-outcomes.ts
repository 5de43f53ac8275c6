/**
 * A drain's outcome writes and its summary: complete, fail, hand back and progress, each batched
 * (jobs that end together cost one round trip), retried through transient database errors until
 * the drain's deadline, and counted from what the database answered. Every write carries the
 * job's latest progress. A job is released (no longer held, no longer renewed) only once its
 * outcome is written, or will never be.
 */
import { createBatcher } from './batcher.ts';
import { coerceError, type ErrorJson } from './errors.ts';
import { MAX_CHAINED_COMPLETIONS_PER_CALL } from './limits.ts';
import type { HeldJob, HeldJobs } from './held-jobs.ts';
import type { Logger } from './logger.ts';
import { retryTransient } from './retry.ts';
import type { ProgressOutcome, WorkerRunSummary, WorkerStore } from './store.ts';

/** What a drain counted: the worker-run record's figures and the writes that failed for good. */
export interface OutcomeCounts extends Omit<WorkerRunSummary, 'stopReason'> {
  /** Outcomes that could not be written (database down past the deadline); those jobs run again after their lease. */
  unrecorded: number;
}

export interface OutcomesOptions {
  store: WorkerStore;
  held: HeldJobs;
  counts: OutcomeCounts;
  /** Writes are retried until this time (epoch ms): the drain's deadline, sooner once it is stopped. */
  until: () => number;
  log: Logger;
  /** Called once a job is released, after its outcome was written (or failed for good). */
  onReleased: (entry: HeldJob) => void;
  /** Called when a completion wrote follow-up jobs (before the job is released): there is work. */
  onChildrenWritten: () => void;
}

export interface Outcomes {
  complete(entry: HeldJob, result: unknown): void;
  fail(entry: HeldJob, error: ErrorJson, permanent: boolean, retryAt?: Date): void;
  /** Back to the queue without using an attempt (deadline, stop), with the latest progress. */
  handBack(entry: HeldJob): void;
  /** The lease was lost: nothing can be written for this job any more. */
  lost(entry: HeldJob): void;
  /** Writes progress (and a checkpoint) now; answers saved or lease_lost and cancel_requested. */
  saveProgress(entry: HeldJob, checkpoint?: { value: unknown }): Promise<ProgressOutcome>;
  /** Waits until every write pushed so far has finished. */
  flush(): Promise<void>;
}

/**
 * The outcome writer: one closure (longer than a screen) because every kind of write shares the
 * batchers, the counts and the release of each job; each kind is a short block.
 */
export function createOutcomes({ store, held, counts, until, log, onReleased, onChildrenWritten }: OutcomesOptions): Outcomes {
  const retried = <I, O>(name: string, write: (items: I[]) => Promise<O[]>, maxBatch?: number) =>
    createBatcher((items: I[]) => retryTransient(() => write(items), until, log, name), maxBatch);
  const completes = retried('complete_jobs', (items: Parameters<WorkerStore['completeJobs']>[0]) => store.completeJobs(items));
  // Completions with follow-up jobs apart, a few to a call: the plain ones keep their one-statement
  // path, and a call stays small (each run's children are capped in size).
  const chainedCompletes = retried('complete_jobs', (items: Parameters<WorkerStore['completeJobs']>[0]) => store.completeJobs(items), MAX_CHAINED_COMPLETIONS_PER_CALL);
  const fails = retried('fail_jobs', (items: Parameters<WorkerStore['failJobs']>[0]) => store.failJobs(items));
  const handBacks = retried('hand_back_jobs', (items: Parameters<WorkerStore['handBackJobs']>[0]) => store.handBackJobs(items));
  const saves = retried('save_job_progress', (items: Parameters<WorkerStore['saveJobProgress']>[0]) => store.saveJobProgress(items));

  const release = (entry: HeldJob) => {
    held.release(entry);
    onReleased(entry);
  };
  /**
   * The callback of an outcome write (a callback, not a promise per job: this is the hot path):
   * counts what the database answered, or a write that failed for good (the job then runs again
   * after its lease expires), and releases the job.
   */
  const written = <O>(entry: HeldJob, count: (result: O) => void) => (error: unknown, result?: O) => {
    if (error) {
      counts.unrecorded++;
      log.error('could not record a job outcome; the job will run again after its lease expires', { jobId: entry.job.id, error: coerceError(error).message });
    } else {
      count(result as O);
    }
    release(entry);
  };
  const lease = (entry: HeldJob) => {
    held.move(entry, 'writing');
    const { id, leaseToken } = entry.job;
    return entry.progressSet ? { id, leaseToken, progress: entry.progress } : { id, leaseToken };
  };
  const leaseLost = (entry: HeldJob, what: string) => {
    counts.leaseLost++;
    log.warn(`lease lost: ${what} not written (another worker owns the job now)`, { jobId: entry.job.id, type: entry.job.type });
  };

  return {
    complete(entry, result) {
      const batcher = entry.children ? chainedCompletes : completes;
      const item = entry.children ? { ...lease(entry), result, children: entry.children } : { ...lease(entry), result };
      batcher.push(item, written(entry, (r) => {
        if (r.outcome === 'completed') {
          counts.completed++;
          if (entry.children) onChildrenWritten();
        } else if (r.outcome === 'lease_lost') leaseLost(entry, 'result');
        else {
          // The database refused its follow-up jobs: the run was recorded as failed instead.
          log.error('follow-up jobs refused: the job failed instead of completing (error code children_refused)', { jobId: entry.job.id, type: entry.job.type });
          counts[r.outcome === 'retrying' ? 'retried' : r.outcome]++;
        }
      }));
    },
    fail(entry, error, permanent, retryAt) {
      fails.push({ ...lease(entry), error, permanent, retryAt }, written(entry, (r) => {
        if (r.outcome === 'retrying') counts.retried++;
        else if (r.outcome === 'failed') counts.failed++;
        else if (r.outcome === 'cancelled') counts.cancelled++;
        else leaseLost(entry, 'failure');
      }));
    },
    handBack(entry) {
      handBacks.push(lease(entry), written(entry, (r) => {
        if (r.outcome === 'queued') counts.handedBack++;
        else if (r.outcome === 'cancelled') counts.cancelled++;
        else leaseLost(entry, 'hand-back');
      }));
    },
    lost(entry) {
      counts.leaseLost++;
      log.warn('lease lost: the job was abandoned (another worker owns it now)', { jobId: entry.job.id, type: entry.job.type });
      release(entry);
    },
    async saveProgress(entry, checkpoint) {
      const item = {
        id: entry.job.id, leaseToken: entry.job.leaseToken,
        ...(entry.progressDirty ? { progress: entry.progress } : {}),
        ...(checkpoint ? { checkpoint: checkpoint.value } : {}),
      };
      entry.progressDirty = false;
      return saves.add(item);
    },
    async flush() {
      // A hand-back or fail may be pushed while another batch is written: flush until all are idle.
      while (completes.pending + chainedCompletes.pending + fails.pending + handBacks.pending + saves.pending > 0) {
        await Promise.all([completes.flush(), chainedCompletes.flush(), fails.flush(), handBacks.flush(), saves.flush()]);
      }
    },
  };
}
