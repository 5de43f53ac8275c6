import { describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs', 'edgejobs.queues'] });

const claim = (types: string[], limit = 10, extra: { queues?: string[]; workerId?: string } = {}) =>
  db.store.claimJobs({ workerId: extra.workerId ?? 'w1', types, limit, leaseMs: 30_000, queues: extra.queues });

describe('claim_jobs', () => {
  it('claims highest priority first, then earliest run_at, and leaves the rest queued', async () => {
    const past = (s: number) => new Date(Date.now() - s * 1000);
    const jobs = await db.store.enqueueJobs([
      { type: 't', input: { n: 'low-old' }, priority: 0, runAt: past(30) },
      { type: 't', input: { n: 'high-new' }, priority: 5, runAt: past(1) },
      { type: 't', input: { n: 'high-old' }, priority: 5, runAt: past(20) },
      { type: 't', input: { n: 'low-new' }, priority: 0, runAt: past(2) },
    ]);
    const claimed = await claim(['t'], 3);
    expect(claimed.map((j) => (j.input as { n: string }).n)).toEqual(['high-old', 'high-new', 'low-old']);
    const [left] = await db.sql`select status, input from edgejobs.jobs where id = ${jobs[3]!.id}`;
    expect(left).toMatchObject({ status: 'queued', input: { n: 'low-new' } });
  });

  it('does not claim jobs whose run_at is in the future', async () => {
    await db.store.enqueueJobs([{ type: 't', delayMs: 60_000 }, { type: 't', runAt: new Date(Date.now() + 3_600_000) }]);
    expect(await claim(['t'])).toEqual([]);
  });

  it('claims only the types the worker knows, and only the queues it asks for', async () => {
    await db.store.enqueueJobs([{ type: 'known', queue: 'a' }, { type: 'unknown' }, { type: 'known', queue: 'b' }]);
    const claimed = await claim(['known'], 10, { queues: ['b'] });
    expect(claimed.map((j) => j.queue)).toEqual(['b']);
    const [left] = await db.sql`select count(*)::int as n from edgejobs.jobs where status = 'queued'`;
    expect(left!.n).toBe(2);
  });

  it('gives each claim a fresh lease token, a short lease, and counts the attempt', async () => {
    await db.store.enqueueJobs([{ type: 't' }, { type: 't' }]);
    const claimed = await db.store.claimJobs({ workerId: 'w-lease', types: ['t'], limit: 10, leaseMs: 5_000 });
    expect(new Set(claimed.map((j) => j.leaseToken)).size).toBe(2);
    for (const job of claimed) {
      expect(job.attempt).toBe(1);
      expect(job.lockedUntil.getTime() - Date.now()).toBeLessThanOrEqual(5_000 + 1_000);
      expect(job.lockedUntil.getTime() - Date.now()).toBeGreaterThan(3_000);
    }
    const rows = await db.sql`select status, locked_by from edgejobs.jobs`;
    expect(rows.every((r) => r.status === 'processing' && r.locked_by === 'w-lease')).toBe(true);
  });

  it('skips paused queues and picks them up again after resume', async () => {
    await db.store.enqueueJobs([{ type: 't', queue: 'paused' }, { type: 't', queue: 'open' }]);
    await db.store.pauseQueue('paused');
    expect((await claim(['t'])).map((j) => j.queue)).toEqual(['open']);
    expect(await claim(['t'])).toEqual([]);
    await db.store.resumeQueue('paused');
    expect((await claim(['t'])).map((j) => j.queue)).toEqual(['paused']);
  });

  it('hands disjoint batches to concurrent claimers (SKIP LOCKED), each job exactly once', async () => {
    await db.store.enqueueJobs(Array.from({ length: 400 }, (_, i) => ({ type: 't', input: { i } })));
    const pools = Array.from({ length: 6 }, () => db.connect(1));
    const seen: string[] = [];
    await Promise.all(pools.map(async (sql, w) => {
      for (;;) {
        const rows = await sql`select id from public.claim_jobs(${`w${w}`}, array['t'], 17, 30)`;
        if (rows.length === 0) return;
        seen.push(...rows.map((r) => r.id as string));
      }
    }));
    expect(seen).toHaveLength(400);
    expect(new Set(seen).size).toBe(400);
  });

  it('keeps a queue concurrency limit under concurrent claimers', async () => {
    await db.store.setQueueConcurrency('limited', 3);
    await db.store.enqueueJobs([
      ...Array.from({ length: 50 }, () => ({ type: 't', queue: 'limited', priority: 10 })),
      ...Array.from({ length: 20 }, () => ({ type: 't', queue: 'free' })),
    ]);
    const pools = Array.from({ length: 8 }, () => db.connect(1));
    const results = await Promise.all(pools.map((sql, w) => sql`select queue from public.claim_jobs(${`w${w}`}, array['t'], 10, 30)`));
    const limited = results.flat().filter((r) => r.queue === 'limited').length;
    expect(limited).toBe(3);
    const [running] = await db.sql`select count(*)::int as n from edgejobs.jobs where queue = 'limited' and status = 'processing'`;
    expect(running!.n).toBe(3);
    // The other queue still flows while the limited one is full.
    expect(results.flat().filter((r) => r.queue === 'free').length).toBeGreaterThan(0);
  });

  it('frees a concurrency slot when a job of the limited queue completes', async () => {
    await db.store.setQueueConcurrency('one', 1);
    await db.store.enqueueJobs([{ type: 't', queue: 'one' }, { type: 't', queue: 'one' }]);
    const [first] = await claim(['t']);
    expect(await claim(['t'])).toEqual([]);
    await db.store.completeJobs([{ id: first!.id, leaseToken: first!.leaseToken, result: 1 }]);
    expect(await claim(['t'])).toHaveLength(1);
  });

  it('fills a batch from other queues when a limited queue near its limit is first in line', async () => {
    // 'hot' has one free slot and 30 ready jobs ahead of everything else: the batch must not be
    // 30 rows of 'hot' trimmed to 1.
    await db.store.setQueueConcurrency('hot', 2);
    await db.store.enqueueJobs([{ type: 't', queue: 'hot', priority: 10 }]);
    expect(await claim(['t'], 1)).toHaveLength(1);
    await db.store.enqueueJobs([
      ...Array.from({ length: 30 }, () => ({ type: 't', queue: 'hot', priority: 10 })),
      ...Array.from({ length: 8 }, () => ({ type: 't', queue: 'cold' })),
    ]);
    const batch = await claim(['t'], 10);
    expect(batch.filter((j) => j.queue === 'hot')).toHaveLength(1);
    expect(batch.filter((j) => j.queue === 'cold')).toHaveLength(8);
    // Claim order holds across the passes: the hot job (priority 10) first.
    expect(batch[0]!.queue).toBe('hot');
  });

  it('fills around several limited queues and takes no more than each one\'s free slots', async () => {
    await db.store.setQueueConcurrency('a', 1);
    await db.store.setQueueConcurrency('b', 2);
    await db.store.enqueueJobs([
      ...Array.from({ length: 20 }, () => ({ type: 't', queue: 'a', priority: 3 })),
      ...Array.from({ length: 20 }, () => ({ type: 't', queue: 'b', priority: 2 })),
      ...Array.from({ length: 20 }, () => ({ type: 't', queue: 'c', priority: 1 })),
    ]);
    const batch = await claim(['t'], 10);
    const per = (q: string) => batch.filter((j) => j.queue === q).length;
    expect([per('a'), per('b'), per('c')]).toEqual([1, 2, 7]);
    expect(batch.map((j) => j.queue)).toEqual(['a', 'b', 'b', 'c', 'c', 'c', 'c', 'c', 'c', 'c']);
  });

  it('says which limited queues hold jobs waiting for a slot after a short claim', async () => {
    await db.store.setQueueConcurrency('one', 1);
    await db.store.setQueueConcurrency('idle', 1);
    await db.store.enqueueJobs([{ type: 't', queue: 'one' }, { type: 't', queue: 'one' }, { type: 'other', queue: 'one' }]);
    expect(await db.store.getWaitingLimitedQueues(['t'])).toEqual(['one']);
    expect(await claim(['t'])).toHaveLength(1);
    // One job waits for the slot: 'limited', not 'empty'. Types the worker does not run, other
    // queues and paused queues do not count.
    expect(await db.store.getWaitingLimitedQueues(['t'])).toEqual(['one']);
    expect(await db.store.getWaitingLimitedQueues(['t'], ['idle'])).toEqual([]);
    expect(await db.store.getWaitingLimitedQueues(['nothing'])).toEqual([]);
    await db.store.pauseQueue('one');
    expect(await db.store.getWaitingLimitedQueues(['t'])).toEqual([]);
  });

  it('takes back a job whose lease expired in the claim itself, counting the lost attempt', async () => {
    await db.store.enqueueJobs([{ type: 't', maxAttempts: 3 }, { type: 't', maxAttempts: 1 }]);
    const dead = await claim(['t'], 2, { workerId: 'dead' });
    await db.sql`update edgejobs.jobs set locked_until = now() - interval '1 second'`;
    // No reaper ran: the next claim finds the expired leases itself.
    const again = await claim(['t'], 10, { workerId: 'alive' });
    const retried = dead.find((j) => j.maxAttempts === 3)!;
    const lastChance = dead.find((j) => j.maxAttempts === 1)!;
    expect(again.map((j) => j.id)).toEqual([retried.id]);
    expect(again[0]).toMatchObject({ attempt: 2 });
    expect(again[0]!.leaseToken).not.toBe(retried.leaseToken);
    const [failed] = await db.sql`select status, error, attempts from edgejobs.jobs where id = ${lastChance.id}`;
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'lease_expired' } });
    const [row] = await db.sql`select errors from edgejobs.jobs where id = ${retried.id}`;
    expect(row!.errors).toEqual([expect.objectContaining({ code: 'lease_expired', attempt: 1 })]);
  });

  it('refuses bad arguments with EJ001 and claims nothing', async () => {
    await db.store.enqueueJobs([{ type: 't' }]);
    for (const call of [
      db.sql`select * from public.claim_jobs('', array['t'], 10, 30)`,
      db.sql`select * from public.claim_jobs('w', null, 10, 30)`,
      db.sql`select * from public.claim_jobs('w', array['t'], 0, 30)`,
      db.sql`select * from public.claim_jobs('w', array['t'], 1001, 30)`,
      db.sql`select * from public.claim_jobs('w', array['t'], 10, 0)`,
      db.sql`select * from public.claim_jobs('w', array['t'], 10, 3600)`,
    ]) {
      await expect(call).rejects.toMatchObject({ code: 'EJ001' });
    }
    const [n] = await db.sql`select count(*)::int as n from edgejobs.jobs where status = 'queued'`;
    expect(n!.n).toBe(1);
  });

  it('uses the partial claim index: the plan is an index scan, not a sort of the whole table', async () => {
    await db.store.enqueueJobs(Array.from({ length: 2000 }, () => ({ type: 't' })));
    await db.sql`analyze edgejobs.jobs`;
    const plan = await db.sql`explain select j.id from edgejobs.jobs j where j.status = 'queued' and j.run_at <= now() and j.type = any(array['t'])
      order by j.priority desc, j.run_at, j.id limit 50 for update skip locked`;
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toContain('jobs_claim_idx');
    expect(text).not.toMatch(/Sort/);
  });
});
