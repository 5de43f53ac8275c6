/**
 * drain(): the time-boxed worker loop that every host runs (the Edge Function, the Vercel Cron
 * route, `npm run worker`, the dev runner) with its own deadline. It owns timing, concurrency and
 * bookkeeping only; every database call goes through the injected WorkerStore.
 *
 *   reap expired leases → claim a batch (SKIP LOCKED) → run handlers, `concurrency` at a time →
 *   complete / fail in natural batches → claim again … until the queue is empty or the time left
 *   cannot fit another job. At `deadline - handBackMarginMs` running handlers are aborted, get
 *   `abortGraceMs` to stop, and whatever is unfinished is handed back with its checkpoint (the
 *   attempt is not counted). Leases are renewed every `heartbeatMs` while jobs run.
 */
import { EdgeJobsError, coerceError, serializeError, type ErrorJson } from './errors.ts';
import type { AnyJobDefinition, JobContext, JobRegistry } from './job.ts';
import { createConsoleLogger, type Logger } from './logger.ts';
import { createBatcher } from './batcher.ts';
import { LazyAbort, abortReason, runJob, type RunOutcome } from './run-job.ts';
import type { ClaimedJob, HandBackItem, WorkerRunSummary, WorkerStore } from './store.ts';

export interface DrainOptions {
  store: WorkerStore;
  registry: JobRegistry<AnyJobDefinition>;
  /** When the drain must be completely done (epoch ms or Date), hand-backs included. */
  deadline: number | Date;
  /** Unique id of this drain, recorded as the lease holder. Default `drain-<uuid>`. */
  workerId?: string;
  /** What started the drain, recorded in worker_runs (cron, kick, worker, ...). Default 'manual'. */
  trigger?: string;
  /** Handlers running at once. Default 10. */
  concurrency?: number;
  /** Most jobs claimed in one round trip (1-1000). Default 100. Fast jobs are prefetched up to this. */
  batchSize?: number;
  /** Lease length; a job whose worker stops renewing is back in the queue this long after. Default 30,000. */
  leaseMs?: number;
  /** How often leases are renewed (and expired leases reaped). Default leaseMs / 3. */
  heartbeatMs?: number;
  /** Time kept before the deadline to abort handlers and hand jobs back. Default 2,000. */
  handBackMarginMs?: number;
  /** How long an aborted handler may take to settle. Default 1,000 (at most half the margin). */
  abortGraceMs?: number;
  /** While jobs run and the queue looked empty, look for new jobs this often. Default 1,000. */
  idlePollMs?: number;
  /** How often buffered progress is written. Default 250. */
  progressFlushMs?: number;
  /** Only claim from these queues. Default: all. */
  queues?: string[];
  /** Stops the drain early (e.g. SIGTERM, beforeunload): running jobs are handed back. */
  signal?: AbortSignal;
  /**
   * Long-running hosts: when the queue is empty, wait with this and look again, until the
   * deadline, instead of returning 'empty'. It is given the most it may wait (the time left before
   * the drain stops) and chooses how long to wait within that, ending early on a wake-up such as
   * a LISTEN notification. A new job then costs one claim, not a new drain. (`idlePollMs` is
   * unrelated: it paces looking for more work while jobs run.)
   */
  waitForWork?: (ms: number, signal: AbortSignal) => Promise<void>;
  logger?: Logger;
}

/** Why a drain returned. */
export type StopReason = 'empty' | 'deadline' | 'aborted' | 'error';

/**
 * What a drain did: the counts recorded in worker_runs (see {@link WorkerRunSummary}: failed =
 * for good, retried = scheduled for another attempt, leaseLost = results not written) and more.
 */
export interface DrainSummary extends WorkerRunSummary {
  runId: string | null;
  workerId: string;
  /** Outcomes that could not be written (database down); those jobs rerun after their lease. */
  unrecorded: number;
  stopReason: StopReason;
  /** False only when the last claim showed the queue empty; true means there may be more to do. */
  moreWork: boolean;
  durationMs: number;
  error: ErrorJson | null;
}

interface Entry {
  job: ClaimedJob;
  abort: LazyAbort;
  progress: unknown;
  progressDirty: boolean;
  /** Settles when an asynchronous handler's outcome is reported; null for a synchronous one. */
  done: Promise<void> | null;
}

