import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.ts';
import { SERVICE_KEY, billing, bearer, makeRoutes, params, report, request, userToken } from '../support/http.ts';
import { createRegistry } from '../../lib/job.ts';
import { registerJobTypes } from '../../lib/job-types.ts';
import type { JobRoutes } from '../../lib/http/routes.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs', 'edgejobs.worker_runs', 'edgejobs.operator_actions'] });
let routes: JobRoutes;
beforeAll(() => {
  routes = makeRoutes(db.store);
});

async function enqueueAs(token: string, input: unknown = { account: 'a' }, options?: Record<string, unknown>) {
  const response = await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input, options }, headers: bearer(token) }));
  expect(response.status).toBe(202);
  return (await response.json()) as { id: string; statusUrl: string };
}
const get = (id: string, headers: Record<string, string> = {}) => routes.status(request('GET', `/api/jobs/${id}`, { headers }), params(id));
const del = (id: string, headers: Record<string, string> = {}) => routes.cancel(request('DELETE', `/api/jobs/${id}`, { headers }), params(id));

async function claim() {
  const [job] = await db.store.claimJobs({ workerId: 'w', types: ['billing.sync'], limit: 1, leaseMs: 30_000 });
  return job!;
}

describe('GET /api/jobs/:id', () => {
  it('answers the status with a strong ETag and Retry-After while not finished; If-None-Match gets 304', async () => {
    const token = await userToken(randomUUID());
    const { id } = await enqueueAs(token);
    const response = await get(id, bearer(token));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ id, type: 'billing.sync', status: 'queued', progress: null, result: null, error: null, attempts: 0, maxAttempts: 3, cancelRequested: false, startedAt: null, finishedAt: null });
    expect(body.realtimeTopic).toMatch(new RegExp(`^edgejobs:[0-9a-f-]{36}:job:${id}$`));
    expect(body).not.toHaveProperty('input');
    const etag = response.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(response.headers.get('retry-after')).toBe('1');
    const cached = await get(id, { ...bearer(token), 'if-none-match': etag });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe(etag);
    expect(await cached.text()).toBe('');
    const job = await claim();
    await db.store.saveJobProgress([{ id, leaseToken: job.leaseToken, progress: { pct: 30 } }]);
    const changed = await get(id, { ...bearer(token), 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(await changed.json()).toMatchObject({ status: 'processing', progress: { pct: 30 }, attempts: 1 });
  });

  it('shows the result of a finished job with no Retry-After, and the error code and message of a failed one (no stack)', async () => {
    const token = await userToken(randomUUID());
    const a = await enqueueAs(token, { account: 'a' });
    let job = await claim();
    await db.store.completeJobs([{ id: a.id, leaseToken: job.leaseToken, result: { synced: 12 } }]);
    const done = await get(a.id, bearer(token));
    expect(await done.json()).toMatchObject({ status: 'completed', result: { synced: 12 }, finishedAt: expect.any(String) });
    expect(done.headers.get('retry-after')).toBeNull();
    const b = await enqueueAs(token, { account: 'b' });
    job = await claim();
    await db.store.failJobs([{ id: b.id, leaseToken: job.leaseToken, permanent: true, error: { name: 'Error', code: 'bad_account', message: 'no such account', stack: 'at secret.ts:1' } }]);
    const failed = await (await get(b.id, bearer(token))).json();
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'bad_account', message: 'no such account' } });
    expect(failed.error).not.toHaveProperty('stack');
  });

  it('waits longer (Retry-After up to 60 s) for a job scheduled in the future', async () => {
    const token = await userToken(randomUUID());
    const { id } = await enqueueAs(token, { account: 'a' }, { delayMs: 30_000 });
    const response = await get(id, bearer(token));
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(29);
    expect(Number(response.headers.get('retry-after'))).toBeLessThanOrEqual(30);
  });

  it('answers 404 for an unknown id, a malformed id, another user\'s job and no credentials alike', async () => {
    const token = await userToken(randomUUID());
    const { id } = await enqueueAs(token);
    const answers = await Promise.all([
      get(randomUUID(), bearer(token)),
      get('not-a-uuid', bearer(token)),
      get("1' or '1'='1", bearer(token)),
      get(id, bearer(await userToken(randomUUID()))),
      get(id),
    ]);
    for (const response of answers) {
      expect(response.status).toBe(404);
      expect((await response.json()).error.code).toBe('job_not_found');
    }
  });

  it('lets the service key read any job', async () => {
    const { id } = await enqueueAs(await userToken(randomUUID()));
    const response = await get(id, bearer(SERVICE_KEY));
    expect(response.status).toBe(200);
    expect((await response.json()).realtimeTopic).toBeNull();
  });
});

