/**
 * A type's policies (set_type_policies, from defineJob): the retry backoff factor, and retention by count: keep the latest N completed and M failed jobs of a type (defineJob's `keep`,
 * set_type_policies in SQL), applied by purge_jobs after the time-based purge. Live jobs are never
 * touched; a job deleted by count frees its idempotency key early (as the docs say).
 */
import { expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, defineJob } from '../../lib/job.ts';
import { registerJobTypes } from '../../lib/job-types.ts';
import { useTestDb } from '../support/db.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs'] });
const report = defineJob({ type: 'report.generate', input: z.object({}), keep: { completed: 100, failed: 5 }, handler: () => null });
const other = defineJob({ type: 'other.type', input: z.object({}), handler: () => null });

/** `n` finished jobs of a type, the i-th finished i minutes ago (so the first ones are the latest). */
async function finished(type: string, status: 'completed' | 'failed' | 'cancelled', n: number, key?: string) {
  await db.sql`
    insert into edgejobs.jobs (type, input, status, attempts, max_attempts, started_at, finished_at, expires_at, idempotency_key)
    select ${type}, '{}', ${status}, 1, 1, now() - make_interval(mins => i) - interval '1 second', now() - make_interval(mins => i),
           now() + interval '7 days', case when ${key ?? null}::text is null then null else ${key ?? ''} || i end
    from generate_series(1, ${n}) i`;
}

it('keeps the latest 100 completed and 5 failed jobs of a type; never live jobs or other types', async () => {
  await registerJobTypes(db.store, createRegistry([report, other]));
  expect(await db.sql`select type, keep_completed, keep_failed from edgejobs.job_types order by type`).toEqual([
    { type: 'other.type', keep_completed: null, keep_failed: null },
    { type: 'report.generate', keep_completed: 100, keep_failed: 5 },
  ]);
  await finished('report.generate', 'completed', 150);
  await finished('report.generate', 'failed', 12);
  await finished('report.generate', 'cancelled', 7); // no count rule for cancelled
  await finished('other.type', 'completed', 150);
  await db.store.enqueueJobs(Array.from({ length: 3 }, () => ({ type: 'report.generate', input: {} })));
  const [claimed] = await db.store.claimJobs({ workerId: 'w', types: ['report.generate'], limit: 1, leaseMs: 60_000 });

  expect(await db.store.purgeJobs()).toBe(50 + 7);
  const left = await db.sql<{ status: string; n: number; oldest_minutes: number }[]>`
    select status, count(*)::int as n, round(extract(epoch from now() - min(coalesce(finished_at, now()))) / 60)::int as oldest_minutes
    from edgejobs.jobs where type = 'report.generate' group by status order by status`;
  expect(left).toEqual([
    { status: 'cancelled', n: 7, oldest_minutes: 7 },
    { status: 'completed', n: 100, oldest_minutes: 100 }, // the latest 100
    { status: 'failed', n: 5, oldest_minutes: 5 },
    { status: 'processing', n: 1, oldest_minutes: 0 },
    { status: 'queued', n: 2, oldest_minutes: 0 },
  ]);
  expect((await db.sql`select count(*)::int as n from edgejobs.jobs where type = 'other.type'`)[0]!.n).toBe(150);
  expect(claimed).toBeDefined();
  expect(await db.store.purgeJobs()).toBe(0); // idempotent
});

it('purge_jobs bounds the deletions by max_rows; a second call goes on', async () => {
  await registerJobTypes(db.store, createRegistry([report]));
  await finished('report.generate', 'completed', 130);
  expect(await db.store.purgeJobs({ limit: 20 })).toBe(20);
  expect(await db.store.purgeJobs({ limit: 20 })).toBe(10);
  expect((await db.sql`select count(*)::int as n from edgejobs.jobs`)[0]!.n).toBe(100);
});

it('a job deleted by count frees its idempotency key before its keep-for ends', async () => {
  await registerJobTypes(db.store, createRegistry([report]));
  await finished('report.generate', 'completed', 101, 'key-');
  await db.store.purgeJobs();
  const [replay] = await db.store.enqueueJobs([{ type: 'report.generate', input: {}, idempotencyKey: 'key-1' }]);
  expect(replay!.replayed).toBe(true); // the latest is kept
  const [fresh] = await db.store.enqueueJobs([{ type: 'report.generate', input: {}, idempotencyKey: 'key-101' }]);
  expect(fresh!.replayed).toBe(false); // the oldest went: its key makes a new job
});

