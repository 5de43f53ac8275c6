/**
 * drain(): the time-boxed worker loop that every host runs (the Edge Function, the Vercel Cron
 * route, `npm run worker`, the dev runner) with its own deadline. It owns timing, concurrency and
 * bookkeeping only; every database call goes through the injected WorkerStore. Its parts:
 *
 * - claims (drain-claims.ts): when to claim and how many; whether the queue is empty or jobs wait
 *   for a slot in a limited queue;
 * - held jobs (held-jobs.ts): every claimed job from claim until its outcome is written;
 * - leases (drain-leases.ts): heartbeats, buffered progress, lost leases and cancel requests;
 * - outcomes (drain-outcomes.ts): complete / fail / hand back in natural batches, and the counts;
 * - stopping (drain-stop.ts): the stop time, an outside stop and its grace, `handBackNow`;
 * - here: the wiring of the parts, the loop, the wind-down, and the handler's pace (a moving
 *   average that decides prefetching and whether another job fits).
 *
 *   claim a batch (SKIP LOCKED; expired leases are taken back first) → run handlers,
 *   `concurrency` at a time → complete / fail in natural batches → claim again … until nothing is
 *   claimable or the time left cannot fit another job. At `deadline - handBackMarginMs` running
 *   handlers are aborted, get `abortGraceMs` to stop, and whatever is unfinished is handed back
 *   with its checkpoint (the attempt is not counted). Stopped from outside (`signal`), it claims
 *   nothing more, hands back the jobs that have not started, and lets running ones finish for up
 *   to `shutdownGraceMs` before it hands them back too.
 */
import { EdgeJobsError, coerceError, serializeError, type ErrorJson } from './errors.ts';
import type { AnyJobDefinition, JobRegistry } from './job.ts';
import { jobContext } from './job-context.ts';
import { registerOnce } from './job-types.ts';
import { LEASE_MS } from './limits.ts';
import { createConsoleLogger, type Logger } from './logger.ts';
import { createClaimer } from './drain-claims.ts';
import { startLeaseKeeper, type LeaseKeeper } from './drain-leases.ts';
import { createOutcomes, type OutcomeCounts, type Outcomes } from './drain-outcomes.ts';
import { HeldJobs, type HeldJob } from './held-jobs.ts';
import { retryTransient } from './retry.ts';
import { createStopControl } from './drain-stop.ts';
import { LazyAbort, runJob, type RunOutcome } from './run-job.ts';
import { createScheduleTicker, registerSchedulesOnce, type FiredSchedules, type ScheduleDefinition } from './schedules.ts';
import type { WorkerRunSummary, WorkerStore } from './store.ts';
import { alertSettingsFromEnv, checkAlerts, type AlertSettings } from './alerts.ts';
import { WEBHOOK_JOB_TYPE, webhookJobType, webhookSettingsFromEnv, type WebhookSettings } from './webhooks.ts';

