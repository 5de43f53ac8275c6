/**
 * Workload 3: the enqueue route under `next start`, loaded by autocannon in a second process for
 * a fixed time at fixed connections, against the same route on a store that skips the database
 * (the floor: what the server and route code alone allow). Checks that every 202 stored exactly
 * one row.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { ROOT } from '../scripts/embedded-db.ts';
import { buildAndStartNext } from '../tests/support/next-app.ts';
import { signJwt } from '../tests/support/postgrest.ts';
import type { RecordFn } from './stats.ts';

const run = promisify(execFile);
const JWT_SECRET = 'bench-jwt-secret-that-is-at-least-32-characters';

interface Cannon { requests: { average: number }; latency: { p50: number; p99: number }; '2xx': number; non2xx: number; errors: number; timeouts: number }

async function cannon(url: string, seconds: number, connections: number, token: string): Promise<Cannon> {
  // [<id>] becomes a fresh id per request (-I): every stored row can be traced to one request.
  const body = JSON.stringify({ type: 'report.generate', input: { title: 'bench [<id>]', rows: [1, 2, 3], stepMs: 0 } });
  const { stdout } = await run(join(ROOT, 'node_modules', '.bin', 'autocannon'), [
    '--json', '-I', '-c', String(connections), '-d', String(seconds), '-m', 'POST',
    '-H', 'content-type=application/json', '-H', `authorization=Bearer ${token}`, '-b', body, url,
  ], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as Cannon;
}

export async function httpWorkload(databaseUrl: string, sizes: { httpSeconds: number; httpConnections: number; rounds: number }, record: RecordFn) {
  const app = await buildAndStartNext({ DATABASE_URL: databaseUrl, SUPABASE_JWT_SECRET: JWT_SECRET, EDGEJOBS_BENCH_FLOOR: '1' }, '.next-bench');
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const token = await signJwt(JWT_SECRET, { sub: crypto.randomUUID(), role: 'authenticated', aud: 'authenticated' }, '2h');
  await sql`truncate edgejobs.jobs, edgejobs.worker_runs`;
  const w = '3 enqueue over HTTP';
  const label = `POST /api/jobs, ${sizes.httpConnections} connections, ${sizes.httpSeconds} s, signed-in user`;
  try {
    for (let round = 0; round < sizes.rounds; round++) {
      for (const [name, path] of round % 2 ? [['floor (no database)', '/api/bench/floor'], ['edgejobs', '/api/jobs']] : [['edgejobs', '/api/jobs'], ['floor (no database)', '/api/bench/floor']]) {
        const before = Number((await sql`select count(*)::int as n from edgejobs.jobs`)[0]!.n);
        const r = await cannon(`${app.base}${path}`, sizes.httpSeconds, sizes.httpConnections, token);
        record(w, `${label}: requests/s`, 'req/s', 'higher', name!, r.requests.average);
        record(w, `${label}: p50`, 'ms', 'lower', name!, r.latency.p50);
        record(w, `${label}: p99`, 'ms', 'lower', name!, r.latency.p99);
        record(w, `${label}: errors (non-2xx, socket, timeouts)`, 'count', 'lower', name!, r.non2xx + r.errors + r.timeouts);
        if (name === 'edgejobs') {
          await new Promise((resolve) => setTimeout(resolve, 1_000)); // requests cut off at the end finish
          const [rows] = await sql`select count(*)::int as n, count(distinct input ->> 'title')::int as distinct_titles from edgejobs.jobs`;
          // autocannon stops counting at the deadline: up to one request per connection may have
          // been stored after it stopped listening. More than that, or any duplicate, is a bug.
          record(w, `${label}: rows stored − 202s counted (≤ ${sizes.httpConnections} in flight at the cut-off)`, 'rows', 'lower', name, Number(rows!.n) - before - r['2xx']);
          record(w, `${label}: duplicate rows`, 'rows', 'lower', name, Number(rows!.n) - Number(rows!.distinct_titles));
        }
      }
    }
  } finally {
    await sql.end({ timeout: 1 });
    await app.stop();
  }
}
