/**
 * Job chains in SQL: complete_jobs writes a job's children in its completion's transaction. The
 * children record their parent and have its owner; a lost lease writes none; refused children
 * undo the completion and fail the run (children_refused) without touching the rest of the
 * batch; the parent's details list its children, a child's details name its parent.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { ClaimedJob } from '../../lib/store.ts';
import { useTestDb, userClaims } from '../support/db.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs', 'edgejobs.job_types'] });

async function claimAll(types: string[], limit = 10): Promise<ClaimedJob[]> {
  return db.store.claimJobs({ workerId: 'w', types, limit, leaseMs: 60_000 });
}
const children = (parentId: string) => db.sql<{ id: string; type: string; status: string; owner_id: string | null; input: unknown }[]>`
  select id, type, status, owner_id, input from edgejobs.jobs where parent_id = ${parentId} order by created_at, id`;

it("writes the children with the completion, owned by the parent's owner and recording it", async () => {
  const alice = randomUUID();
  const [parent] = await db.as('authenticated', userClaims(alice), (tx) => tx<{ id: string }[]>`select id from public.enqueue_job('report.generate', '{"month": 11}')`);
  const [claimed] = await claimAll(['report.generate']);
  const answer = await db.store.completeJobs([{
    id: claimed!.id, leaseToken: claimed!.leaseToken, result: { rows: 3 },
    children: [{ type: 'report.export', input: { report: claimed!.id } }, { type: 'report.email', input: { to: 'a@b.c' }, delayMs: 60_000 }],
  }]);
  expect(answer).toEqual([{ id: parent!.id, outcome: 'completed' }]);
  const stored = await children(parent!.id);
  expect(stored.map((r) => [r.type, r.status, r.owner_id]).sort()).toEqual([['report.email', 'queued', alice], ['report.export', 'queued', alice]]);

  // The owner sees the chain from both ends, the children in the order they were enqueued; another user sees neither.
  const [asParent] = await db.as('authenticated', userClaims(alice), (tx) => tx<{ children: Array<{ id: string; type: string; status: string }>; parent_id: string | null }[]>`
    select children, parent_id from public.get_job(${parent!.id})`);
  expect(asParent!.parent_id).toBeNull();
  expect(asParent!.children.map((c) => [c.type, c.status])).toEqual([['report.export', 'queued'], ['report.email', 'queued']]);
  const rows = asParent!.children.map((c) => stored.find((r) => r.id === c.id)!);
  expect(rows[0]!.input).toEqual({ report: claimed!.id });
  const [asChild] = await db.as('authenticated', userClaims(alice), (tx) => tx<{ parent_id: string }[]>`select parent_id from public.get_job(${rows[0]!.id})`);
  expect(asChild!.parent_id).toBe(parent!.id);
  expect(await db.as('authenticated', userClaims(randomUUID()), (tx) => tx`select * from public.get_job(${rows[0]!.id})`)).toHaveLength(0);
  // A job without children lists none.
  const [child] = await db.store.listJobs({ type: 'report.export' });
  expect(child).toMatchObject({ parentId: parent!.id, children: [] });
});

it('a completion that lost its lease writes no children', async () => {
  await db.store.enqueueJobs([{ type: 'a' }]);
  const [claimed] = await claimAll(['a']);
  await db.sql`update edgejobs.jobs set lease_token = gen_random_uuid() where id = ${claimed!.id}`; // another worker took it
  const answer = await db.store.completeJobs([{ id: claimed!.id, leaseToken: claimed!.leaseToken, result: null, children: [{ type: 'b' }] }]);
  expect(answer).toEqual([{ id: claimed!.id, outcome: 'lease_lost' }]);
  expect(await db.sql`select id from edgejobs.jobs where type = 'b'`).toHaveLength(0);
});

it('refused children fail that run only: the batch around it completes, answers stay in order', async () => {
  await db.sql`insert into edgejobs.job_types (type) values ('a'), ('b')`; // with a registry, 'nope' is unknown
  await db.store.enqueueJobs([{ type: 'a', input: { n: 0 } }, { type: 'a', input: { n: 1 } }, { type: 'a', input: { n: 2 } }, { type: 'a', input: { n: 3 } }]);
  const claimed = (await claimAll(['a'])).sort((x, y) => (x.input as { n: number }).n - (y.input as { n: number }).n);
  const [plain, refused, chained, lost] = claimed;
  await db.sql`update edgejobs.jobs set lease_token = gen_random_uuid() where id = ${lost!.id}`;
  const answer = await db.store.completeJobs([
    { id: plain!.id, leaseToken: plain!.leaseToken, result: 0 },
    { id: refused!.id, leaseToken: refused!.leaseToken, result: 1, progress: { done: 1 }, children: [{ type: 'b' }, { type: 'nope' }] },
    { id: chained!.id, leaseToken: chained!.leaseToken, result: 2, children: [{ type: 'b', input: { from: 2 } }] },
    { id: lost!.id, leaseToken: lost!.leaseToken, result: 3, children: [{ type: 'b' }] },
  ]);
  expect(answer.map((a) => [a.id, a.outcome])).toEqual([[plain!.id, 'completed'], [refused!.id, 'retrying'], [chained!.id, 'completed'], [lost!.id, 'lease_lost']]);
  const [r] = await db.sql<{ status: string; result: unknown; progress: unknown; error: { code: string; message: string } }[]>`
    select status, result, progress, error from edgejobs.jobs where id = ${refused!.id}`;
  expect(r).toMatchObject({ status: 'queued', result: null, progress: { done: 1 }, error: { code: 'children_refused' } });
  expect(r!.error.message).toMatch(/follow-up jobs were refused: .*unknown job type "nope" \(children\[1\]\)/);
  // Neither of the refused run's children was written; the other chain's child was.
  expect((await db.sql`select parent_id from edgejobs.jobs where type = 'b'`).map((x) => x.parent_id)).toEqual([chained!.id]);
});

it('children the database cannot read (a nested array, a number or time zone out of range) fail their job alone', async () => {
  const odd = [[[]], [{ type: 'b', delay_seconds: 'TINY' }], [{ type: 'b', run_at: '2026-01-01T00:00:00+99:00' }], [{ type: 'b', run_at: '2026-01-01T00:00:00-1600' }]];
  await db.store.enqueueJobs([...odd.map(() => ({ type: 'a' })), { type: 'a' }]);
  const claimed = await claimAll(['a']);
  const items = claimed.map((c, i) => ({ id: c.id, lease_token: c.leaseToken, result: i, ...(i < odd.length ? { children: odd[i] } : {}) }));
  // 1e-400 is a number JSON can carry and Postgres cannot (JavaScript reads it as 0): sent as text.
  const text = JSON.stringify(items).replace('"TINY"', '1e-400');
  const answer = await db.sql<{ id: string; outcome: string }[]>`select * from public.complete_jobs(${text}::text::jsonb)`;
  expect(answer.map((a) => a.outcome)).toEqual([...odd.map(() => 'retrying'), 'completed']);
  const errors = await db.sql<{ error: { code: string } }[]>`select error from edgejobs.jobs where status = 'queued' and type = 'a'`;
  expect(errors.map((e) => e.error.code)).toEqual(odd.map(() => 'children_refused'));
  expect(await db.sql`select id from edgejobs.jobs where type = 'b'`).toHaveLength(0);
});

it('a child answered by a live singleton job is not recorded as a child; malformed children are refused for the call', async () => {
  const [live] = await db.store.enqueueJobs([{ type: 'sync', singletonKey: 'acct' }]);
  await db.store.enqueueJobs([{ type: 'a' }]);
  const [claimed] = await claimAll(['a']);
  await db.store.completeJobs([{ id: claimed!.id, leaseToken: claimed!.leaseToken, result: null, children: [{ type: 'sync', singletonKey: 'acct' }, { type: 'sync' }] }]);
  const rows = await children(claimed!.id);
  expect(rows).toHaveLength(1);
  expect(rows[0]!.id).not.toBe(live!.id);

  const call = (jobs: unknown) => db.sql`select * from public.complete_jobs(${db.sql.json(jobs as never)}::jsonb)`;
  const lease = { id: randomUUID(), lease_token: randomUUID() };
  await expect(call([{ ...lease, children: { type: 'b' } }])).rejects.toMatchObject({ code: 'EJ001', message: expect.stringContaining('jobs[0].children must be an array of at most 1000 jobs') });
  await expect(call([lease, { ...lease, children: Array.from({ length: 1001 }, () => ({ type: 'b' })) }])).rejects.toMatchObject({ message: expect.stringContaining('jobs[1].children') });
  // An empty or null list is no children (the fast path).
  expect(await call([{ ...lease, children: [] }, { ...lease, children: null }])).toEqual([{ id: lease.id, outcome: 'lease_lost' }, { id: lease.id, outcome: 'lease_lost' }]);
});

it("the parent's details list its children in the order they were enqueued", async () => {
  await db.store.enqueueJobs([{ type: 'fan.out' }]);
  const [claimed] = await claimAll(['fan.out']);
  const specs = Array.from({ length: 20 }, (_, n) => ({ type: `part.${n % 3}`, input: { n } }));
  await db.store.completeJobs([{ id: claimed!.id, leaseToken: claimed!.leaseToken, result: null, children: specs }]);
  const parent = await db.store.getJob(claimed!.id);
  const inputs = await Promise.all(parent!.children.map(async (c) => (await db.store.getJob(c.id))!.input));
  expect(inputs).toEqual(specs.map((s) => s.input));
  expect(parent!.children.map((c) => c.type)).toEqual(specs.map((s) => s.type));
});