export interface DrainOptions {
  store: WorkerStore;
  registry: JobRegistry<AnyJobDefinition>;
  /** When the drain must be completely done (epoch ms or Date), hand-backs included. */
  deadline: number | Date;
  /** Unique id of this drain, recorded as the lease holder. Default `drain-<uuid>`. */
  workerId?: string;
  /**
   * The stable name of this worker deployment (e.g. 'process-jobs', 'worker@host'), not of one
   * drain. The first drain of a process registers the registry's types under it (see
   * registerJobTypes), and every drain marks it as seen, so health can tell which types no live
   * worker runs. Default 'worker'.
   */
  workerName?: string;
  /** What started the drain, recorded in worker_runs (cron, kick, worker, ...). Default 'manual'. */
  trigger?: string;
  /** Handlers running at once. Default 10. */
  concurrency?: number;
  /** Most jobs claimed in one round trip (1-1000). Default 100. Fast jobs are prefetched up to this. */
  batchSize?: number;
  /** Lease length; a job whose worker stops renewing is claimable again this long after. Default 30,000. */
  leaseMs?: number;
  /** How often leases are renewed. Default leaseMs / 3. */
  heartbeatMs?: number;
  /** Time kept before the deadline to abort handlers and hand jobs back. Default 2,000. */
  handBackMarginMs?: number;
  /** How long an aborted handler may take to settle. Default 1,000 (at most half the margin). */
  abortGraceMs?: number;
  /**
   * Stopped through `signal`: how long running jobs may go on to finish before they are aborted
   * and handed back (never past `deadline - handBackMarginMs`). Jobs that have not started are
   * handed back at once. 0 hands everything back at once. Default 5,000.
   */
  shutdownGraceMs?: number;
  /**
   * After a claim that found fewer jobs than it asked for: claim again this often while jobs run,
   * and while jobs wait for a slot in a queue at its concurrency limit. (A job of ours in a limited
   * queue is replaced as soon as it ends.) Default 1,000. Not the idle wait: see `waitForWork`, and
   * runDrainLoop's `idleMs`.
   */
  recheckMs?: number;
  /** How often buffered progress is written. Default 250. */
  progressFlushMs?: number;
  /**
   * The app's schedules (`defineSchedule`): registered once per process after the job types
   * (`registerSchedules`: creates, updates, retires those no longer listed). Give every host the
   * same list (export it next to the registry); a host given none registers none.
   */
  schedules?: ScheduleDefinition[];
  /**
   * Fire due schedules: as the drain starts (alongside its first claim), then at most every
   * `scheduleCheckMs` while it runs or waits. Default true.
   */
  fireSchedules?: boolean;
  /** How often a running drain looks at schedules again. Default 5,000. */
  scheduleCheckMs?: number;
  /** Only claim from these queues. Default: all. */
  queues?: string[];
  /** Stops the drain early (e.g. SIGTERM, beforeunload); see `shutdownGraceMs`. */
  signal?: AbortSignal;
  /**
   * Stops the drain and ends the shutdown grace at once: running jobs are aborted and handed
   * back now (e.g. a second Ctrl-C).
   */
  handBackNow?: AbortSignal;
  /**
   * Long-running hosts: when nothing is claimable, wait with this and look again, until the
   * deadline, instead of returning. It is given the most it may wait (the time left before the
   * drain stops, or `recheckMs` while jobs wait for a slot in a limited queue) and chooses how
   * long to wait within that, ending early on a wake-up such as a LISTEN notification. A new job
   * then costs one claim, not a new drain.
   */
  waitForWork?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * Deliver webhooks and alerts (the built-in `edgejobs.webhook` jobs, queue `edgejobs`) with
   * these settings. Default: from EDGEJOBS_WEBHOOK_* (see webhooks.ts). A drain without a secret,
   * or given false, does not take deliveries (nor does one whose `queues` leave out `edgejobs`).
   */
  webhooks?: WebhookSettings | false;
  /**
   * Evaluate the alert conditions as the drain starts (one drain every `checkEveryMs` across all
   * workers; the store must also be an OperatorStore). Default: from EDGEJOBS_ALERT_* (none
   * without EDGEJOBS_ALERT_URL); false: never. See alerts.ts.
   */
  alerts?: AlertSettings | false;
  logger?: Logger;
}

/**
 * Why a drain returned: `empty` (nothing claimable), `limited` (jobs wait for a slot in a queue at
 * its concurrency limit that other workers hold), `deadline` (time is up, or too little is left
 * for another job), `aborted` (stopped through `signal`), `error` (a database call failed for good).
 */
export type StopReason = 'empty' | 'limited' | 'deadline' | 'aborted' | 'error';

/**
 * What a drain did: the counts recorded in worker_runs (see {@link WorkerRunSummary}: failed =
 * for good, retried = scheduled for another attempt, leaseLost = results not written) and more.
 */
