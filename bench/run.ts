/**
 * `npm run bench` (`-- --quick` for small sizes): edgejobs, graphile-worker and pg-boss on the same
 * embedded PostgreSQL, each in its own database, workloads interleaved over rounds. Prints one
 * table (medians with min–max, and edgejobs against the best other), writes it and the raw
 * numbers to bench/results/ and a summary into bench/README.md. Reports; asserts nothing.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem, tmpdir, release } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { ROOT, applySchema, createDatabase, startEmbeddedPostgres } from '../scripts/embedded-db.ts';
import { edgejobsContender } from './contenders/edgejobs.ts';
import { graphileContender } from './contenders/graphile-worker.ts';
import { pgBossContender } from './contenders/pg-boss.ts';
import type { Contender } from './contenders/types.ts';
import { percentile, table, type Metric } from './stats.ts';
import { kickPickupWorkload, scaleWorkload, timeBoxWorkload } from './edgejobs-only.ts';
import { httpWorkload } from './http.ts';

const quick = process.argv.includes('--quick');
const SIZES = quick
  ? { rounds: 1, drain: 2_000, seq: 200, bulk: 2_000, pickup: 10, deep: 20_000, shallow: 2_000, timeBoxMs: 3_000, httpSeconds: 3, httpConnections: 10 }
  : { rounds: 3, drain: 20_000, seq: 2_000, bulk: 20_000, pickup: 500, deep: 1_000_000, shallow: 10_000, timeBoxMs: 10_000, httpSeconds: 10, httpConnections: 20 };
const skipHttp = process.argv.includes('--no-http');
/** `--only=drain,enqueue,pickup,scale,kick,timebox,http`: run just these workloads (printed only: a partial run is not a result to keep). */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const wanted = (name: string) => !only || only.includes(name);
// The same server settings for every contender (recorded with the results).
const PG_SETTINGS = { shared_buffers: '256MB', max_connections: 300, fsync: 'on', synchronous_commit: 'on', wal_level: 'logical' };

const metrics = new Map<string, Metric>();
function record(workload: string, metric: string, unit: string, better: 'higher' | 'lower', contender: string, ...values: number[]) {
  const key = `${workload}\u0000${metric}`;
  const m = metrics.get(key) ?? { workload, metric, unit, better, samples: new Map() };
  m.samples.set(contender, [...(m.samples.get(contender) ?? []), ...values]);
  metrics.set(key, m);
}
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function drainWorkload(c: Contender) {
  for (const workers of [1, 4]) {
    await c.reset();
    await c.enqueueBulk(SIZES.drain);
    const ms = await c.drainAll(SIZES.drain, { workers, concurrency: 10 });
    record('1 drain', `${SIZES.drain.toLocaleString('en-US')} no-op jobs, ${workers} worker${workers > 1 ? 's' : ''} × concurrency 10`, 'jobs/s', 'higher', c.name, SIZES.drain / (ms / 1000));
  }
}

async function enqueueWorkload(c: Contender) {
  await c.reset();
  const latencies: number[] = [];
  for (let i = 0; i < SIZES.seq; i++) {
    const t = performance.now();
    await c.enqueueOne({ i });
    latencies.push(performance.now() - t);
  }
  record('2 enqueue', `${SIZES.seq.toLocaleString('en-US')} sequential single enqueues: p50`, 'ms', 'lower', c.name, percentile(latencies, 50));
  record('2 enqueue', `${SIZES.seq.toLocaleString('en-US')} sequential single enqueues: p99`, 'ms', 'lower', c.name, percentile(latencies, 99));
  await c.reset();
  const ms = await c.enqueueBulk(SIZES.bulk);
  record('2 enqueue', `bulk enqueue of ${SIZES.bulk.toLocaleString('en-US')}`, 'jobs/s', 'higher', c.name, SIZES.bulk / (ms / 1000));
}

