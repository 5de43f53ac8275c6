/**
 * Completion webhooks and alerts, delivered to a real local HTTP receiver by real drains on real
 * Postgres, every signature checked with the `standardwebhooks` library's own verifier: a job's
 * end enqueues its delivery in the same transaction; a failing receiver gets the same webhook-id
 * again after the backoff; private and plain-http targets are refused unless allowed; alerts
 * fire once per condition per interval and resolve.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { z } from 'zod';
import { checkAlerts } from '../../lib/alerts.ts';
import { drain, type DrainOptions } from '../../lib/drain.ts';
import { PermanentError } from '../../lib/errors.ts';
import { createRegistry, defineJob } from '../../lib/job.ts';
import { silentLogger } from '../../lib/logger.ts';
import { createQueue } from '../../lib/queue.ts';
import { checkWebhookTarget, WEBHOOK_JOB_TYPE, type WebhookSettings } from '../../lib/webhooks.ts';
import { useTestDb, userClaims } from '../support/db.ts';

const SECRET = `whsec_${Buffer.from('a-test-secret-of-thirty-two-byte').toString('base64')}`;
const verifier = new Webhook(SECRET);

const ok = defineJob({ type: 'report.make', input: z.object({ n: z.number() }), handler: ({ n }) => ({ rows: n }) });
const bad = defineJob({
  type: 'report.broken', input: z.object({}), retry: { maxAttempts: 1 },
  handler: () => { throw new PermanentError('the source file is gone'); },
});
const hooked = defineJob({ type: 'report.hooked', input: z.object({}), webhook: 'https://hooks.example.com/jobs', handler: () => 'done' });
const registry = createRegistry([ok, bad, hooked]);

const db = useTestDb({ truncate: ['edgejobs.jobs', 'edgejobs.alerts', 'edgejobs.worker_runs'] });

interface Received { headers: IncomingHttpHeaders; body: string }
let server: Server;
let received: Received[] = [];
let answer: (n: number) => number = () => 204;
let url = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = answer(received.length);
      res.end(res.statusCode >= 300 ? 'receiver is down' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(async () => {
  received = [];
  answer = () => 204;
  await db.sql`update edgejobs.settings set alert_checked_at = '-infinity'`;
});

const local: WebhookSettings = { secret: SECRET, allowHttp: true, allowPrivate: true };
const run = (o: Partial<DrainOptions> = {}) =>
  drain({ store: db.store, registry, deadline: Date.now() + 10_000, logger: silentLogger, webhooks: local, alerts: false, ...o });

/** Verifies a delivery with the standard verifier (throws if the signature is wrong) and answers its event. */
function verified(r: Received): { type: string; timestamp: string; data: Record<string, unknown> } {
  const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(r.headers[h])]));
  return verifier.verify(r.body, headers) as { type: string; timestamp: string; data: Record<string, unknown> };
}

it('posts a job\'s end, signed, once it completes or fails; the delivery is a job of its own', async () => {
  const queue = createQueue({ store: db.store, registry });
  const done = await queue.enqueue('report.make', { n: 3 }, { webhookUrl: url });
  const failed = await queue.enqueue('report.broken', {}, { webhookUrl: url });
  await queue.enqueue('report.make', { n: 4 }); // no webhook: no delivery
  await run(); // runs the jobs; their ends enqueue the deliveries, which the same drain posts
  expect(received).toHaveLength(2);
  const events = received.map(verified).sort((a, b) => a.type.localeCompare(b.type));
  expect(events.map((e) => [e.type, e.data.id, e.data.status])).toEqual([
    ['job.completed', done.id, 'completed'], ['job.failed', failed.id, 'failed']]);
  expect(events[0]!.data.result).toEqual({ rows: 3 });
  expect(events[1]!.data.error).toEqual({ code: 'permanent', message: 'the source file is gone' }); // no stack leaves
  expect(received[0]!.headers['content-type']).toBe('application/json');
  // The webhook-id is the delivery job's id; the job records where its deliveries went.
  const deliveries = await db.sql<{ id: string; parent_id: string; status: string }[]>`
    select id, parent_id, status from edgejobs.jobs where type = ${WEBHOOK_JOB_TYPE} order by created_at`;
  expect(deliveries.map((d) => d.status)).toEqual(['completed', 'completed']);
  expect(new Set(received.map((r) => r.headers['webhook-id']))).toEqual(new Set(deliveries.map((d) => d.id)));
  const details = await db.store.consoleJob(done.id);
  expect(details!.deliveries).toMatchObject([{ status: 'completed', event: 'job.completed', url }]);
  // A tampered body fails the standard verifier.
  for (const r of received) {
    expect(() => verified({ ...r, body: r.body.replace(/"status":\s*"(completed|failed)"/, '"status": "cancelled"') })).toThrow();
    expect(() => verified({ ...r, body: `${r.body} ` })).toThrow();
  }
});