export interface DrainSummary extends WorkerRunSummary {
  runId: string | null;
  workerId: string;
  /** Outcomes that could not be written (database down past the deadline); those jobs rerun after their lease. */
  unrecorded: number;
  stopReason: StopReason;
  /** False only when the last claim showed nothing claimable and nothing was left; true means there may be more to do. */
  moreWork: boolean;
  durationMs: number;
  error: ErrorJson | null;
}

/** Default `handBackMarginMs`. */
export const DEFAULT_HAND_BACK_MARGIN_MS = 2_000;
/** Default `shutdownGraceMs`. */
const DEFAULT_SHUTDOWN_GRACE_MS = 5_000;
const FAST_JOB_MS = 50;
/** The longest a drain waits for its process's first registration of the job types. */
const REGISTER_WAIT_MS = 3_000;
const MIN_CLAIM_MS = 10;
/** Synchronous handlers run back to back for at most this long before timers and I/O get a turn. */
const SLICE_MS = 20;
const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Runs jobs until nothing is claimable or the deadline comes, and returns what it did: start the
 * run, wire the parts, loop, wind down, record the run. Never throws for database or handler
 * errors (they are in the summary); throws `configuration` for bad options.
 * @example
 * const summary = await drain({ store, registry, deadline: Date.now() + 60_000, trigger: 'cron' })
 */
export async function drain(options: DrainOptions): Promise<DrainSummary> {
  const o = resolveOptions(options);
  const { store, registry, logger: log } = o;
  const startedAt = Date.now();
  const stopAt = o.deadline - o.handBackMarginMs;
  const counts: OutcomeCounts = { claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, unrecorded: 0 };

  // Once per process: the database learns the types and that this worker runs them. A slow or
  // hung registration (a lock, an unreachable database) goes on in the background; the drain
  // waits for it at most REGISTER_WAIT_MS.
  const registered = registerOnce(store, registry, { workerName: o.workerName, logger: log })
    .then((ok) => (ok && o.schedules ? registerSchedulesOnce(store, o.schedules, log) : ok));
  await firstOf(registered, Math.min(REGISTER_WAIT_MS, Math.max(0, stopAt - Date.now())));
  let runId: string;
  try {
    runId = await retryTransient(() => store.startWorkerRun({
      workerId: o.workerId, trigger: o.trigger, deadline: new Date(o.deadline), workerName: o.workerName, types: registry.types(),
    }), stopAt, log, 'start_worker_run', o.signal);
  } catch (error) {
    log.error('could not start the worker run; nothing was claimed', { error: coerceError(error).message });
    return { runId: null, workerId: o.workerId, ...counts, stopReason: 'error', moreWork: true, durationMs: Date.now() - startedAt, error: serializeError(error, { stack: false }) };
  }

  const alerting = startAlertCheck(o);
  const parts = wireParts(o, stopAt, counts);
  // Schedules due now become jobs alongside the first claim (not before it: no added latency);
  // the loop does not end while the look is in flight, and claims again when it fired something.
  parts.lookAtSchedules(parts.schedules?.tick() ?? null);
  let fatal: unknown = null;
  let idleStop: IdleStop = null;
  try {
    idleStop = await loop(parts);
  } catch (error) {
    fatal = error;
    log.error('the drain failed; handing back its jobs', { error: coerceError(error).message });
  }
  const nothingLeft = await windDown(parts, fatal !== null);

  await alerting;
  const haltReason = parts.stop.reason();
  const stopReason: StopReason = fatal ? 'error' : (haltReason ?? idleStop ?? 'deadline');
  const { unrecorded, ...recorded } = counts;
  const summary: DrainSummary = {
    runId, workerId: o.workerId, ...recorded, unrecorded, stopReason,
    moreWork: stopReason === 'error' || stopReason === 'limited' || !nothingLeft,
    durationMs: Date.now() - startedAt,
    error: fatal ? serializeError(fatal, { stack: false }) : null,
  };
  try {
    await retryTransient(() => store.finishWorkerRun(runId, summary, summary.error), parts.stop.writesUntil, log, 'finish_worker_run');
  } catch (error) {
    log.error('could not record the end of the worker run', { error: coerceError(error).message });
  }
  log.info('drain finished', { ...summary, error: undefined });
  return summary;
}

