import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EdgeJobsError } from '../../lib/errors.ts';
import { createRegistry, defineJob } from '../../lib/job.ts';
import { jobSpec, type EnqueueOptions } from '../../lib/queue.ts';
import type { EnqueueSpec } from '../../lib/store.ts';
import { useTestDb } from '../support/db.ts';

const db = useTestDb();

const count = async () => Number((await db.sql`select count(*)::int as n from edgejobs.jobs`)[0]?.n);

async function expectCode(promise: Promise<unknown>, code: string, message?: RegExp) {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(EdgeJobsError);
  expect((error as EdgeJobsError).code).toBe(code);
  if (message) expect((error as EdgeJobsError).message).toMatch(message);
  return error as EdgeJobsError;
}

describe('enqueue_jobs', () => {
  it('stores one job with the SQL defaults and returns it as queued', async () => {
    const [job] = await db.store.enqueueJobs([{ type: 'email.send', input: { to: 'a@example.com' } }]);
    expect(job).toMatchObject({ type: 'email.send', queue: 'default', status: 'queued', priority: 0, replayed: false, idempotencyKey: null });
    const [row] = await db.sql`select * from edgejobs.jobs where id = ${job!.id}`;
    expect(row).toMatchObject({ input: { to: 'a@example.com' }, attempts: 0, max_attempts: 3, backoff_base_seconds: 1, backoff_max_seconds: 3600, owner_id: null });
    expect(row!.errors).toEqual([]);
  });

  it('stores a bulk batch in one call and answers in input order', async () => {
    const before = await count();
    const specs = Array.from({ length: 500 }, (_, i) => ({ type: 'bulk', input: { i }, priority: i % 7 }));
    const jobs = await db.store.enqueueJobs(specs);
    expect(jobs).toHaveLength(500);
    const rows = await db.sql`select id, input from edgejobs.jobs where id = any(${db.sql.array(jobs.map((j) => j.id))}::uuid[])`;
    const byId = new Map(rows.map((r) => [r.id, r.input]));
    jobs.forEach((job, i) => expect(byId.get(job.id)).toEqual({ i }));
    expect(await count()).toBe(before + 500);
  });

  it('applies every option: queue, priority, delay, run_at, attempts, backoff, keep_for', async () => {
    const runAt = new Date(Date.now() + 3_600_000);
    const [a, b] = await db.store.enqueueJobs([
      { type: 'opts', queue: 'reports', priority: 7, delayMs: 60_000, maxAttempts: 9, backoffBaseMs: 500, backoffMaxMs: 10_000, keepForMs: 3_600_000 },
      { type: 'opts', runAt },
    ]);
    const [ra] = await db.sql`select *, extract(epoch from run_at - created_at) as delay, extract(epoch from keep_for) as keep from edgejobs.jobs where id = ${a!.id}`;
    expect(ra).toMatchObject({ queue: 'reports', priority: 7, max_attempts: 9, backoff_base_seconds: 0.5, backoff_max_seconds: 10 });
    expect(Number(ra!.delay)).toBeCloseTo(60, 0);
    expect(Number(ra!.keep)).toBe(3600);
    expect(b!.runAt.getTime()).toBe(runAt.getTime());
  });

  it.each([
    ['not an array', { type: 'x' }, /JSON array/],
    ['an element that is not an object', [1], /jobs\[0\] must be an object/],
    ['a missing type', [{ input: {} }], /jobs\[0\] type is required/],
    ['a bad type name', [{ type: 'has space' }], /jobs\[0\] type must be/],
    ['an unknown field (typo)', [{ type: 'x', prority: 1 }], /unknown field prority/],
    ['a bad queue', [{ type: 'x', queue: '' }], /queue must be/],
    ['a fractional priority', [{ type: 'x', priority: 1.5 }], /priority must be an integer/],
    ['an out-of-range priority', [{ type: 'x', priority: 10_000_000 }], /priority must be an integer/],
    ['run_at and delay together', [{ type: 'x', run_at: '2030-01-01T00:00:00Z', delay_seconds: 1 }], /not both/],
    ['a run_at that is not a timestamp', [{ type: 'x', run_at: 'tomorrow' }], /run_at must be an ISO 8601/],
    ['an impossible date', [{ type: 'x', run_at: '2030-13-45' }], /not a valid timestamp/],
    ['a negative delay', [{ type: 'x', delay_seconds: -1 }], /delay_seconds/],
    ['zero max attempts', [{ type: 'x', max_attempts: 0 }], /max_attempts/],
    ['backoff max below base', [{ type: 'x', backoff_base_seconds: 10, backoff_max_seconds: 1 }], /not be below/],
    ['an empty idempotency key', [{ type: 'x', idempotency_key: '' }], /idempotency_key/],
    ['a second bad element, named by index', [{ type: 'ok' }, { type: 'x', max_attempts: 'three' }], /jobs\[1\] max_attempts/],
  ])('refuses %s with EJ001 and stores nothing', async (_name, jobs, message) => {
    const before = await count();
    const error = await db.sql`select * from public.enqueue_jobs(${db.sql.json(jobs as never)}::jsonb)`.then(() => null, (e: { code: string; message: string }) => e);
    expect(error?.code).toBe('EJ001');
    expect(error?.message).toMatch(message);
    expect(await count()).toBe(before);
  });

  it('refuses an input over the 1 MiB limit with EJ002, naming the size and the limit', async () => {
    const before = await count();
    const big = 'x'.repeat(1024 * 1024);
    const error = await expectCode(db.store.enqueueJobs([{ type: 'ok' }, { type: 'big', input: { big } }]), 'input_too_large', /jobs\[1\]\.input is \d+ bytes; the limit is 1048576/);
    expect(error.details.sqlstate).toBe('EJ002');
    expect(await count()).toBe(before);
  });

  it('enforces a changed input size limit from edgejobs.settings', async () => {
    await db.sql`update edgejobs.settings set max_input_bytes = 100`;
    try {
      await expectCode(db.store.enqueueJobs([{ type: 'ok', input: { s: 'y'.repeat(200) } }]), 'input_too_large');
      await expect(db.store.enqueueJobs([{ type: 'ok', input: { s: 'y' } }])).resolves.toHaveLength(1);
    } finally {
      await db.sql`update edgejobs.settings set max_input_bytes = 1048576`;
    }
  });

  it('enqueue_job (single, SQL-friendly) takes named arguments', async () => {
    const [row] = await db.sql`select * from public.enqueue_job('sql.made', '{"a": 1}', priority => 3, delay_seconds => 5)`;
    expect(row).toMatchObject({ type: 'sql.made', priority: 3, status: 'queued', replayed: false });
    await expect(db.sql`select * from public.enqueue_job('bad type!')`).rejects.toMatchObject({ code: 'EJ001' });
  });
});

