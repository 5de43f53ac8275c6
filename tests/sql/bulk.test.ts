/**
 * Bulk actions (bulk_jobs, bulkAction): a dry run counts; the action runs in batches of at most
 * max_rows, each recorded with who did it; cancel, redrive and delete take only the states they
 * may change (never a processing job's row), leave rows another transaction holds for the next
 * call, and refuse a bad filter naming what is wrong.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { bulkAction } from '../../lib/bulk.ts';
import { useTestDb } from '../support/db.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs', 'edgejobs.operator_actions'] });
const statuses = async () => Object.fromEntries((await db.sql<{ status: string; n: number }[]>`
  select status, count(*)::int as n from edgejobs.jobs group by status`).map((r) => [r.status, r.n]));

async function failed(n: number, type = 'mail.send') {
  await db.sql`insert into edgejobs.jobs (type, status, attempts, started_at, finished_at, expires_at, error)
    select ${type}, 'failed', 3, now(), now(), now() + interval '7 days', '{"message": "smtp down"}'::jsonb from generate_series(1, ${n})`;
}

it('a dry run counts without changing anything; the redrive then runs in batches, each recorded', async () => {
  await failed(2_500);
  await failed(10, 'other.type');
  expect(await db.store.bulkJobs('redrive', { type: 'mail.send' })).toEqual({ matched: 2_500, affected: 0, more: false });
  expect(await statuses()).toEqual({ failed: 2_510 });
  const seen: number[] = [];
  const done = await bulkAction(db.store, 'redrive', { type: 'mail.send', status: 'failed' }, { actor: 'ops@acme.test', batchSize: 1_000, onBatch: (n) => seen.push(n) });
  expect(done).toEqual({ affected: 2_500, batches: 3, more: false });
  expect(seen).toEqual([1_000, 2_000, 2_500]);
  expect(await statuses()).toEqual({ queued: 2_500, failed: 10 });
  const [row] = await db.sql`select count(*)::int as n from edgejobs.jobs where type = 'mail.send' and (attempts <> 0 or finished_at is not null)`;
  expect(row!.n).toBe(0); // fresh attempts; the error history stays
  const actions = await db.sql<{ actor: string; action: string; filter: unknown; affected: number }[]>`
    select actor, action, filter, affected from edgejobs.operator_actions order by id`;
  expect(actions.map((a) => [a.actor, a.action, a.affected])).toEqual([
    ['ops@acme.test', 'redrive', 1_000], ['ops@acme.test', 'redrive', 1_000], ['ops@acme.test', 'redrive', 500]]);
  expect(actions[0]!.filter).toEqual({ type: 'mail.send', status: 'failed' });
});

it('cancel ends queued jobs and asks processing ones to stop; delete never takes a processing job', async () => {
  const jobs = await db.store.enqueueJobs([{ type: 'a' }, { type: 'a' }, { type: 'a' }]);
  const [claimed] = await db.store.claimJobs({ workerId: 'w', types: ['a'], limit: 1, leaseMs: 60_000 });
  expect(await db.store.bulkJobs('cancel', { type: 'a' })).toMatchObject({ matched: 3 });
  expect(await bulkAction(db.store, 'cancel', { type: 'a' })).toEqual({ affected: 3, batches: 1, more: false });
  expect(await statuses()).toEqual({ cancelled: 2, processing: 1 });
  // The worker learns it at its next heartbeat; a second cancel has nothing left to do.
  expect((await db.store.heartbeatJobs([claimed!], 60_000))[0]!.cancelRequested).toBe(true);
  expect(await db.store.bulkJobs('cancel', { type: 'a' })).toMatchObject({ matched: 0 });
  expect(await bulkAction(db.store, 'delete', { type: 'a' })).toEqual({ affected: 2, batches: 1, more: false });
  expect((await db.sql`select id from edgejobs.jobs`).map((r) => r.id)).toEqual([claimed!.id]);
  expect(jobs.map((j) => j.id)).toContain(claimed!.id);
  // By ids, and by owner.
  const [x, y] = await db.store.enqueueJobs([{ type: 'b' }, { type: 'b' }]);
  expect(await bulkAction(db.store, 'delete', { ids: [x!.id] })).toMatchObject({ affected: 1 });
  expect(await db.store.bulkJobs('delete', { ownerId: randomUUID() })).toMatchObject({ matched: 0 });
  expect(await db.store.bulkJobs('delete', { ids: [y!.id], createdBefore: new Date(Date.now() - 3_600_000) })).toMatchObject({ matched: 0 });
});

it('leaves a row another transaction holds for the next call', async () => {
  await failed(3);
  const [held] = await db.sql`select id from edgejobs.jobs limit 1`;
  const other = db.connect(1);
  try {
    await other.begin(async (tx) => {
      await tx`select id from edgejobs.jobs where id = ${held!.id} for update`;
      expect(await bulkAction(db.store, 'redrive', { status: 'failed' })).toEqual({ affected: 2, batches: 1, more: false });
    });
  } finally {
    await other.end();
  }
  expect(await bulkAction(db.store, 'redrive', { status: 'failed' })).toEqual({ affected: 1, batches: 1, more: false });
  expect(await statuses()).toEqual({ queued: 3 });
});

it('refuses a bad call, naming what is wrong, and changes nothing', async () => {
  await failed(2);
  const refused = async (call: Promise<unknown>, message: string) => {
    const error = await call.then(() => null, (e: unknown) => e);
    expect(error, message).toMatchObject({ code: 'invalid_argument', message: expect.stringContaining(message) });
  };
  await refused(db.store.bulkJobs('redrive', {}, { dryRun: false }), 'at least one of');
  await refused(db.store.bulkJobs('purge' as never, { status: 'failed' }), 'action must be cancel, redrive or delete');
  await refused(db.store.bulkJobs('delete', { status: 'done' as never }), 'filter.status must be one of');
  await refused(db.store.bulkJobs('delete', { ownerId: 'me' }), 'malformed value');
  await refused(db.store.bulkJobs('delete', { ids: ['x'] }), 'malformed value');
  await refused(db.store.bulkJobs('delete', { status: 'failed' }, { dryRun: false, maxRows: 0 }), 'max_rows must be between 1 and 10000');
  await refused(db.sql`select * from public.bulk_jobs('delete', '{"typ": "a"}')`.catch((e: { code: string; message: string }) => {
    throw { code: e.code === 'EJ001' ? 'invalid_argument' : e.code, message: e.message };
  }), 'unknown field typ');
  // Only the service role: signed-in users get no grant.
  const asUser = db.as('authenticated', { sub: randomUUID(), role: 'authenticated' }, (tx) => tx`select * from public.bulk_jobs('delete', '{"status": "failed"}', false)`);
  await expect(asUser).rejects.toMatchObject({ code: '42501' });
  expect(await statuses()).toEqual({ failed: 2 });
});