/** Why the loop ended by itself (nothing to claim, jobs wait for a slot, or no time for another job). */
type IdleStop = 'empty' | 'limited' | 'deadline' | null;
type Options = ReturnType<typeof resolveOptions>;
type Parts = ReturnType<typeof wireParts>;
type Bell = ReturnType<typeof createBell>;
type Pace = ReturnType<typeof createPace>;

/** The parts of one drain, wired to each other: each owns one concern (see the file's header). */
function wireParts(o: Options, stopAt: number, counts: OutcomeCounts) {
  const { store, registry, logger: log } = o;
  const bell = createBell();
  const held = new HeldJobs();
  const pace = createPace(stopAt);
  const stop = createStopControl({
    deadline: o.deadline, stopAt, shutdownGraceMs: o.shutdownGraceMs, abortGraceMs: o.abortGraceMs,
    ...(o.signal ? { signal: o.signal } : {}), ...(o.handBackNow ? { handBackNow: o.handBackNow } : {}),
    abortRunning: (reason) => abortRunning(held, reason),
    wake: bell.ring,
  });
  const claimer = createClaimer({
    store, held, workerId: o.workerId, types: registry.types(), queues: o.queues, leaseMs: o.leaseMs,
    batchSize: o.batchSize, concurrency: o.concurrency, recheckMs: o.recheckMs, until: stopAt, stop: stop.halted, log,
    fits: pace.fits,
    fast: pace.fast,
    onClaimed: (jobs) => {
      counts.claimed += jobs.length;
      for (const job of jobs) {
        const { entry, superseded } = held.add(job);
        // This drain held the job under a lease that expired and was taken back: that run is over.
        if (superseded) leases.lost(superseded);
        // Cancelled before it could start: handed back, it ends cancelled without an attempt.
        if (job.cancelRequested) outcomes.handBack(entry);
      }
    },
    wake: bell.ring,
  });
  const outcomes = createOutcomes({
    store, held, counts, until: stop.writesUntil, log,
    onReleased: (entry) => {
      claimer.released(entry.job.queue);
      bell.ring();
    },
    // The children may be this drain's to run: look again rather than stop as empty.
    onChildrenWritten: () => claimer.lookNow(),
  });
  const leases = startLeaseKeeper({ store, held, outcomes, leaseMs: o.leaseMs, heartbeatMs: o.heartbeatMs, progressFlushMs: o.progressFlushMs, log });

  const start = createStarter({ o, stopAt, bell, held, pace, outcomes, leases });
  const schedules = o.fireSchedules ? scheduleTickerFor(store, log, o.scheduleCheckMs) : null;
  // Follows a look at schedules (this drain's, or another drain's of the process that shares the
  // ticker): when it ends, the loop wakes, and claims again if it fired something.
  let followed: Promise<FiredSchedules | null> | null = null;
  const lookAtSchedules = (look: Promise<FiredSchedules | null> | null) => {
    if (!look || look === followed) return;
    followed = look;
    void look.then((fired) => {
      if (fired && fired.enqueued > 0) claimer.lookNow();
      bell.ring();
    });
  };
  return { o, stopAt, bell, held, pace, stop, claimer, outcomes, leases, start, schedules, lookAtSchedules, counts };
}