describe('DELETE /api/jobs/:id', () => {
  it('cancels a queued job at once (200), asks a running one to stop (202), and answers 409 once finished', async () => {
    const token = await userToken(randomUUID());
    const queued = await enqueueAs(token, { account: 'q' });
    const cancelled = await del(queued.id, bearer(token));
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toMatchObject({ id: queued.id, status: 'cancelled' });
    expect((await del(queued.id, bearer(token))).status).toBe(409);

    const running = await enqueueAs(token, { account: 'r' });
    await claim();
    const requested = await del(running.id, bearer(token));
    expect(requested.status).toBe(202);
    expect(await requested.json()).toMatchObject({ status: 'processing', cancelRequested: true });
    const [row] = await db.sql`select status, cancel_requested_at from edgejobs.jobs where id = ${running.id}`;
    expect(row!.status).toBe('processing');
    expect(row!.cancel_requested_at).toBeInstanceOf(Date);
  });

  it('answers 404 for another user\'s job and leaves it alone', async () => {
    const { id } = await enqueueAs(await userToken(randomUUID()));
    const response = await del(id, bearer(await userToken(randomUUID())));
    expect(response.status).toBe(404);
    expect((await db.sql`select status from edgejobs.jobs where id = ${id}`)[0]!.status).toBe('queued');
    expect((await del('nope', bearer(SERVICE_KEY))).status).toBe(404);
  });
});

describe('GET /api/jobs', () => {
  it('lists only the caller\'s jobs, newest first, filtered by status and type, with a cursor', async () => {
    const token = await userToken(randomUUID());
    const mine = [];
    for (let i = 0; i < 5; i++) mine.push((await enqueueAs(token, { account: `m${i}` })).id);
    await enqueueAs(await userToken(randomUUID()));
    await del(mine[0]!, bearer(token));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const response = await routes.list(request('GET', `/api/jobs${query}`, { headers: bearer(token) }));
      expect(response.status).toBe(200);
      const body = await response.json();
      expect(body.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...body.jobs.map((j: { id: string }) => j.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...mine].reverse());
    const cancelledOnly = await (await routes.list(request('GET', '/api/jobs?status=cancelled&type=billing.sync', { headers: bearer(token) }))).json();
    expect(cancelledOnly.jobs.map((j: { id: string }) => j.id)).toEqual([mine[0]]);
  });

  it('refuses bad parameters (400/422) and callers with no identity (401)', async () => {
    const token = await userToken(randomUUID());
    expect((await routes.list(request('GET', '/api/jobs?status=done', { headers: bearer(token) }))).status).toBe(422);
    expect((await routes.list(request('GET', '/api/jobs?limit=0', { headers: bearer(token) }))).status).toBe(422);
    const badCursor = await routes.list(request('GET', '/api/jobs?cursor=zzz', { headers: bearer(token) }));
    expect(badCursor.status).toBe(400);
    expect((await badCursor.json()).error.code).toBe('invalid_argument');
    expect((await routes.list(request('GET', '/api/jobs'))).status).toBe(401);
  });
});

describe('POST /api/jobs with a singleton key', () => {
  it("answers a user's live job with the same key (202, replayed) and takes a new one once it ends; bad keys are 422", async () => {
    const token = await userToken(randomUUID());
    const first = await enqueueAs(token, { account: 'x' }, { singletonKey: 'sync:x' });
    const again = await enqueueAs(token, { account: 'x' }, { singletonKey: 'sync:x' }) as { id: string; replayed?: boolean };
    expect(again).toMatchObject({ id: first.id, replayed: true });
    const other = await enqueueAs(await userToken(randomUUID()), { account: 'x' }, { singletonKey: 'sync:x' });
    expect(other.id).not.toBe(first.id); // another user's key is theirs
    await db.sql`update edgejobs.jobs set status = 'cancelled', finished_at = now() where id = ${first.id}`;
    const after = await enqueueAs(token, { account: 'x' }, { singletonKey: 'sync:x' });
    expect(after.id).not.toBe(first.id);
    const bad = await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input: { account: 'x' }, options: { singletonKey: '' } }, headers: bearer(token) }));
    expect(bad.status).toBe(422);
    expect(JSON.stringify(await bad.json())).toContain('options.singletonKey');
  });
});

