/**
 * The jobs a drain holds a lease on, from claim until their outcome is written. A map by id, so
 * every answer about a job (heartbeat, progress write, outcome) finds it in O(1), and a
 * first-in first-out line of the jobs waiting to start.
 *
 *   waiting ──start──▶ running ──outcome──▶ writing ──written──▶ (released)
 *      └──────────── cancelled or lost before it started ───────────▲
 *
 * A job stays held (its lease renewed) until the database has its outcome: a write delayed by
 * a database restart must not let the lease expire under a finished job.
 *
 * An answer is for one lease: the drain may claim a job again while an older entry of it is
 * still settling (its lease expired and the claim took it back), so the map holds the newest
 * entry and answers are matched by lease token as well as id. An entry the map no longer holds
 * is still counted, and still waited for, until it is released.
 */
import type { LazyAbort } from './run-job.ts';
import type { ClaimedJob, EnqueueSpec, Lease } from './store.ts';

export type HeldState = 'waiting' | 'running' | 'writing';

export interface HeldJob {
  readonly job: ClaimedJob;
  state: HeldState;
  /** The run's abort switch, while running. */
  abort: LazyAbort | null;
  /** The handler's latest progress, and whether it reported any in this run. */
  progress: unknown;
  progressSet: boolean;
  /** Progress reported since the last progress write. */
  progressDirty: boolean;
  /** Settles when an asynchronous handler's outcome is known; null for a synchronous one. */
  done: Promise<void> | null;
  /** Follow-up jobs the handler enqueued (ctx.enqueue), written with its completion; null if none. */
  children: EnqueueSpec[] | null;
}

export class HeldJobs {
  /** The newest entry of each job, by id. */
  private readonly byId = new Map<string, HeldJob>();
  /** Every entry not released yet (also one the map no longer points at). */
  private readonly live = new Set<HeldJob>();
  /** Waiting jobs in claim order; entries that left `waiting` are skipped when reached. */
  private line: HeldJob[] = [];
  private head = 0;
  private readonly counts: Record<HeldState, number> = { waiting: 0, running: 0, writing: 0 };

  get waiting(): number {
    return this.counts.waiting;
  }
  get running(): number {
    return this.counts.running;
  }
  /** Every held job, whatever its state. Zero means every outcome is written. */
  get size(): number {
    return this.live.size;
  }

  /**
   * A newly claimed job: waiting to start. When this drain still holds an older entry of the
   * same job (its lease was lost), that entry is returned as `superseded`: the caller ends it.
   */
  add(job: ClaimedJob): { entry: HeldJob; superseded: HeldJob | null } {
    const entry: HeldJob = { job, state: 'waiting', abort: null, progress: undefined, progressSet: false, progressDirty: false, done: null, children: null };
    const superseded = this.byId.get(job.id) ?? null;
    this.byId.set(job.id, entry);
    this.live.add(entry);
    this.line.push(entry);
    this.counts.waiting++;
    return { entry, superseded };
  }

  /** The entry holding this lease, if this drain holds it. */
  get(id: string, leaseToken: string): HeldJob | undefined {
    const entry = this.byId.get(id);
    return entry && entry.job.leaseToken === leaseToken ? entry : undefined;
  }

  /** The next job waiting to start, taken out of the line (it must be moved to `running`). */
  nextWaiting(): HeldJob | undefined {
    while (this.head < this.line.length) {
      const entry = this.line[this.head++] as HeldJob;
      if (entry.state === 'waiting' && this.live.has(entry) && this.byId.get(entry.job.id) === entry) {
        this.compact();
        return entry;
      }
    }
    this.compact();
    return undefined;
  }

  /** Moves a held job to another state. */
  move(entry: HeldJob, to: HeldState): void {
    if (this.live.has(entry)) {
      this.counts[entry.state]--;
      this.counts[to]++;
    }
    entry.state = to;
  }

  /** The job's outcome is written (or will never be): it is no longer held. */
  release(entry: HeldJob): void {
    if (!this.live.delete(entry)) return;
    this.counts[entry.state]--;
    if (this.byId.get(entry.job.id) === entry) this.byId.delete(entry.job.id);
  }

  /** The lease of every job held now, for a heartbeat. */
  leases(): Lease[] {
    const leases: Lease[] = [];
    for (const { job } of this.byId.values()) leases.push({ id: job.id, leaseToken: job.leaseToken });
    return leases;
  }

  /** Live entries in one state (a snapshot). */
  inState(state: HeldState): HeldJob[] {
    const found: HeldJob[] = [];
    for (const entry of this.live) if (entry.state === state) found.push(entry);
    return found;
  }

  private compact(): void {
    if (this.head === this.line.length) {
      this.line = [];
      this.head = 0;
    } else if (this.head > 512 && this.head * 2 > this.line.length) {
      this.line = this.line.slice(this.head);
      this.head = 0;
    }
  }
}