describe('idempotency keys', () => {
  it('replays the same key and input: the same job, flagged, nothing new stored', async () => {
    const [first] = await db.store.enqueueJobs([{ type: 'idem', input: { n: 1 }, idempotencyKey: 'k-1' }]);
    const before = await count();
    const [again] = await db.store.enqueueJobs([{ type: 'idem', input: { n: 1 }, idempotencyKey: 'k-1' }]);
    expect(again).toMatchObject({ id: first!.id, replayed: true });
    expect(await count()).toBe(before);
  });

  it('treats the same key with a different input as a conflict (EJ003), not a replay', async () => {
    const [first] = await db.store.enqueueJobs([{ type: 'idem', input: { n: 1 }, idempotencyKey: 'k-2' }]);
    const before = await count();
    const error = await expectCode(db.store.enqueueJobs([{ type: 'idem', input: { n: 2 }, idempotencyKey: 'k-2' }]), 'idempotency_conflict');
    expect(error.message).toContain(first!.id);
    expect(await count()).toBe(before);
  });

  it('scopes keys by type: the same key for another type is a new job', async () => {
    const [a] = await db.store.enqueueJobs([{ type: 'idem.a', idempotencyKey: 'shared' }]);
    const [b] = await db.store.enqueueJobs([{ type: 'idem.b', idempotencyKey: 'shared' }]);
    expect(a!.id).not.toBe(b!.id);
    expect(b!.replayed).toBe(false);
  });

  it('keeps the key after the job ends, and frees it once the job expires', async () => {
    const [job] = await db.store.enqueueJobs([{ type: 'idem.end', input: { v: 1 }, idempotencyKey: 'k-end', keepForMs: 60_000 }]);
    await db.sql`update edgejobs.jobs set status = 'cancelled', finished_at = now(), expires_at = now() + keep_for where id = ${job!.id}`;
    const [replay] = await db.store.enqueueJobs([{ type: 'idem.end', input: { v: 1 }, idempotencyKey: 'k-end' }]);
    expect(replay).toMatchObject({ id: job!.id, replayed: true, status: 'cancelled' });
    await db.sql`update edgejobs.jobs set expires_at = now() - interval '1 second' where id = ${job!.id}`;
    const [fresh] = await db.store.enqueueJobs([{ type: 'idem.end', input: { v: 2 }, idempotencyKey: 'k-end' }]);
    expect(fresh!.id).not.toBe(job!.id);
    expect(fresh!.replayed).toBe(false);
    const [old] = await db.sql`select idempotency_key from edgejobs.jobs where id = ${job!.id}`;
    expect(old!.idempotency_key).toBeNull();
  });

  it('stores exactly one job under concurrent duplicate submissions on separate connections', async () => {
    const pools = Array.from({ length: 8 }, () => db.connect(1));
    const results = await Promise.all(pools.map((sql) => sql`select * from public.enqueue_jobs(${sql.json([{ type: 'race', input: { x: 1 }, idempotency_key: 'race-key' }])}::jsonb)`));
    const ids = new Set(results.map((r) => r[0]!.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r[0]!.replayed === false)).toHaveLength(1);
    const [n] = await db.sql`select count(*)::int as n from edgejobs.jobs where idempotency_key = 'race-key'`;
    expect(n!.n).toBe(1);
  });

  it('dedupes within one batch: the second element replays the first', async () => {
    const jobs = await db.store.enqueueJobs([
      { type: 'batch.idem', input: { a: 1 }, idempotencyKey: 'dup' },
      { type: 'batch.idem', input: { a: 1 }, idempotencyKey: 'dup' },
    ]);
    expect(jobs[0]!.id).toBe(jobs[1]!.id);
    expect(jobs.map((j) => j.replayed)).toEqual([false, true]);
  });
});

