import { describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.ts';
import type { ClaimedJob } from '../../lib/store.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs'] });

async function claimOne(workerId = 'w1', leaseMs = 30_000): Promise<ClaimedJob> {
  const [job] = await db.store.claimJobs({ workerId, types: ['t'], limit: 1, leaseMs });
  if (!job) throw new Error('nothing claimed');
  return job;
}
const expire = (id: string) => db.sql`update edgejobs.jobs set locked_until = now() - interval '1 second' where id = ${id}`;
const row = async (id: string) => (await db.sql`select * from edgejobs.jobs where id = ${id}`)[0]!;

describe('fenced leases', () => {
  it('completes with the right token, storing the result, and refuses a wrong token', async () => {
    await db.store.enqueueJobs([{ type: 't' }]);
    const job = await claimOne();
    const [wrong] = await db.store.completeJobs([{ id: job.id, leaseToken: crypto.randomUUID(), result: 'forged' }]);
    expect(wrong!.outcome).toBe('lease_lost');
    expect((await row(job.id)).status).toBe('processing');
    const [right] = await db.store.completeJobs([{ id: job.id, leaseToken: job.leaseToken, result: { ok: true } }]);
    expect(right!.outcome).toBe('completed');
    const done = await row(job.id);
    expect(done).toMatchObject({ status: 'completed', result: { ok: true }, lease_token: null, locked_by: null });
    expect(done.finished_at).toBeInstanceOf(Date);
    expect(done.expires_at.getTime() - done.finished_at.getTime()).toBe(7 * 24 * 3600 * 1000);
  });

  it('a dead worker\'s job is reaped after its lease, reclaimed, and the late finisher is refused', async () => {
    await db.store.enqueueJobs([{ type: 't' }]);
    const dead = await claimOne('dead-worker');
    await expire(dead.id);
    const reaped = await db.store.reapExpiredLeases();
    expect(reaped).toEqual([expect.objectContaining({ id: dead.id, outcome: 'retrying' })]);
    const reaped_row = await row(dead.id);
    expect(reaped_row.status).toBe('queued');
    expect(reaped_row.error).toMatchObject({ code: 'lease_expired', attempt: 1 });
    expect(reaped_row.run_at.getTime()).toBeLessThanOrEqual(Date.now() + 1000);

    const alive = await claimOne('live-worker');
    expect(alive.id).toBe(dead.id);
    expect(alive.attempt).toBe(2);
    expect(alive.leaseToken).not.toBe(dead.leaseToken);

    // The dead worker wakes up: every write it tries is refused, and nothing changes.
    expect((await db.store.completeJobs([{ id: dead.id, leaseToken: dead.leaseToken, result: 'late' }]))[0]!.outcome).toBe('lease_lost');
    expect((await db.store.failJobs([{ id: dead.id, leaseToken: dead.leaseToken, error: { name: 'E', code: 'x', message: 'late' } }]))[0]!.outcome).toBe('lease_lost');
    expect((await db.store.handBackJobs([{ id: dead.id, leaseToken: dead.leaseToken }]))[0]!.outcome).toBe('lease_lost');
    expect((await db.store.heartbeatJobs([{ id: dead.id, leaseToken: dead.leaseToken }], 30_000))[0]!.outcome).toBe('lease_lost');
    expect((await db.store.saveJobProgress([{ id: dead.id, leaseToken: dead.leaseToken, checkpoint: 'late' }]))[0]!.outcome).toBe('lease_lost');
    const now = await row(dead.id);
    expect(now).toMatchObject({ status: 'processing', locked_by: 'live-worker', checkpoint: null, result: null });

    expect((await db.store.completeJobs([{ id: alive.id, leaseToken: alive.leaseToken, result: 'mine' }]))[0]!.outcome).toBe('completed');
  });

  it('reaps a job out of attempts to failed, and leaves unexpired leases alone', async () => {
    await db.store.enqueueJobs([{ type: 't', maxAttempts: 1 }, { type: 't' }]);
    const both = await db.store.claimJobs({ workerId: 'w1', types: ['t'], limit: 2, leaseMs: 30_000 });
    const a = both.find((j) => j.maxAttempts === 1)!;
    const b = both.find((j) => j.maxAttempts === 3)!;
    await expire(a.id);
    const reaped = await db.store.reapExpiredLeases();
    expect(reaped.map((r) => [r.id, r.outcome])).toEqual([[a.id, 'failed']]);
    expect((await row(b.id)).status).toBe('processing');
    expect((await row(a.id)).status).toBe('failed');
  });

  it('heartbeat extends the lease and reports a cancel request', async () => {
    await db.store.enqueueJobs([{ type: 't' }]);
    const job = await claimOne('w1', 2_000);
    const [hb] = await db.store.heartbeatJobs([{ id: job.id, leaseToken: job.leaseToken }], 60_000);
    expect(hb).toMatchObject({ outcome: 'extended', cancelRequested: false });
    expect(hb!.lockedUntil!.getTime()).toBeGreaterThan(job.lockedUntil.getTime() + 50_000);
    await db.store.cancelJob(job.id);
    const [hb2] = await db.store.heartbeatJobs([{ id: job.id, leaseToken: job.leaseToken }], 60_000);
    expect(hb2).toMatchObject({ outcome: 'extended', cancelRequested: true });
  });

  it('saves progress and checkpoint separately; a missing key keeps the old value', async () => {
    await db.store.enqueueJobs([{ type: 't' }]);
    const job = await claimOne();
    await db.store.saveJobProgress([{ id: job.id, leaseToken: job.leaseToken, progress: { pct: 10 }, checkpoint: { row: 100 } }]);
    await db.store.saveJobProgress([{ id: job.id, leaseToken: job.leaseToken, progress: { pct: 20 } }]);
    expect(await row(job.id)).toMatchObject({ progress: { pct: 20 }, checkpoint: { row: 100 } });
  });

  it('hand back at a deadline: queued again, checkpoint kept, attempt not counted', async () => {
    await db.store.enqueueJobs([{ type: 't', maxAttempts: 1 }]);
    const job = await claimOne();
    const [out] = await db.store.handBackJobs([{ id: job.id, leaseToken: job.leaseToken, checkpoint: { page: 3 } }]);
    expect(out!.outcome).toBe('queued');
    expect(await row(job.id)).toMatchObject({ status: 'queued', attempts: 0, checkpoint: { page: 3 }, lease_token: null });
    // With max_attempts 1 it can still run: the hand-back did not use the only attempt.
    const again = await claimOne();
    expect(again).toMatchObject({ id: job.id, attempt: 1, checkpoint: { page: 3 } });
  });

  it('answers batch writes one row per item, in order, in one call', async () => {
    await db.store.enqueueJobs(Array.from({ length: 5 }, () => ({ type: 't' })));
    const jobs = await db.store.claimJobs({ workerId: 'w', types: ['t'], limit: 5, leaseMs: 30_000 });
    const items = jobs.map((j, i) => ({ id: j.id, leaseToken: i === 2 ? crypto.randomUUID() : j.leaseToken, result: i }));
    const out = await db.store.completeJobs(items);
    expect(out.map((o) => o.id)).toEqual(jobs.map((j) => j.id));
    expect(out.map((o) => o.outcome)).toEqual(['completed', 'completed', 'lease_lost', 'completed', 'completed']);
  });

  it('refuses malformed worker batches with EJ001, naming the index, and changes nothing', async () => {
    await db.store.enqueueJobs([{ type: 't' }]);
    const job = await claimOne();
    for (const [fn, arg] of [
      ['complete_jobs', { id: job.id }],
      ['complete_jobs', [{ id: 'not-a-uuid', lease_token: job.leaseToken }]],
      ['fail_jobs', [{ id: job.id, lease_token: job.leaseToken, retry_at: 'soon' }]],
      ['fail_jobs', [{ id: job.id, lease_token: job.leaseToken, permanent: 'yes' }]],
      ['hand_back_jobs', [null]],
      ['save_job_progress', 'x'],
    ] as const) {
      const error = await db.sql`select * from ${db.sql(fn)}(${db.sql.json(arg as never)}::jsonb)`.then(() => null, (e: { code: string; message: string }) => e);
      expect(error?.code, `${fn} ${JSON.stringify(arg)}`).toBe('EJ001');
    }
    expect(await row(job.id)).toMatchObject({ status: 'processing', lease_token: job.leaseToken });
  });

  it('names the element whose id or lease token is not a uuid, wherever it is in the batch', async () => {
    await db.store.enqueueJobs([{ type: 't' }]);
    const job = await claimOne();
    const good = { id: job.id, lease_token: job.leaseToken };
    for (const [batch, index] of [
      [[good, { id: job.id, lease_token: 'nope' }], 1],
      [[good, good, { id: 42, lease_token: job.leaseToken }], 2],
      [[{ id: `${job.id}x`, lease_token: job.leaseToken }, good], 0],
    ] as const) {
      const error = await db.sql`select * from public.complete_jobs(${db.sql.json(batch as never)}::jsonb)`.then(() => null, (e: { code: string; message: string }) => e);
      expect(error?.code).toBe('EJ001');
      expect(error?.message).toContain(`jobs[${index}]`);
    }
    expect(await row(job.id)).toMatchObject({ status: 'processing', lease_token: job.leaseToken });
  });
});