async function pickupWorkload(c: Contender) {
  for (const [path, start] of Object.entries(c.pickupPaths)) {
    await c.reset();
    let resolveJob: ((latency: number) => void) | null = null;
    const stop = await start((payload) => resolveJob?.(Date.now() - Number(payload.t)));
    await new Promise((r) => setTimeout(r, 300)); // idle: the worker has settled into its wait
    const latencies: number[] = [];
    for (let i = 0; i < SIZES.pickup; i++) {
      const picked = new Promise<number>((resolve) => (resolveJob = resolve));
      await c.enqueueOne({ t: Date.now() });
      latencies.push(await picked);
      await new Promise((r) => setTimeout(r, 20 + (i % 7) * 5)); // idle again, at varying phases of any poll
    }
    await stop();
    record('4 pickup', `${path}: p50`, 'ms', 'lower', c.name, percentile(latencies, 50));
    record('4 pickup', `${path}: p99`, 'ms', 'lower', c.name, percentile(latencies, 99));
  }
}

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), 'edgejobs-bench-'));
  log(`starting PostgreSQL (${Object.entries(PG_SETTINGS).map(([k, v]) => `${k}=${v}`).join(', ')})`);
  const pg = await startEmbeddedPostgres({ dataDir, settings: PG_SETTINGS });
  try {
    const admin = pg.url;
    const version = (await postgres(admin, { max: 1 })`select version()`.then((r) => r[0]!.version as string));
    for (const db of ['ej', 'gw', 'pgb']) await createDatabase(admin, db);
    await applySchema(pg.urlFor('ej'));
    const contenders = [await edgejobsContender(pg.urlFor('ej')), await graphileContender(pg.urlFor('gw')), await pgBossContender(pg.urlFor('pgb'))];
    const names = [...contenders.map((c) => c.name), 'floor (no database)'];
    for (let round = 0; round < SIZES.rounds; round++) {
      // Interleaved, and a different contender goes first each round.
      const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
      const workloads = [drainWorkload, enqueueWorkload, pickupWorkload].filter((w) => wanted(w.name.replace(/Workload$/, '')));
      for (const workload of workloads) {
        for (const c of order) {
          log(`round ${round + 1}/${SIZES.rounds}: ${workload.name} ${c.name}`);
          await workload(c);
        }
      }
      log(`round ${round + 1}/${SIZES.rounds}: scale and time box (edgejobs)`);
      // A million jobs in, through and purged takes minutes: once per run, not per round.
      if (round === 0 && wanted('scale')) await scaleWorkload(pg.urlFor('ej'), SIZES, record);
      if (round === 0 && wanted('kick')) await kickPickupWorkload(pg.urlFor('ej'), SIZES, record);
      if (wanted('timebox')) await timeBoxWorkload(pg.urlFor('ej'), SIZES, record);
    }
    for (const c of contenders) await c.close();
    if (!skipHttp && wanted('http')) {
      log('enqueue over HTTP (next build && next start, autocannon)');
      await httpWorkload(pg.urlFor('ej'), SIZES, record);
    }

    const pkg = (name: string) => readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8').then((t) => JSON.parse(t).version as string);
    const versions = `edgejobs ${(JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}, graphile-worker ${await pkg('graphile-worker')}, pg-boss ${await pkg('pg-boss')}, Node ${process.version}`;
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}`;
    const when = new Date().toISOString();
    const text = [
      `# edgejobs benchmark ${quick ? '(quick)' : ''} — ${when}`,
      '',
      `Machine: ${machine}. ${version.split(',')[0]}, settings ${Object.entries(PG_SETTINGS).map(([k, v]) => `${k}=${v}`).join(', ')}.`,
      `Versions: ${versions}. Rounds: ${SIZES.rounds} (interleaved; medians with min–max).`,
      '',
      'Settings per contender:',
      ...contenders.map((c) => `- ${c.name}: ${c.settings}`),
      '',
      table([...metrics.values()], names),
      '',
    ].join('\n');
    process.stdout.write(`${text}\n`);
    if (only) return;
    const stamp = when.replace(/[:.]/g, '-');
    await writeFile(join(ROOT, 'bench', 'results', `${stamp}${quick ? '-quick' : ''}.md`), text);
    await writeFile(join(ROOT, 'bench', 'results', `${stamp}${quick ? '-quick' : ''}.raw.json`), JSON.stringify([...metrics.values()].map((m) => ({ ...m, samples: Object.fromEntries(m.samples) })), null, 2));
    if (!quick) {
      const readme = join(ROOT, 'bench', 'README.md');
      const current = await readFile(readme, 'utf8');
      const marker = '<!-- results -->';
      const [before] = current.split(marker);
      await writeFile(readme, `${before}${marker}\n\n${text}`);
    }
  } finally {
    await pg.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