/** Runs a held job's handler and sends its outcome to the writes. */
function createStarter({ o, stopAt, bell, held, pace, outcomes, leases }: {
  o: Options; stopAt: number; bell: Bell; held: HeldJobs; pace: Pace; outcomes: Outcomes; leases: LeaseKeeper;
}) {
  const { registry, logger: log } = o;
  return (entry: HeldJob) => {
    held.move(entry, 'running');
    const { job } = entry;
    const definition = registry.get(job.type) as AnyJobDefinition;
    const abort = (entry.abort = new LazyAbort());
    const context = jobContext({ entry, definition, registry, abort, stopAt, log, saveCheckpoint: (value) => leases.saveProgress(entry, { value }) });
    const finished = (outcome: RunOutcome) => {
      pace.record(outcome.durationMs);
      switch (outcome.kind) {
        case 'completed':
          outcomes.complete(entry, outcome.result);
          break;
        case 'failed':
          if (outcome.error.code !== 'cancelled') log.info('job attempt failed', { jobId: job.id, type: job.type, attempt: job.attempt, error: outcome.error.message });
          outcomes.fail(entry, outcome.error, outcome.permanent, outcome.retryAt);
          break;
        case 'handed_back':
          outcomes.handBack(entry);
          break;
        case 'abandoned':
          outcomes.lost(entry);
          break;
      }
      bell.ring();
    };
    const outcome = runJob({ job, definition, abort, context, graceMs: o.abortGraceMs });
    if (outcome instanceof Promise) entry.done = outcome.then(finished);
    else finished(outcome);
  };
}

/**
 * The loop: claim, start what fits, wait for the next event (an outcome, a claim, a look due);
 * when idle, wait for work (long-running hosts) or return why it ended. Throws a claim's failure.
 */
async function loop({ o, stopAt, bell, held, pace, stop, claimer, start, schedules, lookAtSchedules, counts }: Parts): Promise<IdleStop> {
  let sliceStart = Date.now();
  // Jobs that ended may have enqueued more (webhook deliveries, by a trigger): before stopping as
  // empty, a drain that ended jobs since it last looked looks once more.
  let endedAtLastLook = 0;
  while (!stop.halted.aborted) {
    if (claimer.failure) throw claimer.failure.error;
    lookAtSchedules(schedules?.maybeTick() ?? schedules?.inFlight ?? null);
    claimer.maybeClaim();
    // Synchronous handlers finish inside start(): run them in slices, so heartbeats, writes,
    // the next claim and the stop timer are not starved by a long backlog of CPU-bound jobs.
    let sliced = false;
    while (held.running < o.concurrency && held.waiting > 0 && !stop.halted.aborted) {
      if (Date.now() - sliceStart >= SLICE_MS) {
        sliced = true;
        break;
      }
      const next = held.nextWaiting();
      if (!next) break;
      start(next);
    }
    if (sliced) {
      await yieldToEventLoop();
      sliceStart = Date.now();
      continue;
    }
    claimer.maybeClaim();
    if (claimer.inFlight || held.size > 0 || schedules?.inFlight) {
      await bell.wait(claimer.nextLookInMs());
      sliceStart = Date.now();
      continue;
    }
    // Idle: nothing held, nothing being claimed, and the last look (made while idle) found
    // nothing to take, or no other job fits before the stop time.
    if (!pace.fits()) return 'deadline';
    const limited = claimer.finding === 'limited';
    const ended = counts.completed + counts.failed + counts.cancelled;
    if (!limited && ended !== endedAtLastLook) {
      endedAtLastLook = ended;
      claimer.lookNow();
      continue;
    }
    if (!o.waitForWork) return limited ? 'limited' : 'empty';
    const left = Math.max(0, stopAt - Date.now() - MIN_CLAIM_MS);
    await o.waitForWork(limited ? Math.min(o.recheckMs, left) : left, stop.halted);
    // Woken, or the look-again came: schedules due by now fire (at most every scheduleCheckMs).
    lookAtSchedules(schedules?.maybeTick() ?? null);
    claimer.lookNow();
    sliceStart = Date.now();
  }
  return null;
}

/**
 * Wind down: no more claims; a claim still in flight adds its jobs, which are handed back with
 * every job that has not started; stopped from outside, running jobs may finish within the grace;
 * then the rest are aborted and every outcome is written. Returns whether nothing was left to do.
 */
