/**
 * Workloads about edgejobs' own design, with no counterpart to compare: claim cost against queue
 * depth (and with vacuum held back), table size after a purge, and how well a time-boxed drain
 * uses and keeps its deadline.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import postgres from 'postgres';
import { z } from 'zod';
import { createPostgresStore, type PostgresStore } from '../lib/postgres-store.ts';
import { createRegistry, defineJob } from '../lib/job.ts';
import { drain } from '../lib/drain.ts';
import { registerJobTypes } from '../lib/job-types.ts';
import { silentLogger } from '../lib/logger.ts';
import { ROOT } from '../scripts/embedded-db.ts';
import { percentile, type RecordFn } from './stats.ts';

interface Sizes { deep: number; shallow: number; timeBoxMs: number }

/** As an app does at start: the database's registry learns the types a workload enqueues. */
async function registerTypes(store: PostgresStore, types: string[]) {
  await store.registerJobTypes(types.map((type) => ({ type, usersMayEnqueue: true, anonymousMayEnqueue: false, inputSchema: null, keepCompleted: null, keepFailed: null, backoffFactor: null, webhookUrl: null })));
}

async function enqueueNoop(store: PostgresStore, n: number) {
  await registerTypes(store, ['noop']);
  for (let i = 0; i < n; i += 20_000) {
    await store.enqueueJobs(Array.from({ length: Math.min(20_000, n - i) }, () => ({ type: 'noop', input: {} })));
  }
}

/** Jobs per second for the first `n` jobs of whatever is queued (stops the drain once n have run). */
async function throughput(store: PostgresStore, n: number): Promise<number> {
  let done = 0;
  const stop = new AbortController();
  const started = performance.now();
  let finishedAt = 0;
  const registry = createRegistry([defineJob({
    type: 'noop', input: z.unknown(),
    handler: () => {
      if (++done === n) {
        finishedAt = performance.now();
        stop.abort();
      }
      return null;
    },
  })]);
  await drain({ store, registry, deadline: Date.now() + 900_000, concurrency: 10, batchSize: 1_000, signal: stop.signal, logger: silentLogger });
  return n / (((finishedAt || performance.now()) - started) / 1000);
}

const mb = async (sql: postgres.Sql) => Number((await sql`select pg_total_relation_size('edgejobs.jobs') as b`)[0]!.b) / 2 ** 20;

export async function scaleWorkload(url: string, sizes: Sizes, record: RecordFn) {
  const store = createPostgresStore({ url, max: 10 });
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const fresh = async () => {
    await sql`truncate edgejobs.jobs, edgejobs.worker_runs`;
    await sql`vacuum analyze edgejobs.jobs`;
  };
  try {
    const w = '5 scale';
    const n = sizes.shallow;
    await fresh();
    await enqueueNoop(store, n);
    const shallow = await throughput(store, n);
    record(w, `claim+complete, ${n.toLocaleString('en-US')} waiting`, 'jobs/s', 'higher', 'edgejobs', shallow);

    await fresh();
    await enqueueNoop(store, sizes.deep);
    await sql`analyze edgejobs.jobs`;
    const deep = await throughput(store, n);
    record(w, `claim+complete of ${n.toLocaleString('en-US')}, ${sizes.deep.toLocaleString('en-US')} waiting`, 'jobs/s', 'higher', 'edgejobs', deep);
    record(w, `deep / shallow throughput`, 'ratio', 'higher', 'edgejobs', deep / shallow);

    // Drain the rest, purge everything finished, and see what the table keeps.
    await throughput(store, sizes.deep - n);
    const before = await mb(sql);
    while (Number((await sql`select public.purge_jobs(older_than => interval '0', max_rows => 1000000) as n`)[0]!.n) > 0);
    await sql`vacuum edgejobs.jobs`;
    record(w, `jobs table + indexes after ${sizes.deep.toLocaleString('en-US')} jobs: before purge`, 'MiB', 'lower', 'edgejobs', before);
    record(w, `… after purge + vacuum (space kept for reuse)`, 'MiB', 'lower', 'edgejobs', await mb(sql));

    // A transaction left open (an idle session, a long report) holds vacuum back.
    await fresh();
    await enqueueNoop(store, n);
    const holder = postgres(url, { max: 1, onnotice: () => {} });
    const held = holder.begin('isolation level repeatable read', async (tx) => {
      await tx`select count(*) from edgejobs.jobs`;
      await new Promise<void>((resolve) => (release = resolve));
    });
    let release: () => void = () => {};
    const blocked = await throughput(store, n);
    release();
    await held.catch(() => {});
    await holder.end({ timeout: 1 });
    // The same run without the open transaction again, after it: the ratio is against the mean of
    // the runs before and after, so a warming (or tiring) machine does not favour either side.
    await fresh();
    await enqueueNoop(store, n);
    const after = await throughput(store, n);
    record(w, `claim+complete with a long-open transaction`, 'jobs/s', 'higher', 'edgejobs', blocked);
    record(w, `… relative to without (mean of the runs before and after)`, 'ratio', 'higher', 'edgejobs', blocked / ((shallow + after) / 2));
  } finally {
    await store.stop();
    await sql.end({ timeout: 1 });
  }
}

/**
 * The time box, in Deno (the Edge Function's runtime, through bench/deno-time-box.ts): a drain with
 * a deadline over jobs of 100–500 ms, each with a 100 KiB input; the share of the budget spent in
 * handlers, when the last job was handed back, and the drain's peak memory.
 */
