import { beforeEach, describe, expect, it } from 'vitest';
import { drain, type DrainOptions } from '../../lib/drain.ts';
import { createQueue } from '../../lib/queue.ts';
import { silentLogger } from '../../lib/logger.ts';
import { createPostgresStore } from '../../lib/postgres-store.ts';
import { useTestDb } from '../support/db.ts';
import { gates, registry, runs } from '../support/jobs.ts';
import { waitFor } from '../support/wait.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs'] });
beforeEach(() => runs.clear());

const run = (options: Partial<DrainOptions> = {}) =>
  drain({ store: db.store, registry, deadline: Date.now() + 20_000, logger: silentLogger, leaseMs: 5_000, ...options });
const job = async (id: string) => (await db.sql`select * from edgejobs.jobs where id = ${id}`)[0]!;
const until = (check: () => Promise<boolean>) => waitFor(check, 'the condition', { timeoutMs: 10_000, intervalMs: 20 });

describe('drain on real Postgres', () => {
  it('runs every job exactly once across 4 concurrent drains on separate connections, keeping every result', async () => {
    const queue = createQueue({ store: db.store, registry });
    const total = 3000;
    await queue.enqueueMany(Array.from({ length: total }, (_, n) => ({ type: 'test.echo' as const, input: { n } })));
    const stores = Array.from({ length: 4 }, () => createPostgresStore({ sql: db.connect(3) }));
    const summaries = await Promise.all(stores.map((store, i) => run({ store, workerId: `w${i}`, batchSize: 50, concurrency: 10 })));
    expect(summaries.reduce((a, s) => a + s.completed, 0)).toBe(total);
    expect(summaries.reduce((a, s) => a + s.claimed, 0)).toBe(total);
    expect(summaries.every((s) => s.stopReason === 'empty' && s.leaseLost === 0 && !s.moreWork)).toBe(true);
    expect(runs.size).toBe(total);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    const [bad] = await db.sql`select count(*)::int as n from edgejobs.jobs where status <> 'completed' or result->>'doubled' <> ((input->>'n')::int * 2)::text`;
    expect(bad!.n).toBe(0);
    const recorded = await db.sql`select status, completed, stop_reason from edgejobs.worker_runs where worker_id like 'w_'`;
    expect(recorded.reduce((a, r) => a + r.completed, 0)).toBe(total);
    expect(recorded.every((r) => r.status === 'succeeded' && r.stop_reason === 'empty')).toBe(true);
  });

  it('retries a failing handler and completes it; exhausted attempts end failed with every error', async () => {
    const queue = createQueue({ store: db.store, registry });
    const recovers = await queue.enqueue('test.flaky', { failTimes: 2 });
    const dies = await queue.enqueue('test.flaky', { failTimes: 9 });
    for (let i = 0; i < 5; i++) {
      await run();
      await db.sql`update edgejobs.jobs set run_at = now() where status = 'queued'`; // skip the (1 ms) backoff wait
    }
    expect(await job(recovers.id)).toMatchObject({ status: 'completed', attempts: 3, result: { attempt: 3 } });
    const dead = await job(dies.id);
    expect(dead).toMatchObject({ status: 'failed', attempts: 3 });
    expect(dead.errors.map((e: { message: string }) => e.message)).toEqual(['flaky failure 1', 'flaky failure 2', 'flaky failure 3']);
    expect(dead.errors[0].stack).toContain('flaky failure 1');
  });

  it('does not retry a PermanentError, nor input that fails its schema at run time', async () => {
    const queue = createQueue({ store: db.store, registry });
    const perm = await queue.enqueue('test.permanent', {});
    const [bad] = await db.store.enqueueJobs([{ type: 'test.echo', input: { n: 'not a number' } }]);
    const summary = await run();
    expect(summary.failed).toBe(2);
    expect(await job(perm.id)).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'permanent', reason: 'bad_file' } });
    expect(await job(bad!.id)).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'validation_failed' } });
    expect(runs.get(bad!.id)).toBeUndefined();
  });

  it('shows progress while a job runs', async () => {
    const queue = createQueue({ store: db.store, registry });
    const { id } = await queue.enqueue('test.stepper', { steps: 6, stepMs: 150 });
    const draining = run({ progressFlushMs: 20 });
    await until(async () => ((await db.store.getJob(id))?.progress as { done?: number } | null)?.done !== undefined);
    const mid = await db.store.getJob(id);
    expect(mid!.status).toBe('processing');
    await draining;
    expect(await db.store.getJob(id)).toMatchObject({ status: 'completed', progress: { done: 6, steps: 6 }, result: { resumedFrom: 0, steps: 6 } });
  });

  it('hands a job back at the deadline with its checkpoint, without using an attempt, and the next drain resumes it', async () => {
    const queue = createQueue({ store: db.store, registry });
    const { id } = await queue.enqueue('test.stepper', { steps: 10, stepMs: 200 }, { maxAttempts: 1 });
    const first = await run({ deadline: Date.now() + 1_500, handBackMarginMs: 400 });
    expect(first).toMatchObject({ stopReason: 'deadline', handedBack: 1, completed: 0, moreWork: true });
    const after = await job(id);
    expect(after).toMatchObject({ status: 'queued', attempts: 0 });
    const done = (after.checkpoint as { done: number }).done;
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(10);
    const second = await run();
    expect(second.completed).toBe(1);
    expect(await job(id)).toMatchObject({ status: 'completed', attempts: 1, result: { resumedFrom: done, steps: 10 } });
  });

  it('keeps its deadline with a prefetched backlog of synchronous CPU-bound jobs, handing the rest back', async () => {
    const queue = createQueue({ store: db.store, registry });
    const total = 200;
    await queue.enqueueMany(Array.from({ length: total }, () => ({ type: 'test.busy' as const, input: { ms: 10 } })));
    // 200 x 10 ms of synchronous work is twice the budget: without yielding between jobs, the
    // drain would only see its deadline after the whole prefetched batch.
    const deadline = Date.now() + 1_500;
    const summary = await run({ deadline, handBackMarginMs: 500, batchSize: total, concurrency: 10 });
    // Without slices the whole prefetched batch runs before the stop is seen: nothing handed back.
    expect(summary.stopReason).toBe('deadline');
    expect(summary.handedBack).toBeGreaterThan(0);
    expect(summary.completed + summary.handedBack).toBe(summary.claimed);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    const [counts] = await db.sql`select count(*) filter (where status = 'completed')::int as completed,
      count(*) filter (where status = 'queued' and attempts = 0)::int as queued from edgejobs.jobs`;
    expect(counts).toEqual({ completed: summary.completed, queued: total - summary.completed });
  });

  it('hands back claimed-but-unstarted jobs when stopped from outside (SIGTERM)', async () => {
    const queue = createQueue({ store: db.store, registry });
    const jobs = await queue.enqueueMany(Array.from({ length: 4 }, () => ({ type: 'test.hang' as const, input: {} })));
    const controller = new AbortController();
    const draining = run({ concurrency: 2, signal: controller.signal, shutdownGraceMs: 0 });
    await until(async () => runs.size === 2);
    controller.abort();
    const summary = await draining;
    expect(summary.stopReason).toBe('aborted');
    const rows = await db.sql`select status, attempts from edgejobs.jobs where id = any(${db.sql.array(jobs.map((j) => j.id))}::uuid[])`;
    expect(rows.every((r) => r.status === 'queued' && r.attempts === 0)).toBe(true);
    expect(summary.handedBack).toBe(summary.claimed);
  });

  it('cancels a running job: the handler is aborted and the job ends cancelled', async () => {
    const queue = createQueue({ store: db.store, registry });
    const { id } = await queue.enqueue('test.hang', {});
    const draining = run({ leaseMs: 1_500, heartbeatMs: 100 });
    await until(async () => (await job(id)).status === 'processing');
    await db.store.cancelJob(id);
    const summary = await draining;
    expect(summary.cancelled).toBe(1);
    expect(await job(id)).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
  });

  it('fails a run that passes its timeoutMs even if the handler ignores its signal, and retries it', async () => {
    const queue = createQueue({ store: db.store, registry });
    const { id } = await queue.enqueue('test.timeout', {});
    // Had the drain waited for the handler, it would have run into its 20 s deadline instead.
    const summary = await run({ abortGraceMs: 50 });
    expect(summary).toMatchObject({ retried: 1, stopReason: 'empty' });
    expect(await job(id)).toMatchObject({ status: 'queued', attempts: 1, error: { code: 'timeout' } });
  });

  it('refuses a late finisher through the fence: the job lost its lease and another drain finished it', async () => {
    const queue = createQueue({ store: db.store, registry });
    const { id } = await queue.enqueue('test.gated', {});
    const storeA = createPostgresStore({ sql: db.connect(2) });
    // Drain A claims and then stalls (as in a long GC pause or a frozen instance): no heartbeats.
    const drainA = run({ store: storeA, workerId: 'stalled', leaseMs: 60_000, heartbeatMs: 50_000 });
    await until(async () => gates.has(id));
    const releaseA = gates.get(id)!;
    gates.delete(id);
    await db.sql`update edgejobs.jobs set locked_until = now() - interval '1 second' where id = ${id}`;
    // Drain B reaps the expired lease, claims the job and finishes it.
    const drainB = run({ workerId: 'rescuer' });
    await until(async () => gates.has(id));
    gates.get(id)!();
    const summaryB = await drainB;
    expect(summaryB.completed).toBe(1);
    releaseA();
    const summaryA = await drainA;
    expect(summaryA).toMatchObject({ completed: 0, leaseLost: 1 });
    expect(await job(id)).toMatchObject({ status: 'completed', locked_by: null, result: { finishedBy: 2 } });
  });

  it('survives its database connections being killed mid-job: the job completes once', { timeout: 15_000 }, async () => {
    const queue = createQueue({ store: db.store, registry });
    const { id } = await queue.enqueue('test.gated', {});
    const appName = `victim-${crypto.randomUUID().slice(0, 8)}`;
    const postgres = (await import('postgres')).default;
    const victimSql = postgres(db.url, { max: 2, onnotice: () => {}, connection: { application_name: appName } });
    const draining = run({ store: createPostgresStore({ sql: victimSql as never }), leaseMs: 3_000 });
    await until(async () => gates.has(id));
    const killed = await db.sql`select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = ${appName}`;
    expect(killed.length).toBeGreaterThan(0);
    gates.get(id)!();
    const summary = await draining;
    await victimSql.end({ timeout: 1 });
    expect(summary.completed).toBe(1);
    expect(runs.get(id)).toBe(1);
    expect(await job(id)).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('returns at once with stopReason empty when there is nothing to do, leaving a look but no run record', async () => {
    const summary = await run({ trigger: 'cron', workerId: 'idle-drain' });
    expect(summary).toMatchObject({ claimed: 0, stopReason: 'empty', moreWork: false, error: null });
    expect(await db.sql`select id from edgejobs.worker_runs where id = ${summary.runId}`).toHaveLength(0);
    const [look] = await db.sql`select last_worker_id, last_trigger from edgejobs.worker_liveness`;
    expect(look).toEqual({ last_worker_id: 'idle-drain', last_trigger: 'cron' });
  });

  it('records the run of a drain that did something', async () => {
    const queue = createQueue({ store: db.store, registry });
    await queue.enqueue('test.echo', { n: 1 });
    const summary = await run({ trigger: 'cron' });
    const [row] = await db.sql`select trigger, status, claimed, completed from edgejobs.worker_runs where id = ${summary.runId}`;
    expect(row).toEqual({ trigger: 'cron', status: 'succeeded', claimed: 1, completed: 1 });
  });

  it('keeps the latest progress of a job that fails between progress writes', async () => {
    const queue = createQueue({ store: db.store, registry });
    // Checkpoints at rows 2 and 4 write progress with them; row 5's progress is only buffered
    // (the flush timer never fires here) when row 6 fails.
    const { id } = await queue.enqueue('test.import', { rows: 10, failAt: 6, checkpointEvery: 2 });
    const summary = await run({ progressFlushMs: 60_000 });
    expect(summary.failed).toBe(1);
    expect(await job(id)).toMatchObject({ status: 'failed', checkpoint: { row: 4 }, progress: { row: 5 }, error: { code: 'permanent' } });
  });

  it('keeps the latest progress of a job handed back at the deadline', async () => {
    const queue = createQueue({ store: db.store, registry });
    // No checkpoint and no progress flush in the run: only the hand-back can carry the progress.
    const { id } = await queue.enqueue('test.stepper', { steps: 50, stepMs: 100, checkpointEvery: 1_000 });
    const summary = await run({ deadline: Date.now() + 1_200, handBackMarginMs: 400, progressFlushMs: 60_000 });
    expect(summary.handedBack).toBe(1);
    const row = await job(id);
    expect(row).toMatchObject({ status: 'queued', checkpoint: null });
    expect((row.progress as { done: number }).done).toBeGreaterThan(0);
  });

  it('ends its own older run of a job whose lease expired and that its next claim took back', async () => {
    const queue = createQueue({ store: db.store, registry });
    const { id } = await queue.enqueue('test.gated', {});
    const draining = run({ concurrency: 2, recheckMs: 100, heartbeatMs: 4_000, abortGraceMs: 100 });
    await until(async () => gates.has(id));
    // The lease runs out under the running handler (as after a long stall); the drain's next look
    // (every 100 ms: it has a free handler) takes the job back and claims it again.
    await db.sql`update edgejobs.jobs set locked_until = now() - interval '1 second' where id = ${id}`;
    await until(async () => runs.get(id) === 2);
    gates.get(id)!();
    const summary = await draining;
    expect(summary).toMatchObject({ claimed: 2, completed: 1, leaseLost: 1, stopReason: 'empty' });
    expect(await job(id)).toMatchObject({ status: 'completed', attempts: 2, errors: [expect.objectContaining({ code: 'lease_expired', attempt: 1 })] });
  });

  describe('stopped from outside (SIGTERM)', () => {
    it('lets running jobs finish within the shutdown grace and hands back the ones not started at once', async () => {
      const queue = createQueue({ store: db.store, registry });
      // Fast jobs first, so the drain prefetches: the slow ones are then claimed a batch ahead,
      // two run and four wait in the drain when the stop comes.
      const fast = await queue.enqueueMany(Array.from({ length: 30 }, (_, n) => ({ type: 'test.echo' as const, input: { n }, options: { priority: 1 } })));
      const slow = await queue.enqueueMany(Array.from({ length: 6 }, () => ({ type: 'test.stepper' as const, input: { steps: 4, stepMs: 150 } })));
      const slowIds = new Set(slow.map((j) => j.id));
      const controller = new AbortController();
      const draining = run({ concurrency: 2, signal: controller.signal, shutdownGraceMs: 10_000 });
      await until(async () => [...runs.keys()].filter((id) => slowIds.has(id)).length === 2);
      controller.abort();
      // The four that never started are back in the queue while the two running still run.
      await until(async () => (await db.sql`select count(*)::int as n from edgejobs.jobs where status = 'queued' and attempts = 0`)[0]!.n === 4);
      expect((await db.sql`select count(*)::int as n from edgejobs.jobs where status = 'processing'`)[0]!.n).toBe(2);
      const summary = await draining;
      expect(summary).toMatchObject({ stopReason: 'aborted', claimed: 36, completed: 32, handedBack: 4, moreWork: true });
      const started = [...runs.keys()].filter((id) => slowIds.has(id));
      expect(started).toHaveLength(2); // nothing started after the stop
      const rows = await db.sql`select id from edgejobs.jobs where status = 'completed' and id = any(${db.sql.array(slow.map((j) => j.id))}::uuid[])`;
      expect(rows.map((r) => r.id).sort()).toEqual(started.sort());
      expect(fast).toHaveLength(30);
    });

    it('hands a job still running when the grace ends back with its checkpoint, attempt not counted', async () => {
      const queue = createQueue({ store: db.store, registry });
      const { id } = await queue.enqueue('test.stepper', { steps: 40, stepMs: 100 });
      const controller = new AbortController();
      const draining = run({ signal: controller.signal, shutdownGraceMs: 600 });
      await until(async () => (await job(id)).checkpoint !== null);
      controller.abort();
      const summary = await draining;
      expect(summary).toMatchObject({ stopReason: 'aborted', handedBack: 1, completed: 0 });
      const row = await job(id);
      expect(row).toMatchObject({ status: 'queued', attempts: 0 });
      // It went on for the grace (~6 steps) after the stop.
      expect((row.checkpoint as { done: number }).done).toBeGreaterThanOrEqual(3);
    });

    it('with shutdownGraceMs 0 hands running jobs back at once', async () => {
      const queue = createQueue({ store: db.store, registry });
      const { id } = await queue.enqueue('test.hang', {});
      const controller = new AbortController();
      const draining = run({ signal: controller.signal, shutdownGraceMs: 0 });
      await until(async () => runs.has(id));
      controller.abort();
      const abortedAt = Date.now();
      expect(await draining).toMatchObject({ stopReason: 'aborted', handedBack: 1 });
      // Not after the default 5 s grace (the handler honours its signal: it stops at once).
      expect(Date.now() - abortedAt).toBeLessThan(2_500);
      expect(await job(id)).toMatchObject({ status: 'queued', attempts: 0 });
    });
  });

  it('reports a database outage in the summary instead of throwing', async () => {
    const broken = createPostgresStore({ url: db.url.replace(/:\d+\//, ':1/'), max: 1 });
    const summary = await run({ store: broken, deadline: Date.now() + 3_000 });
    expect(summary.stopReason).toBe('error');
    expect(summary.error?.code).toBe('database_unavailable');
    await broken.stop();
  });
});