describe('the TypeScript checks of enqueue options match the database', () => {
  // jobSpec (createQueue, ctx.enqueue) checks options before anything is sent; each value at and
  // past a bound must be accepted or refused by both alike.
  const registry = createRegistry([defineJob({ type: 'opt.bounds', input: z.unknown(), handler: () => null })]);
  const emoji = (n: number) => '😀'.repeat(n);
  const cases: Array<[string, Record<string, unknown>, boolean]> = [
    ['queue of 64', { queue: 'q'.repeat(64) }, true], ['queue of 65', { queue: 'q'.repeat(65) }, false], ['queue with a space', { queue: 'a b' }, false],
    ['priority 1e6', { priority: 1_000_000 }, true], ['priority -1e6-1', { priority: -1_000_001 }, false], ['priority 1.5', { priority: 1.5 }, false],
    ['runAt in year 9999', { runAt: new Date('9999-12-31T00:00:00Z') }, true], ['runAt in year 10000', { runAt: new Date('+010000-01-01T00:00:00Z') }, false],
    ['runAt in year 1', { runAt: new Date('0001-01-01T00:00:00Z') }, true], ['runAt in year 0', { runAt: new Date('0000-01-01T00:00:00Z') }, false],
    ['delayMs 0', { delayMs: 0 }, true], ['delayMs a year', { delayMs: 31_536_000_000 }, true], ['delayMs past a year', { delayMs: 31_536_001_000 }, false], ['delayMs -1', { delayMs: -1 }, false],
    ['maxAttempts 1000', { maxAttempts: 1000 }, true], ['maxAttempts 1001', { maxAttempts: 1001 }, false], ['maxAttempts 0', { maxAttempts: 0 }, false],
    ['backoffBaseMs 1', { backoffBaseMs: 1 }, true], ['backoffBaseMs 0.5', { backoffBaseMs: 0.5 }, false],
    ['backoffBaseMs a day, alone (over the 1 h default cap)', { backoffBaseMs: 86_400_000 }, false],
    ['backoffBaseMs and backoffMaxMs a day', { backoffBaseMs: 86_400_000, backoffMaxMs: 86_400_000 }, true],
    ['backoffMaxMs 30 days', { backoffMaxMs: 2_592_000_000 }, true], ['backoffMaxMs past 30 days', { backoffMaxMs: 2_592_001_000 }, false],
    ['backoffMaxMs below the base', { backoffBaseMs: 2_000, backoffMaxMs: 1_000 }, false],
    ['idempotencyKey of 255 emoji', { idempotencyKey: emoji(255) }, true], ['idempotencyKey of 256 emoji', { idempotencyKey: emoji(256) }, false],
    ['singletonKey of 255', { singletonKey: 's'.repeat(255) }, true], ['singletonKey empty', { singletonKey: '' }, false],
    ['keepForMs 1', { keepForMs: 1 }, true], ['keepForMs ten years', { keepForMs: 315_360_000_000 }, true], ['keepForMs past ten years', { keepForMs: 315_360_001_000 }, false],
  ];
  it.each(cases)('%s', async (_name, options, accepted) => {
    const ts = (() => {
      try {
        jobSpec(registry, 'opt.bounds', {}, options as EnqueueOptions);
        return true;
      } catch (error) {
        expect(error).toMatchObject({ code: 'invalid_argument' });
        return false;
      }
    })();
    const inDatabase = await db.store.enqueueJobs([{ type: 'opt.bounds', input: {}, ...options } as EnqueueSpec]).then(() => true, () => false);
    expect({ ts, inDatabase }).toEqual({ ts: accepted, inDatabase: accepted });
  });

  it('refuses unknown and inherited option names by name, and reads null as absent', () => {
    for (const key of ['delay', 'constructor', 'toString', '__proto__']) {
      const options = JSON.parse(`{"${key}": 1}`) as EnqueueOptions;
      expect(() => jobSpec(registry, 'opt.bounds', {}, options)).toThrow(expect.objectContaining({ code: 'invalid_argument', message: expect.stringContaining(`options.${key} is not an option`) }));
    }
    expect(jobSpec(registry, 'opt.bounds', {}, { queue: null } as never)).toMatchObject({ type: 'opt.bounds' });
  });
});
