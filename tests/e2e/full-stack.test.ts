/**
 * The whole Supabase + Vercel path through real processes: `next start` serving the routes on
 * the supabase-js store (with an `sb_secret_…` key), the process-jobs function in real Deno, the
 * real database. Stand-ins:
 * PostgREST with the gateway's /functions/v1 route (tests/support/postgrest.ts), pg_net and Vault
 * (supabase-services.sql, pg-net.ts). POST a job → 202 → a worker starts (by the route's kick,
 * by the database's kick, or by the cron command) → GET shows progress and then the result.
 */
import { readFile } from 'node:fs/promises';
import { waitFor } from '../support/wait.ts';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/embedded-db.ts';
import { useTestDb } from '../support/db.ts';
import { JWT_SECRET, GUEST_SECRET } from '../support/http.ts';
import { buildAndStartNext, type NextApp } from '../support/next-app.ts';
import { SECRET_KEY, startPostgrest, type PostgrestStandIn } from '../support/postgrest.ts';
import { WORKER_SECRET, startEdgeFunction, type RunningFunction } from '../support/edge-function.ts';
import { startPgNetWorker, type PgNetWorker } from '../support/pg-net.ts';

const db = useTestDb();
let fn: RunningFunction;
let gateway: PostgrestStandIn;
let app: NextApp;
let pgNet: PgNetWorker;

beforeAll(async () => {
  fn = await startEdgeFunction({ SUPABASE_DB_URL: db.url });
  gateway = await startPostgrest({ databaseUrl: db.url, jwtSecret: JWT_SECRET, functionsUrl: `http://127.0.0.1:${fn.port}` });
  await db.sql.unsafe(await readFile(join(ROOT, 'tests/support/supabase-services.sql'), 'utf8'));
  pgNet = startPgNetWorker(db.url);
  app = await buildAndStartNext({
    SUPABASE_URL: gateway.url,
    // The project's secret key in the new format, as the README recommends (the gateway stand-in
    // maps it to service_role); tests/http/supabase-routes.test.ts keeps the legacy JWT key.
    SUPABASE_SECRET_KEY: SECRET_KEY,
    SUPABASE_JWT_SECRET: JWT_SECRET,
    EDGEJOBS_WORKER_SECRET: WORKER_SECRET,
    EDGEJOBS_GUEST_SECRET: GUEST_SECRET,
  }, '.next-fullstack');
}, 300_000);
afterAll(async () => {
  await app?.stop();
  await pgNet?.stop();
  await gateway?.stop();
  await fn?.stop();
});
beforeEach(async () => {
  // Each test starts with no drain running and a kick allowed.
  for (let i = 0; i < 200 && (await db.store.countRunningWorkers()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
  await db.sql`update edgejobs.kicks set last_kick_at = '-infinity'`;
});

async function submitAndFollow(title: string) {
  const response = await fetch(`${app.base}/api/reports`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title, rows: [1, 2, 3, 4], stepMs: 250 }),
  });
  expect(response.status).toBe(202);
  const { id, statusUrl } = await response.json();
  const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
  const seen: Array<{ status: string; percent: number | null }> = [];
  const end = Date.now() + 30_000;
  for (;;) {
    const job = await (await fetch(`${app.base}${statusUrl}`, { headers: { cookie } })).json();
    seen.push({ status: job.status, percent: job.progress?.percent ?? null });
    if (job.status === 'completed') return { id, job, seen };
    if (Date.now() > end) throw new Error(`job ${id} did not finish: ${JSON.stringify(seen.slice(-3))}\n${fn.log.join('').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
/** The trigger of the last drain that started before the job finished: the one that ran it. */
const triggerOf = async (id: string) => (await db.sql`
  select r.trigger from edgejobs.worker_runs r
  where r.started_at <= (select j.finished_at from edgejobs.jobs j where j.id = ${id})
  order by r.started_at desc limit 1`)[0]?.trigger;

describe('the full path on Supabase stand-ins', () => {
  it('route kick: with no pg_net secrets, the route invokes process-jobs through functions-js; GET shows progress, then the result', async () => {
    const { job, seen } = await submitAndFollow('route kick');
    expect(job.result).toMatchObject({ sum: 10, count: 4 });
    expect(seen.some((s) => s.status === 'processing' && s.percent !== null && s.percent > 0 && s.percent < 100)).toBe(true);
    expect(gateway.calls).toContain('functions:process-jobs');
    expect(await triggerOf(job.id)).toBe('kick');
  });

  it('database kick: with pg_net and the Vault secrets, the insert trigger starts the function', async () => {
    await db.sql`select vault.create_secret(${`${gateway.url}/functions/v1/process-jobs`}, 'edgejobs_worker_url'), vault.create_secret(${WORKER_SECRET}, 'edgejobs_worker_secret')`;
    const sentBefore = pgNet.sent.length;
    const routeKicksBefore = gateway.calls.filter((c) => c === 'functions:process-jobs').length;
    const { job } = await submitAndFollow('db kick');
    expect(job.result).toMatchObject({ sum: 10 });
    expect(pgNet.sent.slice(sentBefore)).toContainEqual(expect.objectContaining({ status: 202, body: { trigger: 'kick' } }));
    // pg_net's request went through the gateway too; the route itself did not kick again.
    expect(gateway.calls.filter((c) => c === 'functions:process-jobs').length - routeKicksBefore).toBe(pgNet.sent.length - sentBefore);
    expect(await triggerOf(job.id)).toBe('kick');
  });

  it('tick: with kicks held off, the cron command (what pg_cron runs) starts the function', async () => {
    await db.sql`update edgejobs.kicks set last_kick_at = 'infinity'`;
    const response = await fetch(`${app.base}/api/jobs`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'report.generate', input: { title: 'tick', rows: [5], stepMs: 0 } }),
    });
    const { id } = await response.json();
    await new Promise((r) => setTimeout(r, 500));
    expect((await db.sql`select status from edgejobs.jobs where id = ${id}`)[0]!.status).toBe('queued');
    await db.sql`select edgejobs.post_to_worker('cron')`;
    await waitFor(async () => (await db.sql`select status from edgejobs.jobs where id = ${id}`)[0]!.status === 'completed', 'the tick to run the job', { timeoutMs: 20_000 });
    expect(await triggerOf(id)).toBe('cron');
  });
});
