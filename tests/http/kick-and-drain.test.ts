/**
 * The kick from a route (functions-js → the function's URL, decided by the database) and the
 * Vercel Cron drain route, on the real database.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createKicker } from '../../lib/http/kick.ts';
import { drainRoute } from '../../lib/http/drain-route.ts';
import { useTestDb } from '../support/db.ts';
import { startRecorder, type Recorded } from '../support/recorder.ts';
import { bearer, makeRoutes, registry, request, userToken } from '../support/http.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs', 'edgejobs.worker_runs'] });
const SECRET = 'worker-secret-0123456789-0123456789';
let recorder: Awaited<ReturnType<typeof startRecorder>>;
let invoked: Recorded[];
let functionsUrl: string;

beforeAll(async () => {
  recorder = await startRecorder();
  invoked = recorder.received;
  functionsUrl = `${recorder.origin}/functions/v1`;
});
afterAll(() => recorder.stop());
beforeEach(async () => {
  invoked.splice(0);
  await db.sql`update edgejobs.kicks set last_kick_at = '-infinity'`;
});

const kicks = async () => Number((await db.sql`select kicks from edgejobs.kicks`)[0]!.kicks);

/** Routes that kick; minIntervalMs 0 so every enqueue asks the database (the decision under test). */
function kickingRoutes(url = functionsUrl, minIntervalMs = 0) {
  const tasks: Array<Promise<unknown>> = [];
  const routes = makeRoutes(db.store, {
    kick: createKicker({ store: db.store, functionsUrl: url, secret: SECRET, minIntervalMs }),
    afterResponse: (task) => tasks.push(task()),
  });
  return { routes, settle: () => Promise.all(tasks) };
}

describe('the kick after an enqueue', () => {
  it('invokes process-jobs once with the worker secret, however many enqueues follow within the interval', async () => {
    const { routes, settle } = kickingRoutes();
    const headers = bearer(await userToken(randomUUID()));
    for (let i = 0; i < 3; i++) {
      const response = await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input: { account: `a${i}` } }, headers }));
      expect(response.status).toBe(202);
    }
    await settle();
    expect(invoked).toEqual([{ path: '/functions/v1/process-jobs', auth: `Bearer ${SECRET}`, body: { trigger: 'kick' } }]);
  });

  it('does not kick while a drain is running, nor for a replayed idempotency key', async () => {
    const { routes, settle } = kickingRoutes();
    const headers = { ...bearer(await userToken(randomUUID())), 'idempotency-key': 'same' };
    const json = { type: 'billing.sync', input: { account: 'x' } };
    await routes.enqueue(request('POST', '/api/jobs', { json, headers }));
    await settle();
    expect(invoked).toHaveLength(1);
    await db.sql`update edgejobs.kicks set last_kick_at = '-infinity'`;
    await routes.enqueue(request('POST', '/api/jobs', { json, headers }));
    await db.store.startWorkerRun({ workerId: 'busy', trigger: 'test', deadline: new Date(Date.now() + 60_000) });
    await routes.enqueue(request('POST', '/api/jobs', { json: { ...json, input: { account: 'y' } }, headers: bearer(await userToken(randomUUID())) }));
    await settle();
    expect(invoked).toHaveLength(1);
  });

  it('never fails the enqueue when the function cannot be reached', async () => {
    const { routes, settle } = kickingRoutes('http://127.0.0.1:1/functions/v1');
    const before = await kicks();
    const response = await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input: { account: 'z' } }, headers: bearer(await userToken(randomUUID())) }));
    expect(response.status).toBe(202);
    expect(await settle()).toEqual([false]);
    expect(await kicks()).toBe(before + 1); // the kick was claimed and tried: the invoke failed
  });

  it('asks the database at most once per interval from one instance, and never for a job scheduled for later', async () => {
    const { routes, settle } = kickingRoutes(functionsUrl, 60_000);
    const headers = bearer(await userToken(randomUUID()));
    const before = await kicks();
    const later = await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input: { account: 'later' }, options: { delayMs: 60_000 } }, headers }));
    expect(later.status).toBe(202);
    await settle();
    expect(invoked).toHaveLength(0);
    expect(await kicks()).toBe(before);
    for (let i = 0; i < 3; i++) {
      await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input: { account: `n${i}` } }, headers }));
      await settle();
      await db.sql`update edgejobs.kicks set last_kick_at = '-infinity'`; // the database would allow another
    }
    expect(invoked).toHaveLength(1);
    expect(await kicks()).toBe(before + 1);
  });
});

describe('the Vercel Cron drain route', () => {
  const CRON = 'cron-secret-abcdefghijklmnopqrstuvwxyz';
  const route = (secret: string | undefined) => drainRoute({ store: db.store, registry, secret, drainMs: 5_000 });

  it('refuses a missing or wrong CRON_SECRET with 401 and drains nothing', async () => {
    expect((await route(CRON)(request('GET', '/api/jobs/drain'))).status).toBe(401);
    expect((await route(CRON)(request('GET', '/api/jobs/drain', { headers: bearer(`${CRON}x`) }))).status).toBe(401);
    expect((await route(CRON)(request('GET', '/api/jobs/drain', { headers: { authorization: CRON } }))).status).toBe(401);
    expect(await db.sql`select 1 from edgejobs.worker_runs`).toHaveLength(0);
  });

  it('answers 500 (the server is misconfigured) when CRON_SECRET is not set, whatever the caller sends', async () => {
    for (const headers of [{}, bearer(CRON), bearer('')]) {
      const response = await route(undefined)(request('GET', '/api/jobs/drain', { headers }));
      expect(response.status).toBe(500);
    }
    expect(await db.sql`select 1 from edgejobs.worker_runs`).toHaveLength(0);
  });

  it('refuses a drain time that is not a number of milliseconds, naming the variable', () => {
    expect(() => drainRoute({ store: db.store, registry, secret: CRON, drainMs: Number('abc') })).toThrow(/EDGEJOBS_CRON_DRAIN_MS/);
  });

  it('drains with the secret and answers the summary', async () => {
    const [job] = await db.store.enqueueJobs([{ type: 'report.generate', input: { title: 'cron', rows: [1, 2] } }]);
    const response = await route(CRON)(request('GET', '/api/jobs/drain', { headers: bearer(CRON) }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ drained: true, summary: { completed: 1, stopReason: 'empty' } });
    expect((await db.sql`select status, result from edgejobs.jobs where id = ${job!.id}`)[0]).toMatchObject({ status: 'completed', result: { total: 3 } });
    expect((await db.sql`select trigger from edgejobs.worker_runs`)[0]!.trigger).toBe('cron');
  });
});