export async function timeBoxWorkload(url: string, sizes: Sizes, record: RecordFn) {
  const store = createPostgresStore({ url, max: 2 });
  try {
    await store.sql`truncate edgejobs.jobs, edgejobs.worker_runs`;
    await registerTypes(store, ['work']);
    const capacity = Math.ceil((sizes.timeBoxMs / 300) * 10);
    // Incompressible inputs (random base64), so Postgres cannot make them small on disk either.
    const input = (i: number) => ({ ms: 100 + ((i * 37) % 401), data: randomBytes(75 * 1024).toString('base64') });
    for (let i = 0; i < capacity * 2; i += 50) {
      await store.enqueueJobs(Array.from({ length: Math.min(50, capacity * 2 - i) }, (_, k) => ({ type: 'work', input: input(i + k) })));
    }
    const { DENO } = await import('../tests/support/edge-function.ts');
    const out = await new Promise<string>((resolve, reject) => {
      execFile(DENO, ['run', '--allow-net', '--allow-env', '--allow-read', '--config', join(ROOT, 'supabase', 'functions', 'process-jobs', 'deno.json'), join(ROOT, 'bench', 'deno-time-box.ts')], {
        cwd: ROOT, env: { ...process.env, NO_COLOR: '1', EDGEJOBS_BENCH_DB_URL: url, EDGEJOBS_BENCH_TIME_BOX_MS: String(sizes.timeBoxMs) }, timeout: sizes.timeBoxMs + 60_000,
      }, (error, stdout, stderr) => (error ? reject(new Error(`deno-time-box failed: ${error.message}\n${stderr}`)) : resolve(stdout)));
    });
    const r = JSON.parse(out.trim().split('\n').at(-1) as string) as {
      busyShare: number; lastHandBackMs: number; handedBack: number; inputKiB: number; baselineRssMiB: number; peakRssMiB: number; peakHeapMiB: number;
    };
    const w = '6 time box';
    const label = `${sizes.timeBoxMs / 1000} s deadline, jobs of 100–500 ms with ${Math.round(r.inputKiB)} KiB inputs, concurrency 10, in Deno`;
    record(w, `${label}: share of the budget running handlers`, '%', 'higher', 'edgejobs', r.busyShare * 100);
    record(w, `${label}: last hand-back, relative to the deadline`, 'ms', 'lower', 'edgejobs', r.lastHandBackMs);
    record(w, `${label}: jobs handed back`, 'jobs', 'lower', 'edgejobs', r.handedBack);
    record(w, `${label}: peak RSS of the Deno process (limit 256 MB)`, 'MiB', 'lower', 'edgejobs', r.peakRssMiB);
    record(w, `${label}: peak RSS above the idle process`, 'MiB', 'lower', 'edgejobs', r.peakRssMiB - r.baselineRssMiB);
    record(w, `${label}: peak JS heap`, 'MiB', 'lower', 'edgejobs', r.peakHeapMiB);
  } finally {
    await store.stop();
  }
}

/**
 * Pickup through the kick: enqueue → claim_worker_kick → functions.invoke → the process-jobs
 * function in real Deno → claim. Measured in the database (claim time − enqueue time, one clock).
 * The kick interval is set to 100 ms for this run (default 1 s) so jobs can follow each other.
 */
export async function kickPickupWorkload(url: string, sizes: { pickup: number }, record: RecordFn) {
  const { startEdgeFunction, WORKER_SECRET } = await import('../tests/support/edge-function.ts');
  const { createKicker } = await import('../lib/http/kick.ts');
  const store = createPostgresStore({ url, max: 4 });
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const fn = await startEdgeFunction({ SUPABASE_DB_URL: url });
  try {
    await sql`truncate edgejobs.jobs, edgejobs.worker_runs`;
    await sql`update edgejobs.kicks set min_interval = interval '100 milliseconds', last_kick_at = '-infinity'`;
    const { demoRegistry } = await import('../app/_server/demo-jobs.ts');
    await registerJobTypes(store, demoRegistry);
    const kick = createKicker({ store, functionsUrl: `http://127.0.0.1:${fn.port}`, secret: WORKER_SECRET });
    const latencies: number[] = [];
    const samples = Math.min(sizes.pickup, 200);
    for (let i = 0; i < samples; i++) {
      const [job] = await store.enqueueJobs([{ type: 'report.generate', input: { title: 'kick', rows: [1], stepMs: 0 } }]);
      await kick();
      for (let w = 0; w < 400; w++) {
        const [row] = await sql`select extract(epoch from (started_at - created_at)) * 1000 as ms, status from edgejobs.jobs where id = ${job!.id}`;
        if (row?.status === 'completed') {
          latencies.push(Number(row.ms));
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      // The drain ends once the queue is empty; wait for its run record to close before the next kick.
      for (let w = 0; w < 200 && (await store.countRunningWorkers()) > 0; w++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 110));
    }
    const label = `kick → Edge Function in Deno (${latencies.length} jobs)`;
    record('4 pickup', `${label}: p50`, 'ms', 'lower', 'edgejobs', percentile(latencies, 50));
    record('4 pickup', `${label}: p99`, 'ms', 'lower', 'edgejobs', percentile(latencies, 99));
  } finally {
    await sql`update edgejobs.kicks set min_interval = interval '1 second'`.catch(() => {});
    await fn.stop();
    await store.stop();
    await sql.end({ timeout: 1 });
  }
}