/** Default `handBackMarginMs`. */
export const DEFAULT_HAND_BACK_MARGIN_MS = 2_000;
const FAST_JOB_MS = 50;
const MIN_CLAIM_MS = 10;
/** Synchronous handlers run back to back for at most this long before timers and I/O get a turn. */
const SLICE_MS = 20;
const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Runs jobs until the queue is empty or the deadline comes, and returns what it did. Never
 * throws for database or handler errors (they are in the summary); throws `configuration` for bad
 * options.
 * @example
 * const summary = await drain({ store, registry, deadline: Date.now() + 60_000, trigger: 'cron' })
 */
export async function drain(options: DrainOptions): Promise<DrainSummary> {
  const o = resolveOptions(options);
  const { store, registry, logger: log } = o;
  const startedAt = Date.now();
  const stopAt = o.deadline - o.handBackMarginMs;
  const summary: DrainSummary = {
    runId: null, workerId: o.workerId, claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0,
    handedBack: 0, leaseLost: 0, unrecorded: 0, stopReason: 'empty', moreWork: false, durationMs: 0, error: null,
  };

  /** Repeats a call on transient database errors (backoff 50 ms doubling), never past the deadline. */
  async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        const delay = Math.min(2_000, 50 * 2 ** attempt);
        const retryable = error instanceof EdgeJobsError && error.retryable;
        if (!retryable || attempt >= 6 || Date.now() + delay > o.deadline) throw error;
        log.warn('database call failed, retrying', { error: coerceError(error).message, attempt });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  try {
    summary.runId = await withRetry(() => store.startWorkerRun({ workerId: o.workerId, trigger: o.trigger, deadline: new Date(o.deadline) }));
  } catch (error) {
    log.error('could not start the worker run; nothing was claimed', { error: coerceError(error).message });
    return { ...summary, stopReason: 'error', moreWork: true, durationMs: Date.now() - startedAt, error: serializeError(error, { stack: false }) };
  }

  const stop = new AbortController();
  const stopTimer = setTimeout(() => stop.abort(abortReason('deadline', 'the drain reached its deadline')), Math.max(0, stopAt - Date.now()));
  const onExternalAbort = () => stop.abort(abortReason('aborted', 'the drain was stopped'));
  if (o.signal?.aborted) onExternalAbort();
  else o.signal?.addEventListener('abort', onExternalAbort, { once: true });

  const running = new Map<string, Entry>();
  let backlog: ClaimedJob[] = [];
  /** Moving average of handler durations: decides prefetching and whether another job fits. */
  let ewma: number | null = null;
  let notify: (() => void) | null = null;
  const wake = () => {
    const n = notify;
    notify = null;
    n?.();
  };
  stop.signal.addEventListener('abort', wake);

  const completes = createBatcher((items: Parameters<WorkerStore['completeJobs']>[0]) => withRetry(() => store.completeJobs(items)));
  const fails = createBatcher((items: Parameters<WorkerStore['failJobs']>[0]) => withRetry(() => store.failJobs(items)));
  const handBacks = createBatcher((items: Parameters<WorkerStore['handBackJobs']>[0]) => withRetry(() => store.handBackJobs(items)));
  const saves = createBatcher((items: Parameters<WorkerStore['saveJobProgress']>[0]) => withRetry(() => store.saveJobProgress(items)));

  /**
   * The callback of an outcome write (a callback, not a promise chain per job: this is the hot
   * path): counts what the database answered, or a write that failed for good (the job then runs
   * again after its lease expires). The batchers' flush() waits for every one of them.
   */
  const recorded = <O>(count: (result: O) => void) => (error: unknown, result?: O) => {
    if (error) {
      summary.unrecorded++;
      log.error('could not record a job outcome; the job will run again after its lease expires', { error: coerceError(error).message });
    } else {
      count(result as O);
    }
  };

  const fail = (job: ClaimedJob, error: ErrorJson, permanent: boolean, retryAt?: Date) =>
    fails.push({ id: job.id, leaseToken: job.leaseToken, error, permanent, retryAt }, recorded((r) => {
      if (r.outcome === 'retrying') summary.retried++;
      else if (r.outcome === 'failed') summary.failed++;
      else if (r.outcome === 'cancelled') summary.cancelled++;
      else summary.leaseLost++;
    }));

  const handBack = (item: HandBackItem) =>
    handBacks.push(item, recorded((r) => {
      if (r.outcome === 'queued') summary.handedBack++;
      else if (r.outcome === 'cancelled') summary.cancelled++;
      else summary.leaseLost++;
    }));

  const report = (entry: Entry, outcome: RunOutcome) => {
    const { job } = entry;
    const progress = entry.progressDirty ? { progress: entry.progress } : {};
    switch (outcome.kind) {
      case 'completed':
        return completes.push({ id: job.id, leaseToken: job.leaseToken, result: outcome.result, ...progress }, recorded((r) => {
          if (r.outcome === 'completed') summary.completed++;
          else {
            summary.leaseLost++;
            log.warn('lease lost: result not written (another worker owns the job now)', { jobId: job.id, type: job.type });
          }
        }));
      case 'failed':
        if (outcome.error.code !== 'cancelled') log.info('job attempt failed', { jobId: job.id, type: job.type, attempt: job.attempt, error: outcome.error.message });
        return fail(job, outcome.error, outcome.permanent, outcome.retryAt);
      case 'handed_back':
        return handBack({ id: job.id, leaseToken: job.leaseToken, ...progress });
      case 'abandoned':
        summary.leaseLost++;
        log.warn('lease lost while running: the job was abandoned', { jobId: job.id, type: job.type });
    }
  };

  /** Acts on what the database says about held jobs: lost leases and cancel requests. */
  const applyLeaseNews = (id: string, leaseLost: boolean, cancelRequested: boolean) => {
    const entry = running.get(id);
    if (entry) {
      if (leaseLost) entry.abort.abort(abortReason('lease_lost', 'the lease on this job was lost'));
      else if (cancelRequested) entry.abort.abort(abortReason('cancelled', 'the job was cancelled'));
      return;
    }
    const queued = backlog.find((j) => j.id === id);
    if (!queued) return;
    backlog = backlog.filter((j) => j.id !== id);
    if (leaseLost) summary.leaseLost++;
    else if (cancelRequested) fail(queued, new EdgeJobsError('cancelled', 'the job was cancelled').toJSON(), true);
  };

  const saveProgress = async (entry: Entry, checkpoint?: { value: unknown }) => {
    const item = {
      id: entry.job.id, leaseToken: entry.job.leaseToken,
      ...(entry.progressDirty ? { progress: entry.progress } : {}),
      ...(checkpoint ? { checkpoint: checkpoint.value } : {}),
    };
    entry.progressDirty = false;
    const r = await saves.add(item);
    applyLeaseNews(r.id, r.outcome === 'lease_lost', r.cancelRequested);
    return r;
  };

  const start = (job: ClaimedJob) => {
    const definition = registry.get(job.type) as AnyJobDefinition;
    const abort = new LazyAbort();
    const entry: Entry = { job, abort, progress: undefined, progressDirty: false, done: null };
    running.set(job.id, entry);
    let jobLog: Logger | undefined;
    const context: JobContext = {
      job: {
        id: job.id, type: job.type, queue: job.queue, priority: job.priority, attempt: job.attempt,
        maxAttempts: job.maxAttempts, createdAt: job.createdAt, runAt: job.runAt,
        idempotencyKey: job.idempotencyKey, ownerId: job.ownerId,
      },
      // Made on first use, like the log: a synchronous handler rarely needs a signal.
      get signal() {
        return abort.signal;
      },
      deadline: definition.timeoutMs === undefined ? stopAt : Math.min(stopAt, Date.now() + definition.timeoutMs),
      lastCheckpoint: job.checkpoint ?? undefined,
      idempotencyKey: job.idempotencyKey ?? job.id,
      progress(value) {
        entry.progress = value;
        entry.progressDirty = true;
      },
      async checkpoint(value) {
        const r = await saveProgress(entry, { value });
        if (r.outcome === 'lease_lost') throw new EdgeJobsError('lease_lost', `job ${job.id}: the lease was lost; the checkpoint was not saved`);
      },
      // Made on first use: most handlers never log.
      get log() {
        return (jobLog ??= {
          debug: (m, f) => log.debug(m, { jobId: job.id, ...f }),
          info: (m, f) => log.info(m, { jobId: job.id, ...f }),
          warn: (m, f) => log.warn(m, { jobId: job.id, ...f }),
          error: (m, f) => log.error(m, { jobId: job.id, ...f }),
        });
      },
    };
    const finished = (outcome: RunOutcome) => {
      running.delete(job.id);
      ewma = ewma === null ? outcome.durationMs : ewma * 0.8 + outcome.durationMs * 0.2;
      report(entry, outcome);
      wake();
    };
    const outcome = runJob({ job, definition, abort, context, graceMs: o.abortGraceMs });
    if (outcome instanceof Promise) entry.done = outcome.then(finished);
    else finished(outcome);
  };

  let heartbeatBusy = false;
  let lastReap = 0;
  const reap = async () => {
    lastReap = Date.now();
    try {
      const reaped = await store.reapExpiredLeases();
      if (reaped.length > 0) log.info('reaped jobs whose worker was lost', { count: reaped.length });
    } catch (error) {
      log.warn('reaping expired leases failed', { error: coerceError(error).message });
    }
  };
  const heartbeatTimer = setInterval(async () => {
    if (heartbeatBusy) return;
    heartbeatBusy = true;
    try {
      const held = [...[...running.values()].map((e) => e.job), ...backlog];
      if (held.length > 0) {
        const outcomes = await store.heartbeatJobs(held.map((j) => ({ id: j.id, leaseToken: j.leaseToken })), o.leaseMs);
        for (const r of outcomes) applyLeaseNews(r.id, r.outcome === 'lease_lost', r.cancelRequested);
      }
      if (Date.now() - lastReap >= o.leaseMs) await reap();
    } catch (error) {
      log.warn('heartbeat failed; leases may expire', { error: coerceError(error).message });
    } finally {
      heartbeatBusy = false;
    }
  }, o.heartbeatMs);
  const progressTimer = setInterval(() => {
    for (const entry of running.values()) {
      if (entry.progressDirty) saveProgress(entry).catch((error) => log.warn('saving progress failed', { jobId: entry.job.id, error: coerceError(error).message }));
    }
  }, o.progressFlushMs);

  let fatal: unknown = null;
  let lastClaimShort = false;
  let lastClaimAt = 0;
  /** The claim in flight: claims overlap with running jobs, so the database and the handlers work at once. */
  let claiming: Promise<void> | null = null;
  let claimFailure: { error: unknown } | null = null;
  /** The last claim found nothing while nothing ran: the queue is empty (for now). */
  let emptyWhileIdle = false;
  const types = registry.types();

  /** Whether another job (of the average duration so far) fits before the stop time. */
  const anotherFits = () => stopAt - Date.now() > (ewma ?? 0) + MIN_CLAIM_MS;

  const maybeClaim = () => {
    if (claiming) return;
    const now = Date.now();
    const idle = running.size === 0 && backlog.length === 0;
    if (idle && emptyWhileIdle) return;
    // Fast jobs: claim a whole batch ahead, and the next one while half of it is left (fewer
    // round trips, and the claim runs while handlers do). Slow ones: only free slots, so other
    // workers can take the rest.
    const prefetch = ewma !== null && ewma < FAST_JOB_MS ? o.batchSize : 0;
    const want = Math.min(o.batchSize, o.concurrency + prefetch - running.size - backlog.length);
    const mayClaim = anotherFits() && want > 0 && (prefetch === 0 || backlog.length < Math.max(o.concurrency, o.batchSize / 2))
      && (!lastClaimShort || idle || now - lastClaimAt >= o.idlePollMs);
    if (!mayClaim) return;
    lastClaimAt = now;
    emptyWhileIdle = false;
    claiming = withRetry(() => store.claimJobs({ workerId: o.workerId, types, limit: want, leaseMs: o.leaseMs, queues: o.queues })).then(
      (jobs) => {
        summary.claimed += jobs.length;
        lastClaimShort = jobs.length < want;
        emptyWhileIdle = jobs.length === 0 && running.size === 0 && backlog.length === 0;
        for (const job of jobs) {
          if (job.cancelRequested) fail(job, new EdgeJobsError('cancelled', 'the job was cancelled').toJSON(), true);
          else backlog.push(job);
        }
      },
      (error: unknown) => {
        claimFailure = { error };
      },
    ).finally(() => {
      claiming = null;
      wake();
    });
  };

  try {
    await reap();
    let sliceStart = Date.now();
    while (!stop.signal.aborted) {
      if (claimFailure) throw (claimFailure as { error: unknown }).error;
      maybeClaim();
      // Synchronous handlers finish inside start(): run them in slices, so heartbeats, writes,
      // the next claim and the stop timer are not starved by a long backlog of CPU-bound jobs.
      let sliced = false;
      while (running.size < o.concurrency && backlog.length > 0) {
        if (Date.now() - sliceStart >= SLICE_MS) {
          sliced = true;
          break;
        }
        start(backlog.shift() as ClaimedJob);
      }
      if (sliced) {
        await yieldToEventLoop();
        sliceStart = Date.now();
        continue;
      }
      maybeClaim();
      if (claiming || running.size > 0 || backlog.length > 0) {
        await new Promise<void>((resolve) => {
          notify = resolve;
          if (lastClaimShort && !claiming) setTimeout(wake, Math.max(0, o.idlePollMs - (Date.now() - lastClaimAt)));
        });
        sliceStart = Date.now();
        continue;
      }
      // Idle: nothing runs, nothing is claimed, and no claim was possible or the queue is empty.
      if (emptyWhileIdle && o.waitForWork && anotherFits()) {
        await o.waitForWork(Math.max(0, stopAt - Date.now() - MIN_CLAIM_MS), stop.signal);
        emptyWhileIdle = false;
        lastClaimAt = 0; // look again now
        sliceStart = Date.now();
        continue;
      }
      summary.stopReason = emptyWhileIdle && !o.waitForWork ? 'empty' : 'deadline';
      break;
    }
  } catch (error) {
    fatal = error;
    summary.stopReason = 'error';
    summary.error = serializeError(error, { stack: false });
    log.error('the drain failed; handing back its jobs', { error: coerceError(error).message });
  }
  // A claim still in flight (stopped mid-way): its jobs are handed back below with the rest.
  while (claiming) await claiming;
  if (!fatal && stop.signal.aborted) {
    summary.stopReason = (stop.signal.reason as EdgeJobsError).code === 'aborted' ? 'aborted' : 'deadline';
  }
  summary.moreWork = summary.stopReason !== 'empty' && !(lastClaimShort && running.size === 0 && backlog.length === 0);

  // Wind down: abort what runs, hand back what never started, wait for every write.
  clearTimeout(stopTimer);
  const endReason = stop.signal.aborted ? stop.signal.reason : abortReason('aborted', 'the drain is stopping');
  for (const entry of running.values()) entry.abort.abort(endReason);
  for (const job of backlog) handBack({ id: job.id, leaseToken: job.leaseToken });
  backlog = [];
  await Promise.all([...running.values()].map((e) => e.done));
  clearInterval(progressTimer);
  await Promise.all([completes.flush(), fails.flush(), handBacks.flush(), saves.flush()]);
  clearInterval(heartbeatTimer);
  o.signal?.removeEventListener('abort', onExternalAbort);

  summary.durationMs = Date.now() - startedAt;
  try {
    if (summary.runId) await withRetry(() => store.finishWorkerRun(summary.runId as string, summary, summary.error));
  } catch (error) {
    log.error('could not record the end of the worker run', { error: coerceError(error).message });
  }
  log.info('drain finished', { ...summary, error: undefined });
  return summary;
}