describe('GET /api/jobs/stats', () => {
  const stats = (headers: Record<string, string> = {}, query = '') => routes.stats(request('GET', `/api/jobs/stats${query}`, { headers }));

  it('answers operators (the service key, or a user whose app_metadata has edgejobs_operator) with counts and history', async () => {
    const token = await userToken(randomUUID());
    const a = await enqueueAs(token, { account: 'a' });
    await enqueueAs(token, { account: 'b' });
    const job = await claim();
    await db.store.completeJobs([{ id: job.id, leaseToken: job.leaseToken, result: null }]);
    const response = await stats(bearer(SERVICE_KEY));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = await response.json();
    expect(body).toMatchObject({
      finishedWithinMs: 3_600_000,
      totals: { ready: 1, scheduled: 0, processing: 0, completed: 1, failed: 0, cancelled: 0 },
      queues: [{ queue: expect.any(String), type: 'billing.sync', ready: 1, completed: 1, oldestReadyAgeMs: expect.any(Number) }],
      types: [{ type: 'billing.sync', schedule: null, runs: 1, completed: 1, consecutiveFailures: 0, critical: false, lastSuccessAt: expect.any(String) }],
    });
    expect(JSON.stringify(body)).not.toContain(a.id); // figures, not jobs
    const operator = await userToken(randomUUID(), { app_metadata: { edgejobs_operator: true } });
    expect((await stats(bearer(operator))).status).toBe(200);
    expect((await (await stats(bearer(SERVICE_KEY), '?finishedWithinMs=60000')).json()).finishedWithinMs).toBe(60_000);
    await db.sql`delete from edgejobs.jobs`;
  });

  it('refuses everyone else: 401 without credentials, 403 for users, anonymous users and a claim that is not true; 422 for a bad window', async () => {
    expect((await stats()).status).toBe(401);
    expect((await stats(bearer(await userToken(randomUUID())))).status).toBe(403);
    // user_metadata is the user's own to write: it does not count.
    expect((await stats(bearer(await userToken(randomUUID(), { user_metadata: { edgejobs_operator: true } })))).status).toBe(403);
    expect((await stats(bearer(await userToken(randomUUID(), { app_metadata: { edgejobs_operator: 'yes' } })))).status).toBe(403);
    expect((await stats(bearer(await userToken(randomUUID(), { is_anonymous: true, app_metadata: { edgejobs_operator: true } })))).status).toBe(403);
    const closed = makeRoutes(db.store, { operatorClaim: false });
    expect((await closed.stats(request('GET', '/api/jobs/stats', { headers: bearer(await userToken(randomUUID(), { app_metadata: { edgejobs_operator: true } })) }))).status).toBe(403);
    const bad = await stats(bearer(SERVICE_KEY), '?finishedWithinMs=5');
    expect(bad.status).toBe(422);
    expect(JSON.stringify(await bad.json())).toContain('finishedWithinMs');
  });
});