async function windDown({ bell, held, stop, claimer, outcomes, leases, schedules }: Parts, failed: boolean): Promise<boolean> {
  claimer.close();
  while (claimer.inFlight) await claimer.inFlight;
  if (schedules?.inFlight) await firstOf(schedules.inFlight, Math.max(0, stop.writesUntil() - Date.now()));
  const nothingLeft = claimer.finding === 'empty' && held.size === 0;
  for (let entry = held.nextWaiting(); entry; entry = held.nextWaiting()) outcomes.handBack(entry);
  const graceEnd = stop.graceEnd();
  if (graceEnd !== null && !failed) {
    while (held.running > 0 && Date.now() < graceEnd && !stop.graceEnded()) await bell.wait(graceEnd - Date.now());
  }
  stop.disarm();
  abortRunning(held, stop.abortReasonNow());
  await Promise.all(held.inState('running').map((entry) => entry.done));
  leases.stopProgress(); // every outcome write carries the latest progress
  await outcomes.flush();
  leases.stop();
  stop.dispose();
  return nothingLeft;
}

function abortRunning(held: HeldJobs, reason: EdgeJobsError) {
  for (const entry of held.inState('running')) entry.abort?.abort(reason);
}

/** Handler durations (a moving average): decide prefetching and whether another job fits. */
function createPace(stopAt: number) {
  let ewma: number | null = null;
  return {
    record(ms: number) {
      ewma = ewma === null ? ms : ewma * 0.8 + ms * 0.2;
    },
    fits: () => stopAt - Date.now() > (ewma ?? 0) + MIN_CLAIM_MS,
    fast: () => ewma !== null && ewma < FAST_JOB_MS,
  };
}

/** Resolves when `promise` settles or after `ms`, whichever comes first (the promise goes on). */
/**
 * One schedule ticker per store for the process: a database without schedules is asked once, and
 * back-to-back drains (rounds) share the look-again time.
 */
const tickers = new WeakMap<object, ReturnType<typeof createScheduleTicker>>();
function scheduleTickerFor(store: WorkerStore, log: Logger, everyMs: number) {
  let ticker = tickers.get(store);
  if (!ticker) tickers.set(store, (ticker = createScheduleTicker(store, log, everyMs)));
  return ticker;
}

function firstOf(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([promise.then(() => undefined, () => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))])
    .finally(() => clearTimeout(timer));
}

