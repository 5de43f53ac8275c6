/**
 * The store conformance suite: every adapter (direct Postgres, supabase-js through PostgREST)
 * must answer every call of the SQL API with the same shapes and the same error codes.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EdgeJobsError } from '../../lib/errors.ts';
import type { ClientStore, Store } from '../../lib/store.ts';

export interface ConformanceSetup {
  /** The store acting as the service role. */
  service(): Store;
  /** The store acting as a signed-in user. */
  asUser(userId: string): Promise<ClientStore & Partial<Store>>;
  /** The store acting as the anon role (no user). */
  asAnon(): Promise<ClientStore & Partial<Store>>;
  /** Superuser SQL, to look at rows. */
  rows(query: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error, 'expected the call to fail').toBeInstanceOf(EdgeJobsError);
  return (error as EdgeJobsError).code;
}

export function storeConformance(name: string, setup: () => ConformanceSetup): void {
  describe(`${name} store conformance`, () => {
    const s = () => setup();

    it('enqueues with defaults, replays an idempotency key, refuses a changed input with idempotency_conflict', async () => {
      const store = s().service();
      const [job] = await store.enqueueJobs([{ type: 'conf.a', input: { n: 1 }, idempotencyKey: 'k1' }]);
      expect(job).toMatchObject({ type: 'conf.a', queue: 'default', status: 'queued', priority: 0, replayed: false, idempotencyKey: 'k1' });
      expect(job!.createdAt).toBeInstanceOf(Date);
      const [again] = await store.enqueueJobs([{ type: 'conf.a', input: { n: 1 }, idempotencyKey: 'k1' }]);
      expect(again).toMatchObject({ id: job!.id, replayed: true });
      expect(await codeOf(store.enqueueJobs([{ type: 'conf.a', input: { n: 2 }, idempotencyKey: 'k1' }]))).toBe('idempotency_conflict');
      expect(await s().rows(`select count(*)::int as n from edgejobs.jobs where idempotency_key = 'k1'`)).toEqual([{ n: 1 }]);
    });

    it('refuses bad arguments and oversized input with their codes, storing nothing', async () => {
      const store = s().service();
      const before = (await s().rows('select count(*)::int as n from edgejobs.jobs'))[0];
      expect(await codeOf(store.enqueueJobs([{ type: 'conf.bad', priority: 10_000_000 }]))).toBe('invalid_argument');
      expect(await codeOf(store.enqueueJobs([{ type: 'conf.big', input: { s: 'x'.repeat(1_100_000) } }]))).toBe('input_too_large');
      expect(await codeOf(store.getJob('not-a-uuid'))).toBe('invalid_argument');
      // What jsonb cannot hold, sent past the TypeScript API's own check: the database's error
      // (22P05), mapped to the caller's fault.
      expect(await codeOf(store.enqueueJobs([{ type: 'conf.nul', input: { title: 'a\u0000b' } }]))).toBe('invalid_argument');
      expect(await codeOf(store.enqueueJobs([{ type: 'conf.nul', input: {}, idempotencyKey: 'k\u0000' }]))).toBe('invalid_argument');
      expect((await s().rows('select count(*)::int as n from edgejobs.jobs'))[0]).toEqual(before);
    });

    it('gives users their own jobs only: get, list with cursor, cancel', async () => {
      const alice = await s().asUser(randomUUID());
      const bob = await s().asUser(randomUUID());
      const mine = await alice.enqueueJobs([1, 2, 3].map((n) => ({ type: 'conf.own', input: { n } })));
      expect(await bob.getJob(mine[0]!.id)).toBeNull();
      const got = await alice.getJob(mine[0]!.id);
      expect(got).toMatchObject({ id: mine[0]!.id, status: 'queued', input: { n: 1 }, attempts: 0, maxAttempts: 3, progress: null, result: null, error: null });
      expect(got!.createdAt).toBeInstanceOf(Date);
      const page1 = await alice.listJobs({ type: 'conf.own', limit: 2 });
      expect(page1).toHaveLength(2);
      const last = page1[1]!;
      const page2 = await alice.listJobs({ type: 'conf.own', limit: 2, before: { createdAt: last.createdAt, id: last.id } });
      expect([...page1, ...page2].map((j) => j.id).sort()).toEqual(mine.map((j) => j.id).sort());
      expect(await bob.listJobs({ type: 'conf.own' })).toEqual([]);
      expect(await codeOf(bob.cancelJob(mine[0]!.id))).toBe('job_not_found');
      expect((await alice.cancelJob(mine[0]!.id)).status).toBe('cancelled');
      expect(await codeOf(alice.cancelJob(mine[0]!.id))).toBe('job_finished');
    });

    it('keeps anon and users out of worker and operator calls (forbidden)', async () => {
      const anon = await s().asAnon();
      expect(await codeOf(anon.enqueueJobs([{ type: 'conf.anon' }]))).toBe('forbidden');
      const user = await s().asUser(randomUUID());
      expect(await codeOf(user.claimJobs!({ workerId: 'w', types: ['conf.anon'], limit: 1, leaseMs: 30_000 }))).toBe('forbidden');
      expect(await codeOf(user.getQueueHealth!())).toBe('forbidden');
    });

    it('runs the worker cycle: claim, heartbeat, progress, complete, fail, hand back, lease_lost', async () => {
      const store = s().service();
      const type = `conf.work.${randomUUID().slice(0, 8)}`;
      const jobs = await store.enqueueJobs([1, 2, 3].map((n) => ({ type, input: { n }, maxAttempts: 2 })));
      const claimed = await store.claimJobs({ workerId: 'w1', types: [type], limit: 3, leaseMs: 30_000 });
      expect(claimed.map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());
      const [a, b, c] = claimed as [typeof claimed[0], typeof claimed[0], typeof claimed[0]];
      expect(a).toMatchObject({ attempt: 1, maxAttempts: 2, cancelRequested: false, checkpoint: null });
      expect(a.lockedUntil).toBeInstanceOf(Date);
      const [beat] = await store.heartbeatJobs([a], 60_000);
      expect(beat).toMatchObject({ id: a.id, outcome: 'extended', cancelRequested: false });
      expect((await store.saveJobProgress([{ ...a, progress: { pct: 50 }, checkpoint: { at: 5 } }]))[0]).toMatchObject({ outcome: 'saved' });
      const child = { type, input: { n: 4 }, delayMs: 60_000 };
      expect(await store.completeJobs([{ id: a.id, leaseToken: a.leaseToken, result: { ok: true }, children: [child] }])).toEqual([{ id: a.id, outcome: 'completed' }]);
      expect(await store.completeJobs([{ id: a.id, leaseToken: a.leaseToken, result: { again: true } }])).toEqual([{ id: a.id, outcome: 'lease_lost' }]);
      const [failed] = await store.failJobs([{ ...b, error: { name: 'Error', code: 'handler_error', message: 'boom' } }]);
      expect(failed).toMatchObject({ id: b.id, outcome: 'retrying' });
      expect(failed!.runAt).toBeInstanceOf(Date);
      expect(await store.handBackJobs([{ ...c, checkpoint: { step: 2 } }])).toEqual([{ id: c.id, outcome: 'queued' }]);
      const done = await store.getJob(a.id);
      expect(done).toMatchObject({ status: 'completed', result: { ok: true }, progress: { pct: 50 }, parentId: null, children: [{ type, status: 'queued' }] });
      expect(await store.getJob(done!.children[0]!.id)).toMatchObject({ parentId: a.id, input: { n: 4 }, children: [] });
      expect(done!.finishedAt).toBeInstanceOf(Date);
      expect(await store.reapExpiredLeases(10)).toEqual([]);
    });

    it('records worker runs and answers the operator calls', async () => {
      const store = s().service();
      const runId = await store.startWorkerRun({ workerId: 'w-ops', trigger: 'test', deadline: new Date(Date.now() + 60_000) });
      expect(runId).toMatch(/^[0-9a-f-]{36}$/);
      await store.finishWorkerRun(runId, { claimed: 1, completed: 1, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'empty' });
      const health = await store.getQueueHealth();
      expect(health).toMatchObject({ lastRunStatus: 'succeeded', consecutiveFailedRuns: 0 });
      expect(health.lastRunFinishedAt).toBeInstanceOf(Date);
      expect(Array.isArray(await store.getQueueStats())).toBe(true);
      expect(await store.pauseQueue('conf-q')).toEqual({ name: 'conf-q', paused: true, concurrencyLimit: null });
      expect(await store.setQueueConcurrency('conf-q', 3)).toEqual({ name: 'conf-q', paused: true, concurrencyLimit: 3 });
      expect(await store.resumeQueue('conf-q')).toEqual({ name: 'conf-q', paused: false, concurrencyLimit: 3 });
      expect(typeof await store.retryFailedJobs({ type: 'conf.none' })).toBe('number');
      expect(await store.bulkJobs('redrive', { type: 'conf.none', createdAfter: new Date(0) })).toEqual({ matched: 0, affected: 0, more: false });
      expect(await store.bulkJobs('delete', { type: 'conf.none' }, { dryRun: false, actor: 'conformance' })).toEqual({ matched: 0, affected: 0, more: false });
      expect(typeof await store.purgeJobs({ olderThanMs: 3_600_000 })).toBe('number');
      expect(typeof await store.purgeWorkerRuns(3_600_000)).toBe('number');
      const running = await store.startWorkerRun({ workerId: 'w-running', trigger: 'test', deadline: new Date(Date.now() + 60_000) });
      expect(await store.countRunningWorkers()).toBe(1);
      expect(await store.claimWorkerKick()).toBe(false); // a drain is running
      await store.finishWorkerRun(running, { claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'empty' });
      expect(await store.countRunningWorkers()).toBe(0);
      // No kick yet in this database and no drain running: the first caller gets it, the next does not.
      expect([await store.claimWorkerKick(), await store.claimWorkerKick()]).toEqual([true, false]);
    });

    it('answers the schedule, history and type-policy calls with the same shapes', async () => {
      const store = s().service();
      const type = `conf.sched.${randomUUID().slice(0, 8)}`;
      await store.registerJobTypes([{ type, usersMayEnqueue: true, anonymousMayEnqueue: false, inputSchema: null, keepCompleted: null, keepFailed: null, backoffFactor: null, webhookUrl: null }]);
      expect(await store.setTypePolicies([{ type, keepCompleted: 5, keepFailed: null, backoffFactor: 3 }])).toBe(1);
      const name = `conf-${randomUUID().slice(0, 8)}`;
      const definition = { name, cron: '*/5 * * * *', timezone: 'Europe/Berlin', type, input: { n: 1 }, options: { priority: 2 }, overlap: 'allow' as const, catchUp: 'all' as const, catchUpLimit: 3, runOnCreate: false, enabled: true };
      expect(await store.registerSchedules([definition])).toContainEqual({ name, created: true, retired: false });
      const due = (await store.getDueSchedules(new Date())).find((d) => d.name === name);
      expect(due).toEqual({ name, cron: '*/5 * * * *', timezone: 'Europe/Berlin', catchUp: 'all', catchUpLimit: 3, nextFireAt: null });
      const first = new Date('2026-06-01T10:00:00Z');
      expect(await store.fireSchedule(name, null, [], first)).toEqual([]); // the next time set, nothing fired
      const fires = [first, new Date('2026-06-01T10:05:00Z')];
      const fired = await store.fireSchedule(name, first, fires, new Date('2026-06-01T10:10:00Z'));
      expect(fired.map((f) => f.fireAt)).toEqual(fires);
      expect(fired.every((f) => typeof f.jobId === 'string')).toBe(true);
      expect(await store.fireSchedule(name, first, fires, new Date('2026-06-01T10:10:00Z'))).toEqual([]); // lost the compare-and-set
      const [status] = (await store.listSchedules()).filter((x) => x.name === name);
      expect(status).toMatchObject({ name, type, state: 'active', fired: 2, skipped: 0, nextFireAt: new Date('2026-06-01T10:10:00Z'), lastJob: { status: 'queued' } });
      expect(await store.pauseSchedule(name)).toMatchObject({ name, state: 'paused' });
      expect(await store.resumeSchedule(name)).toMatchObject({ name, state: 'active', nextFireAt: null });
      expect((await store.triggerSchedule(name)).jobId).toMatch(/^[0-9a-f-]{36}$/);
      expect(await codeOf(store.triggerSchedule('conf-no-such-schedule'))).toBe('job_not_found');
      expect(await codeOf(store.registerSchedules([{ ...definition, timezone: 'Nowhere/Land' }]))).toBe('invalid_argument');
      expect(await store.deleteSchedule(name)).toBe(true);
      // One run finished (as a worker leaves it): the type's history.
      await s().rows(`update edgejobs.jobs set status = 'completed', started_at = now() - interval '2 seconds', finished_at = now() where id = $1`, [fired[0]!.jobId]);
      const stats = (await store.getTypeStats()).filter((x) => x.type === type);
      expect(stats).toEqual([expect.objectContaining({ type, schedule: null, runs: 1, completed: 1, consecutiveFailures: 0 })]);
      expect(stats[0]!.durationMs!.p50).toBeCloseTo(2000, -2);
      const user = await s().asUser(randomUUID());
      expect(await codeOf(user.listSchedules!())).toBe('forbidden');
      // Leave the database without a registry, as the other cases expect.
      await s().rows(`delete from edgejobs.jobs where type = $1`, [type]);
      await s().rows(`delete from edgejobs.job_types where type = $1`, [type]);
    });

    it('answers the console, webhook and alert calls with the same shapes', async () => {
      const store = s().service();
      const type = `conf.console.${randomUUID().slice(0, 8)}`;
      const [job] = await store.enqueueJobs([{ type, input: { n: 1 }, idempotencyKey: `k-${type}`, webhookUrl: 'https://hooks.example.com/x' }]);
      const page = await store.consoleJobs({ type }, { limit: 10 });
      expect(page.jobs).toEqual([expect.objectContaining({ id: job!.id, type, status: 'queued', createdAt: expect.any(Date), error: null })]);
      expect((await store.consoleJobs({ idempotencyKey: `k-${type}` })).jobs.map((j) => j.id)).toEqual([job!.id]);
      expect(await store.consoleJob(job!.id)).toMatchObject({ id: job!.id, input: { n: 1 }, webhookUrl: 'https://hooks.example.com/x', errors: [], children: [], deliveries: [], parent: null });
      expect(await store.consoleJob(randomUUID())).toBeNull();
      expect(await codeOf(store.consoleJobs({ ownerId: 'nobody' }))).toBe('invalid_argument');
      // Cancelling it enqueues its webhook delivery, shown with the job.
      await store.cancelJob(job!.id);
      expect((await store.consoleJob(job!.id))!.deliveries).toEqual([expect.objectContaining({ status: 'queued', event: 'job.cancelled', url: 'https://hooks.example.com/x' })]);
      expect((await store.getThroughput(3_600_000, 60)).length).toBeGreaterThanOrEqual(60);
      const q = `conf-console-${randomUUID().slice(0, 8)}`;
      expect(await store.operatorAction('set_queue_concurrency', q, 2, 'conformance')).toMatchObject({ name: q, concurrency_limit: 2 });
      expect((await store.listQueues()).find((x) => x.name === q)).toEqual({ name: q, paused: false, concurrencyLimit: 2 });
      expect((await store.listOperatorActions({ limit: 5 }))[0]).toMatchObject({ actor: 'conformance', action: 'set_queue_concurrency', filter: { queue: q, concurrency_limit: 2 } });
      expect(Array.isArray(await store.listWorkerRuns({ limit: 5 }))).toBe(true);
      expect(typeof await store.claimAlertCheck(1_000)).toBe('boolean');
      const sent = await store.recordAlerts([{ key: `conf:${q}`, firing: true, summary: 's' }], 'https://hooks.example.com/alerts', 60_000);
      expect(sent).toEqual([{ key: `conf:${q}`, event: 'alert.firing', deliveryId: expect.stringMatching(/^[0-9a-f-]{36}$/) }]);
      const user = await s().asUser(randomUUID());
      expect(await codeOf(user.consoleJobs!())).toBe('forbidden');
      await s().rows(`delete from edgejobs.jobs where type in ($1, 'edgejobs.webhook')`, [type]);
    });
  });
}