describe('POST /api/jobs/bulk', () => {
  const bulk = (json: unknown, headers: Record<string, string> = bearer(SERVICE_KEY)) => routes.bulk(request('POST', '/api/jobs/bulk', { json, headers }));

  it("counts first (the default), then acts, recording the operator; another user's jobs are theirs to lose only by filter", async () => {
    const owner = randomUUID();
    const token = await userToken(owner);
    for (let i = 0; i < 3; i++) await enqueueAs(token, { account: `${i}` });
    await enqueueAs(await userToken(randomUUID()), { account: 'other' });
    const counted = await bulk({ action: 'cancel', filter: { ownerId: owner } });
    expect(await counted.json()).toEqual({ dryRun: true, matched: 3 });
    expect((await db.sql`select count(*)::int as n from edgejobs.jobs where status = 'queued'`)[0]!.n).toBe(4);
    const operatorId = randomUUID();
    const operator = bearer(await userToken(operatorId, { app_metadata: { edgejobs_operator: true } }));
    const done = await bulk({ action: 'cancel', filter: { ownerId: owner, type: 'billing.sync' }, dryRun: false, batchSize: 2 }, operator);
    expect(await done.json()).toEqual({ dryRun: false, affected: 3, batches: 2, more: false });
    expect((await db.sql`select status, count(*)::int as n from edgejobs.jobs group by status order by status`).map((r) => [r.status, r.n]))
      .toEqual([['cancelled', 3], ['queued', 1]]);
    const actions = await db.sql`select actor, affected from edgejobs.operator_actions order by id`;
    expect(actions.map((a) => [a.actor, a.affected])).toEqual([[operatorId, 2], [operatorId, 1]]);
    await db.sql`delete from edgejobs.jobs`;
  });

  it('refuses non-operators (401, 403) and bad bodies (422 naming the field) and changes nothing', async () => {
    await enqueueAs(await userToken(randomUUID()));
    expect((await bulk({ action: 'delete', filter: { status: 'queued' }, dryRun: false }, {})).status).toBe(401);
    expect((await bulk({ action: 'delete', filter: { status: 'queued' }, dryRun: false }, bearer(await userToken(randomUUID())))).status).toBe(403);
    for (const [body, field] of [
      [{ action: 'purge', filter: { status: 'queued' } }, 'action'],
      [{ action: 'delete', filter: {} }, 'at least one filter field'],
      [{ action: 'delete', filter: { typ: 'x' } }, 'typ'],
      [{ action: 'delete', filter: { ids: ['not-a-uuid'] } }, 'filter.ids.0'],
      [{ action: 'delete', filter: { createdAfter: 'yesterday' } }, 'filter.createdAfter'],
      [{ action: 'delete', filter: { status: 'queued' }, batchSize: 20_000 }, 'batchSize'],
    ] as const) {
      const response = await bulk(body);
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(JSON.stringify(await response.json()), JSON.stringify(body)).toContain(field);
    }
    expect((await db.sql`select count(*)::int as n from edgejobs.jobs where status = 'queued'`)[0]!.n).toBe(1);
    await db.sql`delete from edgejobs.jobs`;
  });
});