/** Wakes the drain's loop: `ring()` ends the current `wait()`; a wait also ends after `ms`. */
function createBell() {
  let ringing: (() => void) | null = null;
  return {
    ring() {
      const r = ringing;
      ringing = null;
      r?.();
    },
    wait(ms: number | null): Promise<void> {
      return new Promise<void>((resolve) => {
        const timer = ms === null ? undefined : setTimeout(() => {
          ringing = null;
          resolve();
        }, ms);
        ringing = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    },
  };
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
  const leaseMs = options.leaseMs ?? LEASE_MS.default;
  if (!(leaseMs >= LEASE_MS.min && leaseMs <= LEASE_MS.max)) bad('leaseMs', `must be from ${LEASE_MS.min} to ${LEASE_MS.max}`);
  const heartbeatMs = options.heartbeatMs ?? Math.floor(leaseMs / 3);
  if (!(heartbeatMs >= 10 && heartbeatMs < leaseMs)) bad('heartbeatMs', 'must be at least 10 and below leaseMs');
  const handBackMarginMs = options.handBackMarginMs ?? DEFAULT_HAND_BACK_MARGIN_MS;
  if (!(handBackMarginMs >= 0)) bad('handBackMarginMs', 'must not be negative');
  const abortGraceMs = Math.min(options.abortGraceMs ?? 1_000, handBackMarginMs / 2);
  const shutdownGraceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  if (!(shutdownGraceMs >= 0)) bad('shutdownGraceMs', 'must not be negative');
  const scheduleCheckMs = options.scheduleCheckMs ?? 5_000;
  if (!(scheduleCheckMs >= 10)) bad('scheduleCheckMs', 'must be at least 10');
  const recheckMs = options.recheckMs ?? 1_000;
  const progressFlushMs = options.progressFlushMs ?? 250;
  if (!(recheckMs >= 10)) bad('recheckMs', 'must be at least 10');
  if (!(progressFlushMs >= 10)) bad('progressFlushMs', 'must be at least 10');
  if (options.registry.types().length === 0) bad('registry', 'has no job types');
  if (options.workerName !== undefined && !(options.workerName.length >= 1 && options.workerName.length <= 200)) bad('workerName', 'must be 1-200 characters');
  return {
    ...options, registry: withWebhooks(options.registry, options.webhooks), deadline, concurrency, batchSize, leaseMs, heartbeatMs, handBackMarginMs, abortGraceMs, shutdownGraceMs,
    recheckMs, progressFlushMs, scheduleCheckMs, fireSchedules: options.fireSchedules ?? true,
    workerId: options.workerId ?? `drain-${crypto.randomUUID()}`,
    workerName: options.workerName ?? 'worker',
    trigger: options.trigger ?? 'manual',
    logger: options.logger ?? createConsoleLogger('warn'),
  };
}

const withWebhooksCache = new WeakMap<object, WeakMap<object, JobRegistry<AnyJobDefinition>>>();

/**
 * The app's registry and the built-in delivery type, made once per registry and settings (so a
 * process registers it once). An app that defines `edgejobs.webhook` itself keeps its own.
 */
function withWebhooks(registry: JobRegistry<AnyJobDefinition>, settings: WebhookSettings | false | undefined): JobRegistry<AnyJobDefinition> {
  if (settings === false || registry.get(WEBHOOK_JOB_TYPE)) return registry;
  const resolved = settings ?? webhookSettingsFromEnv();
  // Without the signing secret this drain cannot deliver: it leaves deliveries to one that can
  // (claiming them would only use up their attempts).
  if (!resolved.secret) return registry;
  const bySettings = withWebhooksCache.get(registry) ?? new WeakMap<object, JobRegistry<AnyJobDefinition>>();
  withWebhooksCache.set(registry, bySettings);
  const cached = bySettings.get(settings ?? withWebhooksCache);
  if (cached) return cached;
  const builtIn = webhookJobType(resolved);
  const combined: JobRegistry<AnyJobDefinition> = {
    get: (type) => (type === WEBHOOK_JOB_TYPE ? builtIn : registry.get(type)),
    require: (type) => (type === WEBHOOK_JOB_TYPE ? builtIn : registry.require(type)),
    types: () => [...registry.types(), WEBHOOK_JOB_TYPE],
    definitions: [...registry.definitions, builtIn],
  };
  bySettings.set(settings ?? withWebhooksCache, combined);
  return combined;
}

/** The alert check of this drain, if alerts are on and its turn has come; never rejects. */
function startAlertCheck(o: Options): Promise<void> | null {
  let settings: AlertSettings | null;
  try {
    settings = o.alerts === false ? null : (o.alerts ?? alertSettingsFromEnv());
  } catch (error) {
    o.logger.warn('alerts are off: bad settings', { error: coerceError(error).message });
    return null;
  }
  if (!settings) return null;
  const store = o.store as WorkerStore & Partial<Parameters<typeof checkAlerts>[0]>;
  if (typeof store.getQueueHealth !== 'function' || typeof store.getTypeStats !== 'function') return null;
  return checkAlerts(store as Parameters<typeof checkAlerts>[0], settings)
    .then((r) => {
      if (r.sent.length) o.logger.info('alerts sent', { alerts: r.sent.map((a) => `${a.event} ${a.key}`) });
    })
    .catch((error: unknown) => o.logger.warn('could not check the alert conditions', { error: coerceError(error).message }));
}
