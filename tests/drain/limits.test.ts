/**
 * Queues with a concurrency limit: a drain keeps such a queue at its limit while it has waiting
 * jobs (a finished job's slot is refilled at once), tells "nothing claimable" (`empty`) from
 * "jobs wait for a slot others hold" (`limited`), and other queues flow meanwhile.
 */
import { beforeEach, expect, it } from 'vitest';
import { drain, type DrainOptions } from '../../lib/drain.ts';
import { createQueue } from '../../lib/queue.ts';
import { silentLogger } from '../../lib/logger.ts';
import { useTestDb } from '../support/db.ts';
import { inFlight, registry, runs } from '../support/jobs.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs', 'edgejobs.queues'] });
beforeEach(() => {
  runs.clear();
  inFlight.clear();
});

const run = (options: Partial<DrainOptions> = {}) =>
  drain({ store: db.store, registry, deadline: Date.now() + 20_000, logger: silentLogger, leaseMs: 5_000, ...options });
const sleepers = (count: number, queue: string, ms: number) =>
  createQueue({ store: db.store, registry }).enqueueMany(Array.from({ length: count }, () => ({ type: 'test.sleep' as const, input: { ms }, options: { queue } })));

it('keeps a limited queue at its limit until it is empty, refilling each slot as its job ends', async () => {
  await db.store.setQueueConcurrency('reports', 2);
  await sleepers(6, 'reports', 150);
  // recheckMs is a minute: only refilling a slot when our own job ends can get through six jobs
  // before the deadline.
  const summary = await run({ concurrency: 10, recheckMs: 60_000 });
  expect(summary).toMatchObject({ claimed: 6, completed: 6, stopReason: 'empty', moreWork: false });
  expect(inFlight.get('reports')!.max).toBe(2);
  const [done] = await db.sql`select count(*)::int as n from edgejobs.jobs where status = 'completed'`;
  expect(done!.n).toBe(6);
});

it('a queue limited to 1 runs its jobs back to back while another queue flows', async () => {
  await db.store.setQueueConcurrency('serial', 1);
  await sleepers(4, 'serial', 100);
  await sleepers(20, 'bulk', 20);
  const summary = await run({ concurrency: 5, recheckMs: 60_000 });
  expect(summary).toMatchObject({ completed: 24, stopReason: 'empty' });
  expect(inFlight.get('serial')!.max).toBe(1);
  expect(inFlight.get('bulk')!.max).toBeGreaterThan(1);
});

it('returns limited, not empty, when every slot is held by another worker', async () => {
  await db.store.setQueueConcurrency('one', 1);
  await sleepers(3, 'one', 10);
  const [held] = await db.store.claimJobs({ workerId: 'someone-else', types: ['test.sleep'], limit: 10, leaseMs: 30_000 });
  expect(held).toBeDefined();
  const summary = await run();
  expect(summary).toMatchObject({ claimed: 0, stopReason: 'limited', moreWork: true });
  // Once the other worker is done, a drain takes the next job.
  await db.store.completeJobs([{ id: held!.id, leaseToken: held!.leaseToken, result: null }]);
  const next = await run();
  expect(next).toMatchObject({ claimed: 2, completed: 2, stopReason: 'empty' });
});

it('a long-running drain waits for the slot another worker holds and takes the job when it frees', async () => {
  await db.store.setQueueConcurrency('one', 1);
  await sleepers(2, 'one', 10);
  const [held] = await db.store.claimJobs({ workerId: 'someone-else', types: ['test.sleep'], limit: 1, leaseMs: 30_000 });
  const waits: number[] = [];
  const controller = new AbortController();
  const draining = run({
    recheckMs: 100, signal: controller.signal,
    waitForWork: (ms, signal) => {
      waits.push(ms);
      return new Promise((resolve) => {
        const t = setTimeout(resolve, ms);
        signal.addEventListener('abort', () => resolve(clearTimeout(t)), { once: true });
      });
    },
  });
  await new Promise((r) => setTimeout(r, 400));
  expect(runs.size).toBe(0);
  // While it waits for a slot it looks every recheckMs, not the whole time left.
  expect(waits.length).toBeGreaterThan(0);
  expect(Math.max(...waits)).toBeLessThanOrEqual(100);
  await db.store.completeJobs([{ id: held!.id, leaseToken: held!.leaseToken, result: null }]);
  const end = Date.now() + 5_000;
  while (runs.size === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  controller.abort();
  const summary = await draining;
  expect(summary).toMatchObject({ claimed: 1, completed: 1 });
});
