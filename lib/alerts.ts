/**
 * Alerts: a signed POST to a configured URL when the queue turns unhealthy, when a job type or a
 * schedule reaches its failure streak threshold, and when each recovers. Workers evaluate the
 * conditions (at most one worker every `checkEveryMs`, claimed in the database); `record_alerts`
 * keeps each condition's state and enqueues a delivery (an `edgejobs.webhook` job, signed like
 * the completion webhooks) for a change worth telling: `alert.firing` at most once per
 * `minIntervalMs` per condition, and `alert.resolved` after a firing was sent.
 *
 * Settings (env vars of the worker): EDGEJOBS_ALERT_URL (none: no alerts), EDGEJOBS_ALERT_MIN_INTERVAL_MS
 * (default 900,000), EDGEJOBS_ALERT_FAILURE_THRESHOLD (default 3 failed runs in a row).
 */
import { assessHealth, resolveThresholds, type HealthThresholds } from './health.ts';
import { isWebhookUrl } from './limits.ts';
import type { AlertCondition, OperatorStore, WorkerStore } from './store.ts';
import { runtimeEnv } from './webhooks.ts';

export interface AlertSettings {
  /** Where alerts are posted (signed with EDGEJOBS_WEBHOOK_SECRET). */
  url: string;
  /** At most one `alert.firing` per condition per this long. Default 900,000 (15 min). */
  minIntervalMs?: number;
  /** How often (across all workers) the conditions are evaluated. Default 30,000. */
  checkEveryMs?: number;
  /** The health thresholds; `maxConsecutiveFailedJobs` is the failure streak that alerts. */
  thresholds?: HealthThresholds;
}

/** From EDGEJOBS_ALERT_* (null without EDGEJOBS_ALERT_URL); throws naming a bad value. */
export function alertSettingsFromEnv(env: Record<string, string | undefined> = runtimeEnv()): AlertSettings | null {
  const url = env.EDGEJOBS_ALERT_URL;
  if (!url) return null;
  if (!isWebhookUrl(url)) throw new Error('EDGEJOBS_ALERT_URL must be an http(s) URL without a user name or password, at most 2048 characters');
  const int = (name: string, min: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer of at least ${min}, not ${JSON.stringify(raw)}`);
    return n;
  };
  return {
    url,
    minIntervalMs: int('EDGEJOBS_ALERT_MIN_INTERVAL_MS', 0),
    thresholds: { maxConsecutiveFailedJobs: int('EDGEJOBS_ALERT_FAILURE_THRESHOLD', 1) },
  };
}

type AlertStore = Pick<WorkerStore, 'claimAlertCheck' | 'recordAlerts'> & Pick<OperatorStore, 'getQueueHealth' | 'getTypeStats'>;

/**
 * Evaluates the conditions when this caller's turn has come (or `force`), and records them.
 * Conditions: `health` (the queue's own problems: waiting too long, failed runs, no worker),
 * `type:<type>` and `schedule:<name>` (the latest runs failed `maxConsecutiveFailedJobs` times
 * in a row). Answers the deliveries enqueued.
 */
export async function checkAlerts(store: AlertStore, settings: AlertSettings, options: { force?: boolean } = {}) {
  if (!options.force && !(await store.claimAlertCheck(settings.checkEveryMs ?? 30_000))) return { checked: false, sent: [] };
  const thresholds = resolveThresholds(settings.thresholds);
  const report = await assessHealth(store, thresholds);
  const { health: h, stats } = report;
  const conditions: AlertCondition[] = [{
    key: 'health',
    firing: report.queueProblems.length > 0,
    summary: report.queueProblems.length ? `edgejobs is unhealthy: ${report.queueProblems.join('; ')}` : 'edgejobs is healthy',
    details: { problems: report.queueProblems, ready: h.ready, oldestReadyAgeMs: h.oldestReadyAgeMs, consecutiveFailedRuns: h.consecutiveFailedRuns, lastSeenAt: h.lastSeenAt?.toISOString() ?? null },
  }];
  for (const s of stats) {
    const firing = s.consecutiveFailures >= thresholds.maxConsecutiveFailedJobs;
    const what = s.schedule ? `schedule ${s.schedule}` : `job type ${s.type}`;
    conditions.push({
      key: s.schedule ? `schedule:${s.schedule}` : `type:${s.type}`,
      firing,
      summary: firing ? `${what}: the latest ${s.consecutiveFailures} runs failed` : `${what} recovered`,
      details: {
        type: s.type, schedule: s.schedule, consecutiveFailures: s.consecutiveFailures, threshold: thresholds.maxConsecutiveFailedJobs,
        lastFailureAt: s.lastFailureAt?.toISOString() ?? null, lastSuccessAt: s.lastSuccessAt?.toISOString() ?? null,
      },
    });
  }
  const sent = await store.recordAlerts(conditions, settings.url, settings.minIntervalMs ?? 900_000);
  return { checked: true, sent };
}
