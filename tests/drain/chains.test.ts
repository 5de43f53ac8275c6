/**
 * Job chains through the drain: "generate the report, then export it, then email it" as three
 * types, each enqueuing the next with ctx.enqueue; the children are written only with a
 * completion (a failed run, a lost lease and a handed-back run write none, and a retried run
 * writes its children once); bad follow-up jobs throw at ctx.enqueue, where the handler sees them.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, expect, it } from 'vitest';
import { z } from 'zod';
import { drain, type DrainOptions } from '../../lib/drain.ts';
import { EdgeJobsError } from '../../lib/errors.ts';
import { createRegistry, defineJob, type JobContext } from '../../lib/job.ts';
import { silentLogger } from '../../lib/logger.ts';
import { createPostgresStore } from '../../lib/postgres-store.ts';
import { createQueue } from '../../lib/queue.ts';
import { useTestDb, userClaims } from '../support/db.ts';
import { waitFor } from '../support/wait.ts';

const generate = defineJob({
  type: 'report.generate', input: z.object({ month: z.number().int() }),
  handler: ({ month }, ctx) => {
    const report = { month, rows: 42 };
    ctx.enqueue('report.export', { report, format: 'csv' });
    return report;
  },
});
const exportReport = defineJob({
  type: 'report.export', input: z.object({ report: z.object({ month: z.number(), rows: z.number() }), format: z.enum(['csv', 'pdf']) }),
  handler: ({ report, format }, ctx) => {
    const file = `reports/${report.month}.${format}`;
    ctx.enqueue('report.email', { file }, { delayMs: 0, maxAttempts: 5 });
    return { file };
  },
});
const email = defineJob({ type: 'report.email', input: z.object({ file: z.string() }), handler: ({ file }) => ({ sent: file }) });

// Handlers whose behaviour a test sets.
let behaviour: (ctx: JobContext) => unknown = () => null;
const scripted = defineJob({ type: 'test.scripted', input: z.object({}), retry: { maxAttempts: 3, baseDelayMs: 1 }, handler: (_input, ctx) => behaviour(ctx) });
const gates = new Map<string, () => void>();
const gatedParent = defineJob({
  type: 'test.gated-parent', input: z.object({}),
  handler: async (_input, ctx) => {
    ctx.enqueue('report.email', { file: 'late' });
    await new Promise<void>((resolve) => gates.set(ctx.job.id, resolve));
    return null;
  },
});
const registry = createRegistry([generate, exportReport, email, scripted, gatedParent]);

const db = useTestDb({ truncate: ['edgejobs.jobs'] });
beforeEach(() => {
  behaviour = () => null;
  gates.clear();
});
const run = (options: Partial<DrainOptions> = {}) =>
  drain({ store: db.store, registry, deadline: Date.now() + 20_000, logger: silentLogger, leaseMs: 5_000, ...options });
const rows = () => db.sql<{ id: string; type: string; status: string; parent_id: string | null; owner_id: string | null; result: unknown; max_attempts: number }[]>`
  select id, type, status, parent_id, owner_id, result, max_attempts from edgejobs.jobs order by created_at, id`;

it('a chain of three types: each completion enqueues the next, which records its parent and its owner', async () => {
  const alice = randomUUID();
  const [first] = await db.as('authenticated', userClaims(alice), (tx) => tx<{ id: string }[]>`select id from public.enqueue_job('report.generate', '{"month": 11}')`);
  const summary = await run();
  expect(summary).toMatchObject({ claimed: 3, completed: 3, failed: 0, stopReason: 'empty' });
  const all = await rows();
  expect(all.map((r) => [r.type, r.status, r.owner_id])).toEqual([
    ['report.generate', 'completed', alice], ['report.export', 'completed', alice], ['report.email', 'completed', alice]]);
  expect(all[1]!.parent_id).toBe(first!.id);
  expect(all[2]!.parent_id).toBe(all[1]!.id);
  expect(all[2]).toMatchObject({ result: { sent: 'reports/11.csv' }, max_attempts: 5 }); // the child's own options
  // The parent's status lists its child, as its owner reads it.
  const parent = await db.store.getJob(first!.id);
  expect(parent!.children).toEqual([{ id: all[1]!.id, type: 'report.export', status: 'completed' }]);
  expect((await db.store.getJob(all[1]!.id))!.parentId).toBe(first!.id);
});

it('a run that fails after ctx.enqueue writes no children; the retry that completes writes them once', async () => {
  let attempt = 0;
  behaviour = (ctx) => {
    attempt++;
    ctx.enqueue('report.email', { file: `attempt-${attempt}` });
    if (attempt < 3) throw new Error(`failure ${attempt}`);
    return { attempt };
  };
  const { id } = await createQueue({ store: db.store, registry }).enqueue('test.scripted', {});
  for (let i = 0; i < 3; i++) {
    await run();
    await db.sql`update edgejobs.jobs set run_at = now() where status = 'queued'`;
  }
  const all = await rows();
  expect(all.find((r) => r.id === id)).toMatchObject({ status: 'completed', result: { attempt: 3 } });
  const children = all.filter((r) => r.type === 'report.email');
  expect(children).toHaveLength(1);
  expect(children[0]!.parent_id).toBe(id);
  expect((await db.sql`select input from edgejobs.jobs where id = ${children[0]!.id}`)[0]!.input).toEqual({ file: 'attempt-3' });
});

it('bad follow-up jobs throw at ctx.enqueue (the run fails with that error, nothing is written)', async () => {
  const cases: Array<[(ctx: JobContext) => void, string, string]> = [
    [(ctx) => ctx.enqueue('report.emial', { file: 'x' }), 'unknown_job_type', 'report.emial'],
    [(ctx) => ctx.enqueue('report.email', { file: 7 }), 'validation_failed', 'input of "report.email"'],
    [(ctx) => ctx.enqueue('report.email', { file: 'x' }, { maxAttempts: 0 }), 'invalid_argument', 'options.maxAttempts must be an integer between 1 and 1000'],
    [(ctx) => ctx.enqueue('report.email', { file: 'x' }, { delay: 5 } as never), 'invalid_argument', 'options.delay is not an option'],
    [(ctx) => ctx.enqueue('report.email', { file: 'x\u0000' }), 'invalid_argument', 'NUL'],
    [(ctx) => { for (let i = 0; i <= 1000; i++) ctx.enqueue('report.email', { file: `${i}` }); }, 'invalid_argument', 'at most 1000 follow-up jobs'],
    [(ctx) => { for (let i = 0; i < 9; i++) ctx.enqueue('report.email', { file: 'x'.repeat(1_000_000) }); }, 'invalid_argument', 'exceed 8388608 bytes in all'],
    [(ctx) => ctx.enqueue('report.email', { file: 'x' }, { backoffBaseMs: 7_200_000 }), 'invalid_argument', 'is below its base'],
    [(ctx) => ctx.enqueue('report.email', { file: 'x' }, { runAt: new Date('+010000-01-01T00:00:00Z') }), 'invalid_argument', 'options.runAt'],
  ];
  for (const [act, code, message] of cases) {
    behaviour = (ctx) => {
      act(ctx);
      return null;
    };
    const { id } = await createQueue({ store: db.store, registry }).enqueue('test.scripted', {}, { maxAttempts: 1 });
    await run();
    const [job] = await db.sql<{ status: string; error: { code: string; message: string } }[]>`select status, error from edgejobs.jobs where id = ${id}`;
    expect(job, message).toMatchObject({ status: 'failed', error: { code } });
    expect(job!.error.message).toContain(message);
  }
  expect(await db.sql`select id from edgejobs.jobs where type = 'report.email'`).toHaveLength(0);
});

it('ctx.enqueue takes a copy: changing the object after the call changes nothing', async () => {
  behaviour = (ctx) => {
    const item = { file: '' };
    for (const file of ['a', 'b', 'c']) {
      item.file = file;
      ctx.enqueue('report.email', item);
    }
    item.file = 'x\u0000'; // would be refused by Postgres, and fail the whole completion batch
    return null;
  };
  const { id } = await createQueue({ store: db.store, registry }).enqueue('test.scripted', {});
  expect(await run()).toMatchObject({ completed: 4, unrecorded: 0 });
  const parent = await db.store.getJob(id);
  const inputs = await Promise.all(parent!.children.map(async (c) => (await db.store.getJob(c.id))!.input));
  expect(inputs).toEqual([{ file: 'a' }, { file: 'b' }, { file: 'c' }]);
});

it('ctx.enqueue after the handler returned throws; the completion carried only what came before', async () => {
  let late: unknown;
  behaviour = (ctx) => {
    ctx.enqueue('report.email', { file: 'in time' });
    setTimeout(() => {
      try {
        ctx.enqueue('report.email', { file: 'too late' });
      } catch (error) {
        late = error;
      }
    }, 0);
    return null;
  };
  await createQueue({ store: db.store, registry }).enqueue('test.scripted', {});
  await run();
  await waitFor(async () => late !== undefined, 'the late call');
  expect(late).toBeInstanceOf(EdgeJobsError);
  expect((late as EdgeJobsError).message).toContain('after the handler ended');
  expect((await db.sql`select input from edgejobs.jobs where type = 'report.email'`).map((r) => r.input)).toEqual([{ file: 'in time' }]);
});

it('a run that lost its lease writes no children: the drain that finishes the job writes them', async () => {
  const { id } = await createQueue({ store: db.store, registry }).enqueue('test.gated-parent', {});
  const stalled = run({ store: createPostgresStore({ sql: db.connect(2) }), workerId: 'stalled', leaseMs: 60_000, heartbeatMs: 50_000 });
  await waitFor(async () => gates.has(id), 'the first run');
  const releaseStalled = gates.get(id)!;
  gates.delete(id);
  await db.sql`update edgejobs.jobs set locked_until = now() - interval '1 second' where id = ${id}`;
  const rescuer = run({ workerId: 'rescuer' });
  await waitFor(async () => gates.has(id), 'the second run');
  gates.get(id)!();
  expect(await rescuer).toMatchObject({ completed: 2 }); // the parent, then its child
  releaseStalled();
  expect(await stalled).toMatchObject({ completed: 0, leaseLost: 1 });
  expect((await rows()).filter((r) => r.type === 'report.email').map((r) => r.parent_id)).toEqual([id]);
});
