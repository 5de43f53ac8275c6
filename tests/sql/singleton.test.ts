/**
 * Singleton keys: at most one job per (type, key, owner) queued or processing; a second enqueue
 * answers the live job (replayed) instead of storing another, also under 50 concurrent enqueues
 * on separate connections; the key frees when the job ends; owners do not collide; a type's own
 * key (defineJob's singletonKey) applies through the TypeScript API; the live job ending in the
 * middle of an enqueue fails it as retryable rather than answer nothing.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, defineJob } from '../../lib/job.ts';
import { createQueue } from '../../lib/queue.ts';
import { createPostgresStore } from '../../lib/postgres-store.ts';
import { useTestDb } from '../support/db.ts';
import { waitFor } from '../support/wait.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs'] });
const live = async (key: string) => db.sql<{ id: string; status: string }[]>`select id, status from edgejobs.jobs where singleton_key = ${key} order by created_at`;
const liveWithKey = async (key: string) => db.sql`select id from edgejobs.jobs where singleton_key = ${key} and status in ('queued', 'processing')`;

it('50 concurrent enqueues of one key store one job and all answer it', async () => {
  const stores = Array.from({ length: 10 }, () => createPostgresStore({ sql: db.connect(5) }));
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) =>
    stores[i % 10]!.enqueueJobs([{ type: 'news.ingest', input: { i }, singletonKey: 'ingest' }]).then(([a]) => a!)));
  const rows = await live('ingest');
  expect(rows).toHaveLength(1);
  expect(new Set(answers.map((a) => a.id))).toEqual(new Set([rows[0]!.id]));
  expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
});

it('the key frees when the job ends; while it runs, it still answers the running job', async () => {
  const [first] = await db.store.enqueueJobs([{ type: 'news.ingest', singletonKey: 'k' }]);
  const [claimed] = await db.store.claimJobs({ workerId: 'w', types: ['news.ingest'], limit: 1, leaseMs: 60_000 });
  expect(claimed!.id).toBe(first!.id);
  const [during] = await db.store.enqueueJobs([{ type: 'news.ingest', singletonKey: 'k' }]);
  expect(during).toMatchObject({ id: first!.id, replayed: true, status: 'processing' });
  await db.store.completeJobs([{ id: claimed!.id, leaseToken: claimed!.leaseToken, result: null }]);
  const [after] = await db.store.enqueueJobs([{ type: 'news.ingest', singletonKey: 'k' }]);
  expect(after).toMatchObject({ replayed: false, status: 'queued' });
  expect(after!.id).not.toBe(first!.id);
  // Another type with the same key is another job.
  const [other] = await db.store.enqueueJobs([{ type: 'other.type', singletonKey: 'k' }]);
  expect(other!.replayed).toBe(false);
});

it('in one batch, a repeated key stores one job; keys are per owner; a malformed key is refused naming it', async () => {
  const batch = await db.store.enqueueJobs([{ type: 'a.b', singletonKey: 'same' }, { type: 'a.b', singletonKey: 'same' }, { type: 'a.b' }]);
  expect(batch[0]!.id).toBe(batch[1]!.id);
  expect(batch.map((b) => b.replayed)).toEqual([false, true, false]);
  const asUser = (sub: string) => db.as('authenticated', { sub, role: 'authenticated' }, (tx) =>
    tx`select id, replayed from public.enqueue_job('a.b', singleton_key => 'mine')`);
  const alice = randomUUID();
  const [a1] = await asUser(alice);
  const [a2] = await asUser(alice);
  const [b1] = await asUser(randomUUID());
  expect(a2).toEqual({ id: a1!.id, replayed: true });
  expect(b1!.id).not.toBe(a1!.id); // another user's key does not block (or reveal) yours
  await expect(db.store.enqueueJobs([{ type: 'a.b', singletonKey: '' }])).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('jobs[0] singleton_key must be a string of 1-255 characters') });
});

it("a type's singleton key, made from its input, applies through the TypeScript API; the call's own key wins", async () => {
  const sync = defineJob({ type: 'account.sync', input: z.object({ account: z.string() }), singletonKey: ({ account }) => `account:${account}`, handler: () => null });
  const queue = createQueue({ store: db.store, registry: createRegistry([sync]) });
  const first = await queue.enqueue('account.sync', { account: 'acme' });
  expect(await queue.enqueue('account.sync', { account: 'acme' })).toMatchObject({ id: first.id, replayed: true });
  expect((await queue.enqueue('account.sync', { account: 'other' })).replayed).toBe(false);
  expect((await queue.enqueue('account.sync', { account: 'acme' }, { singletonKey: 'manual' })).replayed).toBe(false);
  expect((await db.sql`select singleton_key from edgejobs.jobs where id = ${first.id}`)[0]!.singleton_key).toBe('account:acme');
});

it("the live job ending between the insert and the answer fails the enqueue as retryable (40001); trying again stores a new job", async () => {
  const [live] = await db.store.enqueueJobs([{ type: 'race.t', singletonKey: 'r' }]);
  // Pause every enqueue right after its insert, until the test lets it go (an advisory lock).
  await db.sql`create function public.test_pause() returns trigger language plpgsql as $$
    begin perform pg_advisory_lock(4242); perform pg_advisory_unlock(4242); return null; end $$`;
  await db.sql`create trigger test_pause after insert on edgejobs.jobs for each statement execute function public.test_pause()`;
  const holder = db.connect(1);
  try {
    await holder`select pg_advisory_lock(4242)`;
    const enqueue = db.store.enqueueJobs([{ type: 'race.t', singletonKey: 'r' }]).then(() => null, (error: unknown) => error);
    await waitFor(async () => (await db.sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`)[0]!.n === 1, 'the enqueue to pause');
    await db.sql`update edgejobs.jobs set status = 'cancelled', finished_at = now() where id = ${live!.id}`; // the live job ends
    await holder`select pg_advisory_unlock(4242)`;
    expect(await enqueue).toMatchObject({ code: 'database_unavailable', retryable: true, details: { sqlstate: '40001' } });
  } finally {
    await db.sql`drop trigger test_pause on edgejobs.jobs`;
    await db.sql`drop function public.test_pause()`;
    await holder.end();
  }
  expect(await liveWithKey('r')).toEqual([]); // the refused enqueue stored nothing
  const [again] = await db.store.enqueueJobs([{ type: 'race.t', singletonKey: 'r' }]);
  expect(again).toMatchObject({ replayed: false, status: 'queued' });
});
