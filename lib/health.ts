/**
 * Whether the queue is healthy, and why not: one judgement shared by the health route, the
 * console and the alerts, from get_queue_health and the last hour's get_type_stats.
 */
import type { OperatorStore, QueueHealth, TypeStats } from './store.ts';

export interface HealthThresholds {
  /** Unhealthy when the oldest ready job has waited longer. Default 300,000 (5 min). */
  maxOldestReadyAgeMs?: number;
  /** Unhealthy at this many failed worker runs in a row. Default 3. */
  maxConsecutiveFailedRuns?: number;
  /** Unhealthy when jobs are ready and no worker was seen (a drain started or finished) for this long. Default 120,000. */
  maxIdleWorkerMs?: number;
  /** Critical: a job type or schedule whose latest runs failed this many times in a row. Default 3. */
  maxConsecutiveFailedJobs?: number;
}

export function resolveThresholds(t: HealthThresholds = {}): Required<HealthThresholds> {
  return {
    maxOldestReadyAgeMs: t.maxOldestReadyAgeMs ?? 300_000,
    maxConsecutiveFailedRuns: t.maxConsecutiveFailedRuns ?? 3,
    maxIdleWorkerMs: t.maxIdleWorkerMs ?? 120_000,
    maxConsecutiveFailedJobs: t.maxConsecutiveFailedJobs ?? 3,
  };
}

/** A type or schedule failing run after run. */
export interface CriticalType {
  type: string;
  schedule: string | null;
  consecutiveFailures: number;
  lastFailureAt: string | null;
  lastSuccessAt: string | null;
}

export interface HealthReport {
  healthy: boolean;
  /** Every reason, in words. */
  problems: string[];
  /** The reasons that are about the queue itself (not one type's failures). */
  queueProblems: string[];
  critical: CriticalType[];
  health: QueueHealth;
  stats: TypeStats[];
}

/** Judges health from the database's figures (`now` for tests). */
export function judgeHealth(h: QueueHealth, stats: TypeStats[], thresholds: Required<HealthThresholds>, now = Date.now()): HealthReport {
  const problems: string[] = [];
  const queueProblems: string[] = [];
  // Critical: a type or schedule failing run after run (the ingester's rule), named.
  const critical = stats.filter((s) => s.consecutiveFailures >= thresholds.maxConsecutiveFailedJobs).map((s) => ({
    type: s.type, schedule: s.schedule, consecutiveFailures: s.consecutiveFailures, lastFailureAt: s.lastFailureAt?.toISOString() ?? null,
    lastSuccessAt: s.lastSuccessAt?.toISOString() ?? null,
  }));
  for (const c of critical) {
    problems.push(`${c.schedule ? `schedule ${c.schedule}` : `job type ${c.type}`}: the latest ${c.consecutiveFailures} runs failed (limit ${thresholds.maxConsecutiveFailedJobs})`);
  }
  if (h.oldestReadyAgeMs !== null && h.oldestReadyAgeMs > thresholds.maxOldestReadyAgeMs) {
    queueProblems.push(`the oldest ready job has waited ${Math.round(h.oldestReadyAgeMs / 1000)} s (limit ${thresholds.maxOldestReadyAgeMs / 1000} s)`);
  }
  if (h.consecutiveFailedRuns >= thresholds.maxConsecutiveFailedRuns) {
    queueProblems.push(`${h.consecutiveFailedRuns} worker runs failed in a row (limit ${thresholds.maxConsecutiveFailedRuns})`);
  }
  // A worker is seen when a drain starts or finishes, also one that found nothing to claim.
  const sinceSeen = h.lastSeenAt ? now - h.lastSeenAt.getTime() : null;
  if (h.ready > 0 && (sinceSeen === null || sinceSeen > thresholds.maxIdleWorkerMs)) {
    queueProblems.push(sinceSeen === null ? 'jobs are ready and no worker has ever run' : `jobs are ready and no worker was seen for ${Math.round(sinceSeen / 1000)} s`);
  }
  problems.push(...queueProblems);
  return { healthy: problems.length === 0, problems, queueProblems, critical, health: h, stats };
}

/** Reads the figures (two calls at once) and judges them. */
export async function assessHealth(store: Pick<OperatorStore, 'getQueueHealth' | 'getTypeStats'>, thresholds: HealthThresholds = {}): Promise<HealthReport> {
  const [h, stats] = await Promise.all([store.getQueueHealth(), store.getTypeStats(3600_000)]);
  return judgeHealth(h, stats, resolveThresholds(thresholds));
}