it('a type with retry.factor 5 waits 5 s, 25 s, 125 s (+-25%), up to its cap; the default doubles', async () => {
  const steep = defineJob({ type: 'steep', input: z.object({}), retry: { maxAttempts: 5, baseDelayMs: 5_000, factor: 5, maxDelayMs: 200_000 }, handler: () => null });
  const plain = defineJob({ type: 'plain', input: z.object({}), retry: { maxAttempts: 5, baseDelayMs: 5_000 }, handler: () => null });
  await registerJobTypes(db.store, createRegistry([steep, plain]));
  expect(await db.sql`select type, backoff_factor from edgejobs.job_types where type in ('steep', 'plain') order by type`)
    .toEqual([{ type: 'plain', backoff_factor: null }, { type: 'steep', backoff_factor: 5 }]);
  const delays: Record<string, number[]> = { steep: [], plain: [] };
  for (const type of ['steep', 'plain']) {
    const [job] = await db.store.enqueueJobs([{ type, input: {} }]);
    for (let attempt = 1; attempt <= 4; attempt++) {
      await db.sql`update edgejobs.jobs set run_at = now() where id = ${job!.id}`;
      const [claimed] = await db.store.claimJobs({ workerId: 'w', types: [type], limit: 1, leaseMs: 60_000 });
      const [failed] = await db.store.failJobs([{ id: claimed!.id, leaseToken: claimed!.leaseToken, error: { name: 'Error', code: 'internal', message: 'no' } }]);
      const now = (await db.sql<{ now: Date }[]>`select now() as now`)[0]!.now;
      delays[type]!.push((failed!.runAt!.getTime() - now.getTime()) / 1000);
    }
  }
  [5, 25, 125, 200].forEach((seconds, i) => {
    expect(delays.steep![i]).toBeGreaterThanOrEqual(seconds * 0.75 - 0.1); // less the moment between the failure and this read
    expect(delays.steep![i]).toBeLessThanOrEqual(seconds * 1.25);
  });
  [5, 10, 20, 40].forEach((seconds, i) => {
    expect(delays.plain![i]).toBeGreaterThanOrEqual(seconds * 0.75 - 0.1); // less the moment between the failure and this read
    expect(delays.plain![i]).toBeLessThanOrEqual(seconds * 1.25);
  });
  expect(() => defineJob({ type: 'x', input: z.object({}), retry: { factor: 0.5 }, handler: () => null })).toThrow('retry.factor must be from 1 to 100');
});

it('the code sets it and clears it; the SQL door refuses what it cannot keep, naming it; service role only', async () => {
  await registerJobTypes(db.store, createRegistry([report]));
  await registerJobTypes(db.store, createRegistry([defineJob({ type: 'report.generate', input: z.object({}), handler: () => null })]));
  expect(await db.sql`select keep_completed, keep_failed from edgejobs.job_types where type = 'report.generate'`).toEqual([{ keep_completed: null, keep_failed: null }]);
  expect(await db.sql`select * from public.set_type_policies('[{"type": "report.generate", "keep_completed": 10}]')`)
    .toEqual([{ type: 'report.generate', keep_completed: 10, keep_failed: null, backoff_factor: null }]);
  await expect(db.sql`select * from public.set_type_policies('[{"type": "report.generate", "backoff_factor": 0.5}]')`).rejects.toThrow('backoff_factor must be a number from 1 to 100');
  await expect(db.sql`select * from public.set_type_policies('[{"type": "nope", "keep_completed": 10}]')`).rejects.toThrow('types[0] type nope is not registered');
  await expect(db.sql`select * from public.set_type_policies('[{"type": "report.generate", "keep_failed": -1}]')`).rejects.toThrow('keep_failed must be an integer from 0 to 1000000');
  await expect(db.sql`select * from public.set_type_policies('[{"type": "report.generate", "keep": 1}]')`).rejects.toThrow('may only hold type, keep_completed, keep_failed, backoff_factor');
  await expect(db.as('authenticated', { sub: crypto.randomUUID(), role: 'authenticated' }, (tx) => tx`select * from public.set_type_policies('[]')`))
    .rejects.toMatchObject({ code: '42501' });
  expect(() => defineJob({ type: 'x', input: z.object({}), keep: { completed: 1.5 }, handler: () => null })).toThrow('keep.completed must be an integer from 0 to 1,000,000');
});
