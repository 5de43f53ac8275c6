/**
 * The long-running worker for any server (the "separate worker service" setup): drains
 * continuously in rounds, wakes at once when jobs are inserted (LISTEN edgejobs_jobs, which needs
 * a direct or session-pooler connection), and on SIGTERM/SIGINT stops claiming, lets running jobs
 * finish for up to EDGEJOBS_SHUTDOWN_GRACE_MS, hands the rest back with their checkpoints, and
 * exits 0. Without LISTEN (transaction pooler) it polls every EDGEJOBS_WORKER_POLL_MS instead.
 *
 * Run it as `node --import tsx scripts/worker.ts` wherever a process manager (Docker, PM2,
 * systemd, Render, Heroku) sends the stop signal: that process must be this one. `npm run worker`
 * is for a terminal only: npm does not wait for the worker when it gets SIGTERM.
 * (docs/examples/Dockerfile.worker, docs/examples/Procfile)
 *
 * Env: DATABASE_URL (required), EDGEJOBS_CONCURRENCY (10), EDGEJOBS_WORKER_ROUND_MS (60000),
 * EDGEJOBS_WORKER_IDLE_MS (5000: with LISTEN, how often an idle worker still looks, for jobs
 * whose run_at has come), EDGEJOBS_WORKER_POLL_MS (1000: the poll without LISTEN),
 * EDGEJOBS_SHUTDOWN_GRACE_MS (5000; 0 hands running jobs back at once), EDGEJOBS_LEASE_MS (30000:
 * a killed worker's jobs are claimable again this long after its last heartbeat),
 * EDGEJOBS_JOBS_MODULE (a module exporting `registry`, path from the working directory; default
 * this app's demo jobs), EDGEJOBS_WORKER_NAME (worker@<host>: the name under which it registers
 * the registry's job types in edgejobs.job_type_workers, at start; health counts ready jobs of
 * types no live worker runs as unhandled).
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createPostgresStore } from '../lib/postgres-store.ts';
import { listenForJobs, runDrainLoop } from '../lib/drain-loop.ts';
import type { JobRegistry } from '../lib/job.ts';
import { createConsoleLogger } from '../lib/logger.ts';
import { LEASE_MS } from '../lib/limits.ts';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('[worker] DATABASE_URL is not set: give it the Postgres connection string (on Supabase, the session pooler or direct URL)');
  process.exit(1);
}
const int = (name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER) => {
  const value = Number(process.env[name] || fallback);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`[worker] ${name} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, not ${JSON.stringify(process.env[name])}`);
    process.exit(1);
  }
  return value;
};
const concurrency = int('EDGEJOBS_CONCURRENCY', 10, 1, 1_000);
const roundMs = int('EDGEJOBS_WORKER_ROUND_MS', 60_000, 2_500); // at least the 2 s hand-back margin + 0.5 s
const shutdownGraceMs = int('EDGEJOBS_SHUTDOWN_GRACE_MS', 5_000, 0, 600_000);
const leaseMs = int('EDGEJOBS_LEASE_MS', LEASE_MS.default, LEASE_MS.min, LEASE_MS.max);
const registry = await loadRegistry(process.env.EDGEJOBS_JOBS_MODULE);
// The lease holder recorded on every job this process runs, and its name in pg_stat_activity.
const workerId = `worker-${hostname()}-${process.pid}`;
const workerName = process.env.EDGEJOBS_WORKER_NAME || `worker@${hostname()}`.slice(0, 200);
if (workerName.length > 200) {
  console.error('[worker] EDGEJOBS_WORKER_NAME must be at most 200 characters');
  process.exit(1);
}
const log = createConsoleLogger('info');
const pooled = /:6543(\/|$)/.test(url);
const store = createPostgresStore({ url, max: Math.min(10, concurrency + 2), prepare: !pooled, applicationName: workerId });
const stop = new AbortController();

// Wake-ups: a NOTIFY from the insert trigger ends the idle wait at once (or the next one, when it
// arrives while a round is still running).
const wakeup = pooled ? null : await listenForJobs(store.sql, log);
const listening = wakeup !== null;
// With LISTEN a notification starts new jobs at once; the idle look-again only catches jobs whose
// run_at has come (no notification marks that moment).
const idleMs = listening ? int('EDGEJOBS_WORKER_IDLE_MS', 5_000, 10) : int('EDGEJOBS_WORKER_POLL_MS', 1_000, 10);

// The first SIGTERM/SIGINT stops the worker with the shutdown grace; a second one (Ctrl-C twice)
// hands running jobs back at once. Either way the jobs are handed back before it exits.
const now = new AbortController();
const shutdown = (signal: string) => {
  if (stop.signal.aborted) {
    if (!now.signal.aborted) console.log(`[worker] ${signal} again: handing running jobs back now`);
    now.abort();
    return;
  }
  console.log(shutdownGraceMs > 0
    ? `[worker] ${signal}: claiming nothing more; running jobs have ${shutdownGraceMs} ms to finish, then the rest are handed back`
    : `[worker] ${signal}: handing running jobs back, then exiting`);
  stop.abort();
};
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => shutdown(signal));

console.log(`[worker] draining ${registry.types().join(', ')} with concurrency ${concurrency}; ${listening ? 'woken by LISTEN edgejobs_jobs' : `polling every ${idleMs} ms`}`);
await runDrainLoop({
  store, registry, signal: stop.signal, handBackNow: now.signal, roundMs, idleMs, concurrency, shutdownGraceMs, leaseMs, workerId, workerName, trigger: 'worker', logger: log,
  ...(wakeup ? { waitForWork: wakeup.waitForWork } : {}),
  onRound: (s) => {
    if (s.claimed) console.log(`[worker] round: ${s.completed} completed, ${s.retried} retried, ${s.failed} failed, ${s.cancelled} cancelled, ${s.handedBack} handed back (${s.stopReason})`);
  },
});
// Every write is done: close the connections without waiting out a half-closed one.
await store.stop(1_000);
console.log('[worker] stopped');
process.exit(0);

/** The job registry: `registry` (or the default export) of EDGEJOBS_JOBS_MODULE, else the demo's. */
async function loadRegistry(path: string | undefined): Promise<JobRegistry> {
  if (!path) return (await import('../app/_server/demo-jobs.ts')).demoRegistry;
  let mod: { registry?: JobRegistry; default?: JobRegistry };
  try {
    mod = (await import(pathToFileURL(resolve(process.cwd(), path)).href)) as typeof mod;
  } catch (error) {
    console.error(`[worker] EDGEJOBS_JOBS_MODULE (${path}) could not be loaded: ${(error as Error).message}`);
    process.exit(1);
  }
  const found = mod.registry ?? mod.default;
  if (!found || typeof found.types !== 'function') {
    console.error(`[worker] EDGEJOBS_JOBS_MODULE (${path}) must export \`registry\` (createRegistry([...]))`);
    process.exit(1);
  }
  return found;
}