it('retries a failing receiver with backoff under the same webhook-id, then stops at a 2xx', async () => {
  answer = (n) => (n < 3 ? 500 : 200);
  const job = await createQueue({ store: db.store, registry }).enqueue('report.make', { n: 1 }, { webhookUrl: url });
  await run();
  expect(received).toHaveLength(1);
  const [delivery] = await db.sql<{ id: string; status: string; attempts: number; run_at: Date; errors: Array<{ message: string }> }[]>`
    select id, status, attempts, run_at, errors from edgejobs.jobs where parent_id = ${job.id}`;
  expect(delivery).toMatchObject({ status: 'queued', attempts: 1 });
  expect(delivery!.errors[0]!.message).toContain('answered 500: receiver is down');
  expect(delivery!.run_at.getTime()).toBeGreaterThan(Date.now() + 5_000); // 10 s backoff (+-25%)
  for (let i = 0; i < 2; i++) {
    await db.sql`update edgejobs.jobs set run_at = now() where id = ${delivery!.id}`;
    await run();
  }
  expect(received).toHaveLength(3);
  expect(new Set(received.map((r) => r.headers['webhook-id']))).toEqual(new Set([delivery!.id]));
  expect(received.map((r) => verified(r).data.id)).toEqual([job.id, job.id, job.id]);
  const [after] = await db.sql`select status, attempts from edgejobs.jobs where id = ${delivery!.id}`;
  expect(after).toMatchObject({ status: 'completed', attempts: 3 });
});

it('takes the type\'s webhook by default, the enqueue\'s over it, and refuses bad URLs at every door', async () => {
  const queue = createQueue({ store: db.store, registry });
  await drain({ store: db.store, registry, deadline: Date.now() + 2_000, logger: silentLogger, webhooks: local, alerts: false }); // registers the types
  const byType = await queue.enqueue('report.hooked', {});
  const overridden = await queue.enqueue('report.hooked', {}, { webhookUrl: url });
  const rows = await db.sql<{ id: string; webhook_url: string }[]>`select id, webhook_url from edgejobs.jobs where id in ${db.sql([byType.id, overridden.id])}`;
  expect(Object.fromEntries(rows.map((r) => [r.id, r.webhook_url]))).toEqual({ [byType.id]: 'https://hooks.example.com/jobs', [overridden.id]: url });
  // TypeScript, SQL, and end users (a server-only option).
  await expect(queue.enqueue('report.make', { n: 1 }, { webhookUrl: 'ftp://x' })).rejects.toThrow(/webhookUrl must be an http\(s\) URL/);
  await expect(db.sql`select public.enqueue_jobs('[{"type": "report.make", "webhook_url": "https://user:pw@x.test/"}]')`).rejects.toThrow(/webhook_url must be an http\(s\) URL/);
  await expect(db.as('authenticated', userClaims('00000000-0000-0000-0000-00000000000a'), (tx) =>
    tx`select public.enqueue_jobs(${tx.json([{ type: 'report.make', input: { n: 1 }, webhook_url: url }])})`)).rejects.toThrow(/only the server may set webhook_url/);
  expect(() => defineJob({ type: 'x', input: z.object({}), webhook: 'not a url', handler: () => null })).toThrow(/webhook must be an http\(s\) URL/);
});

