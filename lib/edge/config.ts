/** The function's settings, from its environment (`supabase secrets set …`), checked at start. */
import { LEASE_MS } from '../limits.ts';

export interface WorkerConfig {
  /** EDGEJOBS_WORKER_SECRET: the shared secret pg_cron, the kick and operators send. */
  secret: string;
  /** SUPABASE_DB_URL: the direct store's connection (through the pooler, prepared statements off). */
  databaseUrl: string;
  /** Where to POST to start another invocation: EDGEJOBS_WORKER_URL, else SUPABASE_URL + /functions/v1/process-jobs. */
  selfUrl: string | null;
  /** EDGEJOBS_WALL_CLOCK_MS: the platform's limit for one invocation. 150,000 (Free); 400,000 on paid plans. */
  wallClockMs: number;
  /** EDGEJOBS_DEADLINE_MARGIN_MS: the drain's deadline is this long before the wall clock. 15,000. */
  marginMs: number;
  /** EDGEJOBS_CONCURRENCY: handlers at once. 10. */
  concurrency: number;
  /** EDGEJOBS_MAX_DRAINS: drains at once across invocations (fan-out bound). 4. */
  maxDrains: number;
  /** EDGEJOBS_READY_PER_DRAIN: ready jobs per extra drain when fanning out. 500. */
  readyPerDrain: number;
  /** EDGEJOBS_LEASE_MS: job lease. 30,000. */
  leaseMs: number;
}

export function configFromEnv(get: (name: string) => string | undefined): WorkerConfig {
  const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const raw = get(name);
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`}, not ${JSON.stringify(raw)}`);
    }
    return value;
  };
  const secret = get('EDGEJOBS_WORKER_SECRET') ?? '';
  if (secret.length < 32) throw new Error('EDGEJOBS_WORKER_SECRET must be set to a random string of 32+ characters (supabase secrets set EDGEJOBS_WORKER_SECRET=…)');
  const databaseUrl = get('SUPABASE_DB_URL') ?? '';
  if (!databaseUrl) throw new Error('SUPABASE_DB_URL is not set (Supabase provides it to every function)');
  const supabaseUrl = get('SUPABASE_URL');
  const wallClockMs = int('EDGEJOBS_WALL_CLOCK_MS', 150_000, 3_000);
  const marginMs = int('EDGEJOBS_DEADLINE_MARGIN_MS', 15_000, 1_000);
  if (marginMs >= wallClockMs - 2_000) throw new Error('EDGEJOBS_DEADLINE_MARGIN_MS must leave at least 2 s of the wall clock for draining');
  return {
    secret,
    databaseUrl,
    selfUrl: get('EDGEJOBS_WORKER_URL') || (supabaseUrl ? `${supabaseUrl.replace(/\/$/, '')}/functions/v1/process-jobs` : null),
    wallClockMs,
    marginMs,
    concurrency: int('EDGEJOBS_CONCURRENCY', 10, 1, 1_000),
    maxDrains: int('EDGEJOBS_MAX_DRAINS', 4, 1),
    readyPerDrain: int('EDGEJOBS_READY_PER_DRAIN', 500, 1),
    leaseMs: int('EDGEJOBS_LEASE_MS', LEASE_MS.default, LEASE_MS.min, LEASE_MS.max),
  };
}
