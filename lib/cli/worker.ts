/**
 * `edgejobs worker [jobs-module]`: the long-running worker for any server (the "separate worker
 * service" setup). It drains continuously in rounds, wakes at once when jobs are inserted (LISTEN
 * edgejobs_jobs, which needs a direct or session-pooler connection), and on SIGTERM/SIGINT stops
 * claiming, lets running jobs finish for up to EDGEJOBS_SHUTDOWN_GRACE_MS, hands the rest back
 * with their checkpoints, and exits 0; a second signal hands running jobs back at once. Without
 * LISTEN (transaction pooler) it polls every EDGEJOBS_WORKER_POLL_MS instead.
 *
 * Run it where a process manager (Docker, PM2, systemd, Render, Heroku) sends the stop signal to
 * this process itself: `exec node_modules/.bin/edgejobs worker` (docs/examples/Procfile,
 * docs/examples/Dockerfile.worker). Through `npm run` or `npx`, npm gets the signal and does not
 * wait for the worker.
 */
import { hostname } from 'node:os';
import { createPostgresStore } from '../postgres-store.ts';
import { listenForJobs, runDrainLoop } from '../drain-loop.ts';
import { createConsoleLogger } from '../logger.ts';
import { LEASE_MS } from '../limits.ts';
import { CliError, loadJobs } from './common.ts';

/** The environment the worker reads (see `edgejobs worker --help`). */
export const WORKER_ENV = `Environment:
  DATABASE_URL                 Postgres connection string (required; on Supabase the session
                               pooler or direct URL gets LISTEN wake-ups, the transaction pooler
                               on port 6543 polls)
  EDGEJOBS_JOBS_MODULE         the module exporting \`registry\` when none is given
  EDGEJOBS_CONCURRENCY         handlers at once (10)
  EDGEJOBS_WORKER_ROUND_MS     length of one drain round (60000)
  EDGEJOBS_WORKER_IDLE_MS      with LISTEN, how often an idle worker still looks (5000)
  EDGEJOBS_WORKER_POLL_MS      without LISTEN, how often it polls (1000)
  EDGEJOBS_SHUTDOWN_GRACE_MS   on SIGTERM, how long running jobs may finish (5000; 0 = hand back now)
  EDGEJOBS_LEASE_MS            a killed worker's jobs are claimable again this long after (30000)
  EDGEJOBS_WORKER_NAME         the name its job types are registered under (worker@<host>)`;

export async function runWorker(jobsModule: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const url = env.DATABASE_URL;
  if (!url) throw new CliError('DATABASE_URL is not set: give it the Postgres connection string (on Supabase, the session pooler or direct URL)');
  const int = (name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER) => {
    const value = Number(env[name] || fallback);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new CliError(`${name} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, not ${JSON.stringify(env[name])}`);
    }
    return value;
  };
  const concurrency = int('EDGEJOBS_CONCURRENCY', 10, 1, 1_000);
  const roundMs = int('EDGEJOBS_WORKER_ROUND_MS', 60_000, 2_500); // at least the 2 s hand-back margin + 0.5 s
  const shutdownGraceMs = int('EDGEJOBS_SHUTDOWN_GRACE_MS', 5_000, 0, 600_000);
  const leaseMs = int('EDGEJOBS_LEASE_MS', LEASE_MS.default, LEASE_MS.min, LEASE_MS.max);
  const { registry, schedules } = await loadJobs(jobsModule ?? env.EDGEJOBS_JOBS_MODULE);
  // The lease holder recorded on every job this process runs, and its name in pg_stat_activity.
  const workerId = `worker-${hostname()}-${process.pid}`;
  const workerName = env.EDGEJOBS_WORKER_NAME || `worker@${hostname()}`.slice(0, 200);
  if (workerName.length > 200) throw new CliError('EDGEJOBS_WORKER_NAME must be at most 200 characters');
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

  console.log(`[worker] draining ${registry.types().join(', ')}${schedules?.length ? ` and ${schedules.length} schedule${schedules.length === 1 ? '' : 's'}` : ''} with concurrency ${concurrency}; ${listening ? 'woken by LISTEN edgejobs_jobs' : `polling every ${idleMs} ms`}`);
  await runDrainLoop({
    store, registry, ...(schedules ? { schedules } : {}), signal: stop.signal, handBackNow: now.signal, roundMs, idleMs, concurrency, shutdownGraceMs, leaseMs, workerId, workerName, trigger: 'worker', logger: log,
    ...(wakeup ? { waitForWork: wakeup.waitForWork } : {}),
    onRound: (s) => {
      if (s.claimed) console.log(`[worker] round: ${s.completed} completed, ${s.retried} retried, ${s.failed} failed, ${s.cancelled} cancelled, ${s.handedBack} handed back (${s.stopReason})`);
    },
  });
  // Every write is done: close the connections without waiting out a half-closed one.
  await store.stop(1_000);
  console.log('[worker] stopped');
}