it('leaves deliveries to a drain that can sign them; end users cannot enqueue one', async () => {
  const job = await createQueue({ store: db.store, registry }).enqueue('report.make', { n: 1 }, { webhookUrl: url });
  await run({ webhooks: { allowHttp: true, allowPrivate: true } }); // no secret
  const [waiting] = await db.sql`select status, attempts from edgejobs.jobs where parent_id = ${job.id}`;
  expect(waiting).toEqual({ status: 'queued', attempts: 0 });
  await run();
  expect(received.map(verified).map((e) => e.data.id)).toEqual([job.id]);
  // A user may not have the worker sign an event of their making (even before any type is registered).
  await db.sql`delete from edgejobs.job_types`;
  await expect(db.as('authenticated', userClaims('00000000-0000-0000-0000-00000000000b'), (tx) =>
    tx`select public.enqueue_jobs(${tx.json([{ type: WEBHOOK_JOB_TYPE, input: { url, event: { type: 'job.completed', timestamp: 'x', data: {} } } }])})`))
    .rejects.toThrow(/built-in type only the server may enqueue/);
});

it('refuses plain http and private targets unless allowed, failing the delivery for good', async () => {
  await expect(checkWebhookTarget(url, { allowHttp: false, allowPrivate: true })).rejects.toThrow(/must be https/);
  await expect(checkWebhookTarget('https://127.0.0.1/x', {})).rejects.toThrow(/loopback address/);
  await expect(checkWebhookTarget('https://[::1]/x', {})).rejects.toThrow(/loopback/);
  await expect(checkWebhookTarget('https://[::7f00:1]/x', {})).rejects.toThrow(/ipv4Compatible/);
  await expect(checkWebhookTarget('https://[::ffff:10.0.0.1]/x', {})).rejects.toThrow(/private/);
  await expect(checkWebhookTarget('https://2130706433/x', {})).rejects.toThrow(/loopback/); // 127.0.0.1 as one number
  await expect(checkWebhookTarget('https://hooks.internal/x', { resolve: async () => ['10.0.0.7'] })).rejects.toThrow(/private address \(10\.0\.0\.7\)/);
  await expect(checkWebhookTarget('https://hooks.example.com/x', { resolve: async () => ['93.184.216.34', '169.254.169.254'] })).rejects.toThrow(/linkLocal/);
  expect((await checkWebhookTarget('https://hooks.example.com/x', { resolve: async () => ['93.184.216.34'] })).host).toBe('hooks.example.com');

  const job = await createQueue({ store: db.store, registry }).enqueue('report.make', { n: 1 }, { webhookUrl: url });
  await run({ webhooks: { secret: SECRET, allowHttp: true } }); // private not allowed
  expect(received).toHaveLength(0);
  const [delivery] = await db.sql<{ status: string; error: { message: string; details: { reason: string } } }[]>`
    select status, error from edgejobs.jobs where parent_id = ${job.id}`;
  expect(delivery!.status).toBe('failed');
  expect(delivery!.error.message).toMatch(/127\.0\.0\.1.*EDGEJOBS_WEBHOOK_ALLOW_PRIVATE/);
});

