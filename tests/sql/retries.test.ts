import { describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs'] });

const err = (message: string) => ({ name: 'Error', code: 'handler_error', message });
const makeReady = (id: string) => db.sql`update edgejobs.jobs set run_at = now() where id = ${id}`;

describe('fail_jobs', () => {
  it('retries with exponential backoff and jitter, then dead-letters with every error kept', async () => {
    const [job] = await db.store.enqueueJobs([{ type: 't', maxAttempts: 4, backoffBaseMs: 10_000, backoffMaxMs: 25_000 }]);
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      const [claimed] = await db.store.claimJobs({ workerId: 'w', types: ['t'], limit: 1, leaseMs: 30_000 });
      expect(claimed!.attempt).toBe(attempt);
      const [out] = await db.store.failJobs([{ id: job!.id, leaseToken: claimed!.leaseToken, error: err(`boom ${attempt}`) }]);
      if (attempt < 4) {
        expect(out!.outcome).toBe('retrying');
        // run_at and updated_at are both now() of the failing transaction: the delay itself.
        const [row] = await db.sql`select extract(epoch from run_at - updated_at)::float8 as delay from edgejobs.jobs where id = ${job!.id}`;
        delays.push(row!.delay as number);
        await makeReady(job!.id);
      } else {
        expect(out!.outcome).toBe('failed');
      }
    }
    // base 10 s doubling, capped at 25 s, each +-25%: ~10, ~20, 25 (cap) +-25%.
    expect(delays[0]).toBeGreaterThanOrEqual(7.5);
    expect(delays[0]).toBeLessThanOrEqual(12.5);
    expect(delays[1]).toBeGreaterThanOrEqual(15);
    expect(delays[1]).toBeLessThanOrEqual(25);
    expect(delays[2]).toBeGreaterThanOrEqual(18.75);
    expect(delays[2]).toBeLessThanOrEqual(31.25);
    const [row] = await db.sql`select * from edgejobs.jobs where id = ${job!.id}`;
    expect(row).toMatchObject({ status: 'failed', attempts: 4, error: { message: 'boom 4', attempt: 4 } });
    expect(row!.errors.map((e: { message: string; attempt: number }) => [e.message, e.attempt])).toEqual([
      ['boom 1', 1], ['boom 2', 2], ['boom 3', 3], ['boom 4', 4],
    ]);
    expect(row!.finished_at).toBeInstanceOf(Date);
  });

  it('does not retry a permanent failure', async () => {
    const [job] = await db.store.enqueueJobs([{ type: 't', maxAttempts: 5 }]);
    const [c] = await db.store.claimJobs({ workerId: 'w', types: ['t'], limit: 1, leaseMs: 30_000 });
    const [out] = await db.store.failJobs([{ id: job!.id, leaseToken: c!.leaseToken, error: err('bad data'), permanent: true }]);
    expect(out!.outcome).toBe('failed');
    const [row] = await db.sql`select status, attempts from edgejobs.jobs where id = ${job!.id}`;
    expect(row).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('retries at the handler-given time instead of the backoff', async () => {
    const [job] = await db.store.enqueueJobs([{ type: 't' }]);
    const [c] = await db.store.claimJobs({ workerId: 'w', types: ['t'], limit: 1, leaseMs: 30_000 });
    const retryAt = new Date(Date.now() + 123_000);
    const [out] = await db.store.failJobs([{ id: job!.id, leaseToken: c!.leaseToken, error: err('rate limited'), retryAt }]);
    expect(out).toMatchObject({ outcome: 'retrying' });
    expect(out!.runAt!.getTime()).toBe(retryAt.getTime());
  });

  it('clears error when a retried job completes; the failed attempt stays in errors', async () => {
    const [job] = await db.store.enqueueJobs([{ type: 't' }]);
    const [first] = await db.store.claimJobs({ workerId: 'w', types: ['t'], limit: 1, leaseMs: 30_000 });
    await db.store.failJobs([{ id: job!.id, leaseToken: first!.leaseToken, error: err('simulated crash mid-import') }]);
    const [waiting] = await db.sql`select status, error from edgejobs.jobs where id = ${job!.id}`;
    expect(waiting).toMatchObject({ status: 'queued', error: { message: 'simulated crash mid-import' } });
    await makeReady(job!.id);
    const [second] = await db.store.claimJobs({ workerId: 'w', types: ['t'], limit: 1, leaseMs: 30_000 });
    await db.store.completeJobs([{ id: job!.id, leaseToken: second!.leaseToken, result: { ok: true } }]);
    const [row] = await db.sql`select status, error, errors from edgejobs.jobs where id = ${job!.id}`;
    expect(row).toMatchObject({ status: 'completed', error: null });
    expect(row!.errors).toEqual([expect.objectContaining({ message: 'simulated crash mid-import', attempt: 1 })]);
    expect((await db.store.getJob(job!.id))!.error).toBeNull();
  });

  it('keeps the progress a failed attempt carries; without one, the stored progress stays', async () => {
    const [a, b] = await db.store.enqueueJobs([{ type: 't' }, { type: 't' }]);
    const claimed = await db.store.claimJobs({ workerId: 'w', types: ['t'], limit: 2, leaseMs: 30_000 });
    const lease = (id: string) => claimed.find((c) => c.id === id)!.leaseToken;
    await db.store.saveJobProgress([{ id: b!.id, leaseToken: lease(b!.id), progress: { row: 3 } }]);
    await db.store.failJobs([
      { id: a!.id, leaseToken: lease(a!.id), error: err('row 6 is broken'), permanent: true, progress: { row: 6 } },
      { id: b!.id, leaseToken: lease(b!.id), error: err('later') },
    ]);
    const rows = await db.sql`select id, progress from edgejobs.jobs order by created_at, id`;
    expect(Object.fromEntries(rows.map((r) => [r.id, r.progress]))).toEqual({ [a!.id]: { row: 6 }, [b!.id]: { row: 3 } });
  });

  it('ends a failed attempt of a cancel-requested job as cancelled, not retried', async () => {
    const [job] = await db.store.enqueueJobs([{ type: 't' }]);
    const [c] = await db.store.claimJobs({ workerId: 'w', types: ['t'], limit: 1, leaseMs: 30_000 });
    await db.store.cancelJob(job!.id);
    const [out] = await db.store.failJobs([{ id: job!.id, leaseToken: c!.leaseToken, error: err('aborted') }]);
    expect(out!.outcome).toBe('cancelled');
  });
});
