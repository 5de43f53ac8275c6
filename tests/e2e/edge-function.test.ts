/**
 * The process-jobs Edge Function in real Deno against the real database: authentication,
 * health, a drain started by a POST, one started by the kick on enqueue (pg_net and Vault stood
 * in), a job longer than one invocation finishing over several through self-continuation, and a
 * function killed mid-drain losing nothing; a webhook delivered and signed from Deno, and its
 * target check resolving a host through node:dns there.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { Webhook } from 'standardwebhooks';
import { waitFor as waitUntil } from '../support/wait.ts';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/embedded-db.ts';
import { useTestDb } from '../support/db.ts';
import { DENO, WORKER_SECRET, startDrain, startEdgeFunction, type RunningFunction } from '../support/edge-function.ts';
import { startPgNetWorker, type PgNetWorker } from '../support/pg-net.ts';

if (!existsSync(DENO)) throw new Error(`${DENO} is missing: run npm install (the deno npm package)`);

const db = useTestDb();
let fn: RunningFunction;
let pgNet: PgNetWorker | null = null;
// Short invocations (4 s of draining in a 5 s wall clock) so continuation shows in a test. The
// function signs webhooks (its secret from the environment, as `supabase secrets set` gives it).
const SECRET = `whsec_${Buffer.from('deno-webhook-secret-32-bytes-ok!').toString('base64')}`;
const ENV = () => ({
  SUPABASE_DB_URL: db.url, EDGEJOBS_WALL_CLOCK_MS: '5000', EDGEJOBS_DEADLINE_MARGIN_MS: '1000', EDGEJOBS_LEASE_MS: '2000',
  EDGEJOBS_WEBHOOK_SECRET: SECRET, EDGEJOBS_WEBHOOK_ALLOW_HTTP: 'true', EDGEJOBS_WEBHOOK_ALLOW_PRIVATE: 'true',
});
const received: Array<{ headers: Record<string, string>; body: string }> = [];
let receiver: Server;
let receiverUrl = '';

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      received.push({ headers: Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(req.headers[h])])), body });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  fn = await startEdgeFunction(ENV());
}, 120_000);
afterAll(async () => {
  await pgNet?.stop();
  await fn?.stop();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
});

const waitFor = <T>(read: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 30_000) =>
  waitUntil(read, what, { timeoutMs, context: () => fn.log.join('').slice(-3000) });
const finished = (id: string) => waitFor(async () => {
  const [job] = await db.sql`select status, result, attempts from edgejobs.jobs where id = ${id} and status in ('completed', 'failed', 'cancelled')`;
  return job;
}, `job ${id} to finish`);

describe('process-jobs in Deno', () => {
  it('answers health without draining, and refuses a missing or wrong secret with 401, starting nothing', async () => {
    const health = await fetch(`${fn.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, runningDrains: 0 });
    const none = await fetch(fn.url, { method: 'POST', body: '{}' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await none.json()).error.code).toBe('unauthorized');
    expect((await startDrain(fn.url, 'manual', `${WORKER_SECRET}x`)).status).toBe(401);
    expect((await startDrain(fn.url, 'manual', WORKER_SECRET.slice(0, -1))).status).toBe(401);
    const post = (body: string) => fetch(fn.url, { method: 'POST', headers: { authorization: `Bearer ${WORKER_SECRET}` }, body });
    // The routes' error model: a body that is not JSON is malformed_json, a bad trigger invalid_argument.
    for (const [body, code] of [['{not json', 'malformed_json'], ['{"trigger":"sometimes"}', 'invalid_argument'], ['{"trigger":5}', 'invalid_argument'], ['[]', 'invalid_argument']]) {
      const bad = await post(body!);
      expect(bad.status, body).toBe(400);
      expect((await bad.json()).error.code, body).toBe(code);
    }
    expect(await db.sql`select 1 from edgejobs.worker_runs`).toHaveLength(0);
  });

  it('delivers a job\'s webhook from Deno, signed (checked by the standardwebhooks verifier)', async () => {
    const [job] = await db.store.enqueueJobs([{ type: 'report.generate', input: { title: 'hook', rows: [1, 2], stepMs: 0 }, webhookUrl: receiverUrl }]);
    await startDrain(fn.url);
    await waitFor(async () => received.length > 0, 'the webhook POST');
    const event = new Webhook(SECRET).verify(received[0]!.body, received[0]!.headers) as { type: string; data: { id: string; result: unknown } };
    expect(event).toMatchObject({ type: 'job.completed', data: { id: job!.id, result: { sum: 3 } } });
    // The POST is answered before the drain records the delivery's end: wait for that too.
    const delivery = await waitFor(async () => (await db.sql`select id, status from edgejobs.jobs where parent_id = ${job!.id} and status = 'completed'`)[0], 'the delivery to be recorded');
    expect(delivery.id).toBe(received[0]!.headers['webhook-id']);
  });

  it('checks webhook targets in Deno through its DNS (node:dns): localhost is a loopback address', () => {
    const script = `import { checkWebhookTarget } from '${join(ROOT, 'lib', 'webhooks.ts')}';
      try { await checkWebhookTarget('https://localhost/x', {}); console.log('allowed'); } catch (e) { console.log(String(e.message)); }`;
    const run = spawnSync(DENO, ['eval', '--config', join(ROOT, 'supabase/functions/process-jobs/deno.json'), script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stdout + run.stderr).toMatch(/webhook host localhost is a loopback address/);
  });

  it('answers 202 at once and drains in the background', async () => {
    // Two steps of 500 ms: the 202 must come while the job is still running (or not started).
    const [job] = await db.store.enqueueJobs([{ type: 'report.generate', input: { title: 'deno', rows: [2, 4], stepMs: 500 } }]);
    const response = await startDrain(fn.url);
    expect(response.status).toBe(202);
    expect((await db.sql`select status from edgejobs.jobs where id = ${job!.id}`)[0]!.status).not.toBe('completed');
    expect(await response.json()).toMatchObject({ accepted: true, workerId: expect.stringMatching(/^process-jobs-/), trigger: 'manual' });
    expect(await finished(job!.id)).toMatchObject({ status: 'completed', result: { sum: 6 } });
  });

  it('finishes a job longer than one invocation over several, through its checkpoints and self-continuation', async () => {
    const csv = ['n', ...Array.from({ length: 24 }, (_, i) => String(i + 1))].join('\n');
    const [job] = await db.store.enqueueJobs([{ type: 'csv.import', input: { csv, chunkSize: 1, chunkMs: 300 } }]);
    expect((await startDrain(fn.url)).status).toBe(202);
    const done = await finished(job!.id);
    expect(done).toMatchObject({ status: 'completed', attempts: 1, result: { imported: 24, totals: { n: 300 } } });
    expect((done.result as { workerRuns: number }).workerRuns).toBeGreaterThan(1);
    const runs = await db.sql`select trigger from edgejobs.worker_runs where handed_back > 0 or trigger = 'continue'`;
    expect(runs.map((r) => r.trigger)).toContain('continue');
  }, 60_000);

  it('is started by the kick on enqueue (pg_net → the function, secret from Vault)', async () => {
    await db.sql.unsafe(await readFile(join(ROOT, 'tests/support/supabase-services.sql'), 'utf8'));
    await db.sql`select vault.create_secret(${fn.url}, 'edgejobs_worker_url'), vault.create_secret(${WORKER_SECRET}, 'edgejobs_worker_secret')`;
    pgNet = startPgNetWorker(db.url);
    await waitFor(async () => (await db.store.countRunningWorkers()) === 0 || null, 'no running drain');
    await db.sql`update edgejobs.kicks set last_kick_at = '-infinity'`;
    const [job] = await db.store.enqueueJobs([{ type: 'report.generate', input: { title: 'kicked', rows: [1], stepMs: 0 } }]);
    expect(await finished(job!.id)).toMatchObject({ status: 'completed' });
    const [run] = await db.sql`select trigger from edgejobs.worker_runs order by started_at desc limit 1`;
    expect(run!.trigger).toBe('kick');
    expect(pgNet.sent.at(-1)).toMatchObject({ url: fn.url, status: 202, body: { trigger: 'kick' } });
  });

  it('loses no job when the function is killed mid-drain: the lease expires and the next drain finishes it', async () => {
    await db.sql`update edgejobs.kicks set last_kick_at = 'infinity'`; // no kicks: this test starts drains itself
    const [job] = await db.store.enqueueJobs([{ type: 'report.generate', input: { title: 'killed', rows: [5], stepMs: 400 } }]);
    expect((await startDrain(fn.url)).status).toBe(202);
    await waitFor(async () => (await db.sql`select 1 from edgejobs.jobs where id = ${job!.id} and status = 'processing'`)[0], 'the job to start');
    await fn.stop('SIGKILL');
    fn = await startEdgeFunction(ENV(), fn.port);
    await new Promise((r) => setTimeout(r, 2_500)); // the 2 s lease runs out
    expect((await startDrain(fn.url)).status).toBe(202);
    const done = await finished(job!.id);
    expect(done).toMatchObject({ status: 'completed', result: { sum: 5 } });
    expect(done.attempts).toBe(2);
  }, 60_000);
});