it('alerts once when a type\'s failure streak reaches the threshold, holds repeats within the interval, and resolves', async () => {
  const queue = createQueue({ store: db.store, registry });
  const settings = { url, minIntervalMs: 60_000, thresholds: { maxConsecutiveFailedJobs: 2 } };
  const sentBy = async () => (await checkAlerts(db.store, settings, { force: true })).sent.map((s) => `${s.event} ${s.key}`);
  for (let i = 0; i < 2; i++) await queue.enqueue('report.broken', {});
  await run();
  expect(await sentBy()).toEqual(['alert.firing type:report.broken']);
  expect(await sentBy()).toEqual([]); // still firing: told once
  await queue.enqueue('report.make', { n: 1 });
  await run(); // delivers the firing alert
  const firing = received.map(verified);
  expect(firing).toHaveLength(1);
  expect(firing[0]).toMatchObject({ type: 'alert.firing', data: { key: 'type:report.broken', details: { consecutiveFailures: 2, threshold: 2 } } });
  expect(firing[0]!.data.summary).toBe('job type report.broken: the latest 2 runs failed');

  // A success ends the streak: resolved, once. Failing again within the interval is held back…
  await db.sql`update edgejobs.jobs set finished_at = finished_at - interval '1 second' where type = 'report.broken'`;
  await db.sql`insert into edgejobs.jobs (type, status, attempts, started_at, finished_at, expires_at, result)
    values ('report.broken', 'completed', 1, now(), now(), now() + interval '1 day', '"ok"')`;
  expect(await sentBy()).toEqual(['alert.resolved type:report.broken']);
  expect(await sentBy()).toEqual([]);
  await db.sql`insert into edgejobs.jobs (type, status, attempts, started_at, finished_at, expires_at, error)
    select 'report.broken', 'failed', 1, now(), now() + make_interval(secs => g), now() + interval '1 day', '{"message": "again"}' from generate_series(1, 2) g`;
  expect(await sentBy()).toEqual([]);
  // … until the interval has passed since the last firing alert.
  await db.sql`update edgejobs.alerts set last_notified_at = now() - interval '61 seconds'`;
  expect(await sentBy()).toEqual(['alert.firing type:report.broken']);
  const [state] = await db.sql`select firing, notified from edgejobs.alerts where key = 'type:report.broken'`;
  expect(state).toEqual({ firing: true, notified: true });
});

it('alerts for a schedule whose runs fail, under its own key', async () => {
  await db.store.registerSchedules([{ name: 'nightly-broken', cron: '0 3 * * *', timezone: 'UTC', type: 'report.broken', input: {}, options: {}, overlap: 'allow', catchUp: 'latest', catchUpLimit: 1, runOnCreate: false, enabled: true }]);
  await db.sql`insert into edgejobs.jobs (type, schedule_name, scheduled_for, status, attempts, started_at, finished_at, expires_at, error)
    select 'report.broken', 'nightly-broken', now() - make_interval(days => g), 'failed', 1, now(), now() - make_interval(secs => g), now() + interval '1 day', '{"message": "no data"}'
    from generate_series(1, 3) g`;
  const { sent } = await checkAlerts(db.store, { url, thresholds: { maxConsecutiveFailedJobs: 3 } }, { force: true });
  expect(sent.map((s) => `${s.event} ${s.key}`).sort()).toEqual(['alert.firing schedule:nightly-broken', 'alert.firing type:report.broken']);
  await db.sql`delete from edgejobs.schedules`;
});

it('alerts when the queue turns unhealthy, from a drain, at most one drain checking per interval', async () => {
  const settings = { url, checkEveryMs: 60_000, thresholds: { maxOldestReadyAgeMs: 1_000 } };
  // A job waiting an hour in a queue these drains do not take (so no claim races the check).
  await db.sql`insert into edgejobs.jobs (type, queue, run_at) values ('report.make', 'slow', now() - interval '1 hour')`;
  // The drain checks as it starts; a drain delivers the alert.
  await drain({ store: db.store, registry, deadline: Date.now() + 10_000, logger: silentLogger, webhooks: local, alerts: settings, queues: ['default', 'edgejobs'] });
  if (received.length === 0) await run({ queues: ['default', 'edgejobs'] }); // enqueued after that drain's last claim
  expect(received.map(verified).map((e) => [e.type, e.data.key])).toEqual([['alert.firing', 'health']]);
  expect((received.map(verified)[0]!.data.summary as string)).toMatch(/^edgejobs is unhealthy: the oldest ready job has waited \d+ s \(limit 1 s\)/);
  // Within checkEveryMs no other drain evaluates; the next one that does finds it healthy.
  expect((await checkAlerts(db.store, settings)).checked).toBe(false);
  await db.sql`delete from edgejobs.jobs where queue = 'slow'`;
  await db.sql`update edgejobs.settings set alert_checked_at = '-infinity'`;
  expect((await checkAlerts(db.store, settings)).sent.map((s) => s.event)).toEqual(['alert.resolved']);
  await expect(db.store.recordAlerts([{ key: 'health', firing: true }], 'file:///etc/passwd', 1000)).rejects.toThrow(/url must be an http\(s\) URL/);
});
