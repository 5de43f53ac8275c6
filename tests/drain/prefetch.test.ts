/**
 * A prefetched backlog under heartbeats: every claimed job runs, also while a heartbeat answers
 * for jobs that are still waiting in the drain (they were once dropped by such an answer, never
 * run, and failed later as lease_expired on their last attempt).
 */
import { beforeEach, expect, it } from 'vitest';
import { drain } from '../../lib/drain.ts';
import { createQueue } from '../../lib/queue.ts';
import { silentLogger } from '../../lib/logger.ts';
import { useTestDb } from '../support/db.ts';
import { registry, runs } from '../support/jobs.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs'] });
beforeEach(() => runs.clear());

it('runs every prefetched job exactly once while heartbeats renew the waiting ones', async () => {
  const queue = createQueue({ store: db.store, registry });
  const total = 2000;
  // 1 ms of work each: the drain takes about two seconds, so heartbeats (every 300 ms) answer
  // `extended` many times for the prefetched jobs waiting to start.
  await queue.enqueueMany(Array.from({ length: total }, () => ({ type: 'test.busy' as const, input: { ms: 1 }, options: { maxAttempts: 1 } })));
  const summary = await drain({ store: db.store, registry, deadline: Date.now() + 60_000, logger: silentLogger, concurrency: 10, leaseMs: 2_000, heartbeatMs: 300 });
  expect(summary).toMatchObject({ claimed: total, completed: total, leaseLost: 0, unrecorded: 0, stopReason: 'empty', moreWork: false });
  expect(runs.size).toBe(total);
  expect([...runs.values()].every((n) => n === 1)).toBe(true);
  // Nothing is left processing (it would be reaped as lease_expired and, on its last attempt, failed).
  const states = await db.sql`select status, count(*)::int as n from edgejobs.jobs group by status`;
  expect(states).toEqual([{ status: 'completed', n: total }]);
});

it('ends a prefetched job that is cancelled while it waits in the drain, without running it', async () => {
  const queue = createQueue({ store: db.store, registry });
  // One handler slot: the first sleeper runs, the second waits in the drain (prefetched after the
  // fast jobs), and is cancelled while it waits.
  await queue.enqueueMany(Array.from({ length: 20 }, (_, n) => ({ type: 'test.echo' as const, input: { n }, options: { priority: 2 } })));
  const [running, waiting] = await queue.enqueueMany([
    { type: 'test.sleep', input: { ms: 1_500 }, options: { priority: 1 } },
    { type: 'test.sleep', input: { ms: 1_500 } },
  ]);
  const draining = drain({ store: db.store, registry, deadline: Date.now() + 20_000, logger: silentLogger, concurrency: 1, leaseMs: 3_000, heartbeatMs: 100 });
  const end = Date.now() + 10_000;
  while (!runs.has(running!.id) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  expect((await db.sql`select status from edgejobs.jobs where id = ${waiting!.id}`)[0]!.status).toBe('processing');
  await db.store.cancelJob(waiting!.id);
  const summary = await draining;
  expect(summary).toMatchObject({ completed: 21, cancelled: 1, leaseLost: 0 });
  expect(runs.has(waiting!.id)).toBe(false);
  // Cancelled without an attempt: it never ran.
  expect((await db.sql`select status, attempts from edgejobs.jobs where id = ${waiting!.id}`)[0]).toEqual({ status: 'cancelled', attempts: 0 });
});
