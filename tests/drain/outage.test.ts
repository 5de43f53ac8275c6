/**
 * A Postgres restart in the middle of a drain: jobs that finish while the server is down have
 * their outcomes written once it is back (transient errors are retried until the deadline, not
 * a fixed number of times), and the drain goes on claiming afterwards.
 */
import postgres from 'postgres';
import { beforeEach, expect, it } from 'vitest';
import { drain } from '../../lib/drain.ts';
import { createQueue } from '../../lib/queue.ts';
import { silentLogger } from '../../lib/logger.ts';
import { createPostgresStore } from '../../lib/postgres-store.ts';
import { useOwnPostgres } from '../support/own-postgres.ts';
import { registry, runs } from '../support/jobs.ts';

const pg = useOwnPostgres();
beforeEach(() => runs.clear());

it('records every outcome of jobs that finished while Postgres restarted (3.5 s down)', { timeout: 60_000 }, async () => {
  const store = createPostgresStore({ url: pg.url, max: 4 });
  const queue = createQueue({ store, registry });
  const jobs = await queue.enqueueMany(Array.from({ length: 10 }, () => ({ type: 'test.sleep' as const, input: { ms: 1_000 } })));
  // 12 s is room for the outage and the writes after it, but not for postgres.js's default
  // reconnect backoff, which grows while the server is down (up to 20 s between attempts).
  const deadline = Date.now() + 12_000;
  const draining = drain({ store, registry, deadline, logger: silentLogger, concurrency: 10, leaseMs: 30_000 });
  const end = Date.now() + 10_000;
  while (runs.size < 10 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  expect(runs.size).toBe(10);
  // Down before the handlers finish (1 s), back 3.5 s later: every completion meets a dead server.
  await pg.server.restart(3_500);
  const summary = await draining;
  expect(Date.now()).toBeLessThanOrEqual(deadline); // a drain is done by its deadline
  expect(summary).toMatchObject({ claimed: 10, completed: 10, unrecorded: 0, leaseLost: 0, stopReason: 'empty', error: null });
  expect([...runs.values()].every((n) => n === 1)).toBe(true);
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  const rows = await sql`select id, status, attempts from edgejobs.jobs`;
  await sql.end();
  expect(rows.map((r) => r.id).sort()).toEqual(jobs.map((j) => j.id).sort());
  expect(rows.every((r) => r.status === 'completed' && r.attempts === 1)).toBe(true);
  await store.stop();
});

it('stopped while Postgres is down, it gives up on its writes after the grace and returns in time', { timeout: 60_000 }, async () => {
  const store = createPostgresStore({ url: pg.url, max: 4 });
  const queue = createQueue({ store, registry });
  await queue.enqueueMany(Array.from({ length: 4 }, () => ({ type: 'test.sleep' as const, input: { ms: 3_000 } })));
  const controller = new AbortController();
  const draining = drain({ store, registry, deadline: Date.now() + 40_000, logger: silentLogger, concurrency: 4, leaseMs: 30_000, shutdownGraceMs: 500, abortGraceMs: 200, signal: controller.signal });
  const end = Date.now() + 10_000;
  while (runs.size < 4 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  const outage = pg.server.restart(8_000); // down for 8 s
  await new Promise((r) => setTimeout(r, 300));
  const stoppedAt = Date.now();
  controller.abort();
  const summary = await draining;
  // A process manager waits grace + a few seconds, not the drain's 40 s deadline: the hand-backs
  // are retried for 2 s after the grace and the handlers' 200 ms, then left to the leases.
  expect(Date.now() - stoppedAt).toBeLessThan(500 + 200 + 2_000 + 1_500);
  expect(summary).toMatchObject({ stopReason: 'aborted', claimed: 4, unrecorded: 4 });
  await outage;
  await store.stop(1_000);
});
