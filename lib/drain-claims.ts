/**
 * A drain's claims: when to claim, how many, and what the last claim found. One claim is in
 * flight at a time, overlapping with running handlers (the database and the handlers work at
 * once).
 *
 * - How many: free handler slots; for fast jobs (< 50 ms on average) a whole batch ahead, and
 *   the next batch while half of the current one is left.
 * - What a short claim (fewer jobs than asked) found: `empty` (nothing claimable now) or
 *   `limited` (ready jobs wait for a slot in a queue at its concurrency limit: asked of the
 *   database only after a short claim).
 * - When to look again after a short claim: at once when a job of ours in a queue that jobs wait
 *   on has its outcome written (its slot is free: refill it), at once when the drain has become
 *   idle since, and otherwise every `recheckMs`.
 */
import type { HeldJobs } from './held-jobs.ts';
import type { Logger } from './logger.ts';
import { retryTransient } from './retry.ts';
import type { ClaimedJob, WorkerStore } from './store.ts';

/** What the last claim found: `work` (as many jobs as asked), `empty` or `limited` (see above). */
export type ClaimFinding = 'work' | 'empty' | 'limited';

export interface ClaimerOptions {
  store: WorkerStore;
  held: HeldJobs;
  workerId: string;
  types: string[];
  queues?: string[];
  leaseMs: number;
  batchSize: number;
  concurrency: number;
  recheckMs: number;
  /** Claims are retried through transient errors until this time (epoch ms), and not once `stop` aborts. */
  until: number;
  stop: AbortSignal;
  log: Logger;
  /** Whether another job (of the average duration so far) fits before the drain stops. */
  fits: () => boolean;
  /** Whether jobs are fast enough to prefetch a batch ahead. */
  fast: () => boolean;
  /** Takes the claimed jobs (in claim order). */
  onClaimed: (jobs: ClaimedJob[]) => void;
  /** Called when a claim settles or a claim became due: the drain's loop looks again. */
  wake: () => void;
}

export interface Claimer {
  /** Starts a claim if one is useful now. */
  maybeClaim(): void;
  /** A held job's outcome is written: if its queue is one that jobs wait on, refill its slot at once. */
  released(queue: string): void;
  /** The next claim may go out at once (the drain waited for work). */
  lookNow(): void;
  /** No more claims (the drain is stopping). */
  close(): void;
  /** What the last settled claim found (null before the first). */
  readonly finding: ClaimFinding | null;
  /** The claim in flight, if any (it never rejects). */
  readonly inFlight: Promise<void> | null;
  /** A claim that failed for good (not transient, or past `until`). */
  readonly failure: { error: unknown } | null;
  /** Milliseconds until a paced look is due while the drain is busy, or null when none is. */
  nextLookInMs(): number | null;
}

/**
 * The claimer: one closure (longer than a screen) because its methods share the claim in flight,
 * the last finding and the pacing; each method is a short block.
 */
export function createClaimer(o: ClaimerOptions): Claimer {
  const { store, held } = o;
  let inFlight: Promise<void> | null = null;
  let failure: { error: unknown } | null = null;
  let closed = false;
  let finding: ClaimFinding | null = null;
  let foundWhileIdle = false;
  let lastClaimAt = 0;
  /** Queues whose ready jobs wait for a slot (from the last short claim). */
  let waitingOn = new Set<string>();
  /** A look is due regardless of pacing: a slot we wait for was freed, or the drain waited for work. */
  let due = false;

  const claim = (want: number) => {
    lastClaimAt = Date.now();
    due = false;
    const idleAtStart = held.size === 0;
    inFlight = (async () => {
      const jobs = await retryTransient(
        () => store.claimJobs({ workerId: o.workerId, types: o.types, limit: want, leaseMs: o.leaseMs, queues: o.queues }),
        o.until, o.log, 'claim_jobs', o.stop);
      const limited = jobs.length < want
        ? await retryTransient(() => store.getWaitingLimitedQueues(o.types, o.queues), o.until, o.log, 'get_waiting_limited_queues', o.stop)
        : [];
      return { jobs, limited };
    })().then(
      ({ jobs, limited }) => {
        finding = jobs.length >= want ? 'work' : limited.length > 0 ? 'limited' : 'empty';
        foundWhileIdle = idleAtStart;
        waitingOn = new Set(limited);
        o.onClaimed(jobs);
      },
      (error: unknown) => {
        failure = { error };
      },
    ).finally(() => {
      inFlight = null;
      o.wake();
    });
  };

  /** How many jobs a claim would ask for now, pacing aside (0: none may go out). */
  const wanted = (idle: boolean): number => {
    if (inFlight || closed || failure || !o.fits()) return 0;
    // Idle after a look made while idle that found nothing to take: the drain waits or stops.
    if (idle && foundWhileIdle && finding !== null && finding !== 'work' && !due) return 0;
    const prefetch = o.fast() ? o.batchSize : 0;
    const want = Math.min(o.batchSize, o.concurrency + prefetch - held.running - held.waiting);
    if (want <= 0 || (prefetch > 0 && held.waiting >= Math.max(o.concurrency, o.batchSize / 2))) return 0;
    return want;
  };
  /** After a short claim, while busy, the next look waits `recheckMs` unless one is due. */
  const paced = (idle: boolean) => finding !== null && finding !== 'work' && !idle && !due;

  return {
    maybeClaim() {
      const idle = held.size === 0;
      const want = wanted(idle);
      if (want === 0) return;
      if (paced(idle) && Date.now() - lastClaimAt < o.recheckMs) return;
      claim(want);
    },
    released(queue) {
      if (!waitingOn.has(queue)) return;
      due = true;
      o.wake();
    },
    lookNow() {
      due = true;
    },
    close() {
      closed = true;
    },
    get finding() {
      return finding;
    },
    get inFlight() {
      return inFlight;
    },
    get failure() {
      return failure;
    },
    nextLookInMs() {
      const idle = held.size === 0;
      // Only when a claim could go out then: otherwise a job ending (or the stop) wakes the loop.
      if (idle || !paced(idle) || wanted(idle) === 0) return null;
      return Math.max(0, lastClaimAt + o.recheckMs - Date.now());
    },
  };
}