function resolveOptions(options: DrainOptions) {
  const bad = (name: string, rule: string): never => {
    throw new EdgeJobsError('configuration', `drain: ${name} ${rule}`);
  };
  if (!options.store) bad('store', 'is required');
  if (!options.registry) bad('registry', 'is required');
  const deadline = options.deadline instanceof Date ? options.deadline.getTime() : options.deadline;
  if (!Number.isFinite(deadline)) bad('deadline', 'must be a Date or epoch milliseconds');
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) bad('concurrency', 'must be an integer from 1 to 1000');
  const batchSize = options.batchSize ?? 100;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000) bad('batchSize', 'must be an integer from 1 to 1000');
  const leaseMs = options.leaseMs ?? 30_000;
  if (!(leaseMs >= 1_000 && leaseMs <= 600_000)) bad('leaseMs', 'must be from 1,000 to 600,000');
  const heartbeatMs = options.heartbeatMs ?? Math.floor(leaseMs / 3);
  if (!(heartbeatMs >= 10 && heartbeatMs < leaseMs)) bad('heartbeatMs', 'must be at least 10 and below leaseMs');
  const handBackMarginMs = options.handBackMarginMs ?? DEFAULT_HAND_BACK_MARGIN_MS;
  if (!(handBackMarginMs >= 0)) bad('handBackMarginMs', 'must not be negative');
  const abortGraceMs = Math.min(options.abortGraceMs ?? 1_000, handBackMarginMs / 2);
  const idlePollMs = options.idlePollMs ?? 1_000;
  const progressFlushMs = options.progressFlushMs ?? 250;
  if (!(idlePollMs >= 10)) bad('idlePollMs', 'must be at least 10');
  if (!(progressFlushMs >= 10)) bad('progressFlushMs', 'must be at least 10');
  if (options.registry.types().length === 0) bad('registry', 'has no job types');
  return {
    ...options, deadline, concurrency, batchSize, leaseMs, heartbeatMs, handBackMarginMs, abortGraceMs,
    idlePollMs, progressFlushMs,
    workerId: options.workerId ?? `drain-${crypto.randomUUID()}`,
    trigger: options.trigger ?? 'manual',
    logger: options.logger ?? createConsoleLogger('warn'),
  };
}