describe('GET /api/jobs/health', () => {
  it('is 200 when idle and 503 when a ready job waits too long or worker runs keep failing', async () => {
    const ok = await routes.health(request('GET', '/api/jobs/health'));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ healthy: true, problems: [], ready: 0, consecutiveFailedRuns: 0 });

    await enqueueAs(await userToken(randomUUID()));
    const strict = makeRoutes(db.store, { health: { maxOldestReadyAgeMs: 0 } });
    await new Promise((r) => setTimeout(r, 5));
    const waiting = await strict.health(request('GET', '/api/jobs/health'));
    expect(waiting.status).toBe(503);
    const body = await waiting.json();
    expect(body).toMatchObject({ healthy: false, ready: 1 });
    expect(body.problems.join()).toMatch(/oldest ready job has waited/);
    expect(body.problems.join()).toMatch(/no worker has ever run/);

    for (let i = 0; i < 3; i++) {
      const run = await db.store.startWorkerRun({ workerId: 'w', trigger: 'test', deadline: null });
      await db.store.finishWorkerRun(run, { claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'error' }, { name: 'Error', code: 'database_error', message: 'x' });
    }
    const failing = await (await routes.health(request('GET', '/api/jobs/health'))).json();
    expect(failing.problems.join()).toMatch(/3 worker runs failed in a row/);

    // A drain that finds nothing it can claim leaves no run record, but the worker was seen and
    // the run of failures is over.
    const look = await db.store.startWorkerRun({ workerId: 'w', trigger: 'test', deadline: null });
    await db.store.finishWorkerRun(look, { claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'empty' });
    const seen = await (await routes.health(request('GET', '/api/jobs/health'))).json();
    expect(seen).toMatchObject({ consecutiveFailedRuns: 0, lastSeenAt: expect.any(String) });
    expect(seen.problems.join()).not.toMatch(/worker/);
  });

  it('counts ready jobs of a type no live worker runs as unhandled: their wait does not fail the check', async () => {
    // A worker that runs billing.sync only, seen just now; a report job (a type the app knows but
    // no worker runs) has waited 329 s, past the 300 s limit on the oldest ready job.
    await registerJobTypes(db.store, createRegistry([billing]), { workerName: 'worker@test' });
    const look = await db.store.startWorkerRun({ workerId: 'w', trigger: 'test', deadline: null, workerName: 'worker@test', types: ['billing.sync'] });
    await db.store.finishWorkerRun(look, { claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'empty' });
    const response = await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'report.generate', input: { title: 't', rows: [] } }, headers: bearer(SERVICE_KEY) }));
    const { id } = await response.json();
    await db.sql`update edgejobs.jobs set run_at = now() - interval '329 seconds' where id = ${id}`;
    const health = await routes.health(request('GET', '/api/jobs/health'));
    expect(await health.json()).toMatchObject({ healthy: true, problems: [], ready: 0, oldestReadyAgeMs: null, unhandled: 1, unhandledTypes: ['report.generate'] });
    expect(health.status).toBe(200);
    // Once a worker that runs it is seen, it is an old ready job like any other.
    await registerJobTypes(db.store, createRegistry([report]), { workerName: 'worker@reports' });
    const late = await routes.health(request('GET', '/api/jobs/health'));
    expect(late.status).toBe(503);
    expect(await late.json()).toMatchObject({ ready: 1, unhandled: 0, problems: [expect.stringMatching(/oldest ready job has waited 329 s/)] });
  });

  it('names a job type and a schedule whose latest runs failed 3 times in a row as critical, until one completes', async () => {
    // Finished runs as a worker leaves them (newest last): billing.sync failed 3 times after a success.
    const finish = async (type: string, status: string, minutesAgo: number, schedule: string | null = null) => db.sql`
      insert into edgejobs.jobs (type, input, status, attempts, max_attempts, started_at, finished_at, schedule_name, scheduled_for)
      values (${type}, '{}', ${status}, 1, 1, now() - make_interval(mins => ${minutesAgo}) - interval '2 seconds',
              now() - make_interval(mins => ${minutesAgo}), ${schedule}, case when ${schedule}::text is null then null else now() - make_interval(mins => ${minutesAgo}) end)`;
    await finish('billing.sync', 'completed', 10);
    for (const m of [9, 8, 7]) await finish('billing.sync', 'failed', m);
    await finish('billing.sync', 'cancelled', 6); // neither breaks nor extends the streak
    await finish('report.generate', 'failed', 9);
    await finish('report.generate', 'completed', 8);
    for (const m of [5, 4, 3]) await finish('report.generate', 'failed', m, 'nightly-report');
    const health = await routes.health(request('GET', '/api/jobs/health'));
    expect(health.status).toBe(503);
    const body = await health.json();
    expect(body.critical).toEqual([
      { type: 'billing.sync', schedule: null, consecutiveFailures: 3, lastFailureAt: expect.any(String), lastSuccessAt: expect.any(String) },
      { type: 'report.generate', schedule: null, consecutiveFailures: 3, lastFailureAt: expect.any(String), lastSuccessAt: expect.any(String) },
    ]);
    expect(body.problems).toEqual(expect.arrayContaining([
      'job type billing.sync: the latest 3 runs failed (limit 3)', 'job type report.generate: the latest 3 runs failed (limit 3)',
    ]));
    // The schedule's runs count for it too, once the schedule exists.
    await db.sql`select * from public.upsert_schedule('nightly-report', '0 2 * * *', 'report.generate')`;
    const withSchedule = await (await routes.health(request('GET', '/api/jobs/health'))).json();
    expect(withSchedule.problems).toContain('schedule nightly-report: the latest 3 runs failed (limit 3)');
    // A success ends the streak.
    await finish('billing.sync', 'completed', 1);
    await finish('report.generate', 'completed', 1, 'nightly-report');
    const recovered = await (await routes.health(request('GET', '/api/jobs/health'))).json();
    expect(recovered.critical).toEqual([]);
    // The figures behind it, from SQL.
    const stats = await db.store.getTypeStats();
    const billingStats = stats.find((s) => s.type === 'billing.sync' && s.schedule === null)!;
    expect(billingStats).toMatchObject({ runs: 6, completed: 2, failed: 3, cancelled: 1, consecutiveFailures: 0 });
    expect(billingStats.durationMs!.p50).toBeCloseTo(2000, -1);
    expect(billingStats.runsPerMinute).toBeCloseTo(6 / 1440, 5);
    expect(stats.find((s) => s.schedule === 'nightly-report')).toMatchObject({ type: 'report.generate', runs: 4, failed: 3, completed: 1 });
    await db.sql`delete from edgejobs.jobs`;
    await db.sql`delete from edgejobs.schedules`;
  });

  it('can be limited to the service key', async () => {
    const closed = makeRoutes(db.store, { health: { access: 'service' } });
    expect((await closed.health(request('GET', '/api/jobs/health'))).status).toBe(401);
    expect((await closed.health(request('GET', '/api/jobs/health', { headers: bearer(SERVICE_KEY) }))).status).toBe(200);
  });
});
