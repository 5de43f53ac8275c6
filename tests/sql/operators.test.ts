import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { EdgeJobsError } from '../../lib/errors.ts';
import { useTestDb } from '../support/db.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs', 'edgejobs.worker_runs'] });

const codeOf = (p: Promise<unknown>) => p.then(() => null, (e: EdgeJobsError) => e.code);

async function failForGood(type: string, queue = 'default') {
  // A type of its own, so the claim takes exactly this job.
  const own = `${type}.${crypto.randomUUID().slice(0, 8)}`;
  const [job] = await db.store.enqueueJobs([{ type: own, queue, maxAttempts: 1 }]);
  const [c] = await db.store.claimJobs({ workerId: 'w', types: [own], limit: 1, leaseMs: 30_000 });
  await db.store.failJobs([{ id: c!.id, leaseToken: c!.leaseToken, error: { name: 'Error', code: 'x', message: 'no' } }]);
  await db.sql`update edgejobs.jobs set type = ${type} where id = ${job!.id}`;
  return job!.id;
}

describe('cancel_job', () => {
  it('cancels a queued job at once, so no worker claims it', async () => {
    const [job] = await db.store.enqueueJobs([{ type: 't' }]);
    const cancelled = await db.store.cancelJob(job!.id);
    expect(cancelled).toMatchObject({ status: 'cancelled' });
    expect(cancelled.finishedAt).toBeInstanceOf(Date);
    expect(await db.store.claimJobs({ workerId: 'w', types: ['t'], limit: 10, leaseMs: 30_000 })).toEqual([]);
  });

  it('only requests cancellation of a processing job; the worker ends it', async () => {
    const [job] = await db.store.enqueueJobs([{ type: 't' }]);
    const [c] = await db.store.claimJobs({ workerId: 'w', types: ['t'], limit: 1, leaseMs: 30_000 });
    const after = await db.store.cancelJob(job!.id);
    expect(after.status).toBe('processing');
    expect(after.cancelRequestedAt).toBeInstanceOf(Date);
    const [hb] = await db.store.handBackJobs([{ id: c!.id, leaseToken: c!.leaseToken }]);
    expect(hb!.outcome).toBe('cancelled');
  });

  it('refuses a finished job (job_finished) and an unknown one (job_not_found)', async () => {
    const [job] = await db.store.enqueueJobs([{ type: 't' }]);
    await db.store.cancelJob(job!.id);
    expect(await codeOf(db.store.cancelJob(job!.id))).toBe('job_finished');
    expect(await codeOf(db.store.cancelJob(crypto.randomUUID()))).toBe('job_not_found');
    expect(await codeOf(db.store.cancelJob('not-a-uuid'))).toBe('invalid_argument');
  });
});

describe('operators', () => {
  it('redrives one failed job with a fresh set of attempts and keeps its error history', async () => {
    const id = await failForGood('t');
    const other = await failForGood('t');
    expect(await db.store.retryFailedJobs({ jobId: id })).toBe(1);
    const [row] = await db.sql`select status, attempts, jsonb_array_length(errors) as n, finished_at from edgejobs.jobs where id = ${id}`;
    expect(row).toMatchObject({ status: 'queued', attempts: 0, n: 1, finished_at: null });
    const [untouched] = await db.sql`select status from edgejobs.jobs where id = ${other}`;
    expect(untouched!.status).toBe('failed');
  });

  it('redrives every failed job matching a type/queue/time filter, and only those', async () => {
    await failForGood('a', 'q1');
    await failForGood('a', 'q2');
    await failForGood('b', 'q1');
    expect(await db.store.retryFailedJobs({ type: 'a', queue: 'q1', failedAfter: new Date(Date.now() - 60_000) })).toBe(1);
    expect(await db.store.retryFailedJobs({ failedBefore: new Date(Date.now() - 60_000) })).toBe(0);
    expect(await db.store.retryFailedJobs()).toBe(2);
  });

  it('refuses to redrive a job that is not failed, or does not exist', async () => {
    const [job] = await db.store.enqueueJobs([{ type: 't' }]);
    expect(await codeOf(db.store.retryFailedJobs({ jobId: job!.id }))).toBe('job_finished');
    expect(await codeOf(db.store.retryFailedJobs({ jobId: crypto.randomUUID() }))).toBe('job_not_found');
  });

  it('purges finished jobs past expiry or older than an age, never queued or processing ones', async () => {
    await failForGood('t');
    const [queued] = await db.store.enqueueJobs([{ type: 'waiting' }]);
    const [done] = await db.store.enqueueJobs([{ type: 'done' }]);
    const [c] = await db.store.claimJobs({ workerId: 'w', types: ['done'], limit: 1, leaseMs: 30_000 });
    await db.store.completeJobs([{ id: c!.id, leaseToken: c!.leaseToken }]);
    await db.sql`update edgejobs.jobs set created_at = now() - interval '30 days', run_at = now() - interval '30 days' where id = ${queued!.id}`;
    expect(await db.store.purgeJobs()).toBe(0); // nothing has expired yet (7 days)
    await db.sql`update edgejobs.jobs set finished_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' where id = ${done!.id}`;
    expect(await db.store.purgeJobs()).toBe(1);
    expect(await db.store.purgeJobs({ olderThanMs: 0 })).toBe(1);
    const left = await db.sql`select id from edgejobs.jobs`;
    expect(left.map((r) => r.id)).toEqual([queued!.id]);
    expect(await codeOf(db.store.purgeJobs({ olderThanMs: -1 }))).toBe('invalid_argument');
  });

  it('reports stats per queue and type', async () => {
    await db.store.enqueueJobs([{ type: 'a' }, { type: 'a' }, { type: 'a', delayMs: 60_000 }, { type: 'b', queue: 'q' }]);
    await failForGood('b', 'q');
    const stats = await db.store.getQueueStats();
    expect(stats).toEqual([
      expect.objectContaining({ queue: 'default', type: 'a', ready: 2, scheduled: 1, processing: 0, failed: 0 }),
      expect.objectContaining({ queue: 'q', type: 'b', ready: 1, failed: 1 }),
    ]);
    // Finished counts cover a window: a failure two hours ago is outside the default hour.
    await db.sql`update edgejobs.jobs set finished_at = now() - interval '2 hours' where status = 'failed'`;
    expect((await db.store.getQueueStats()).find((s) => s.type === 'b')).toMatchObject({ ready: 1, failed: 0 });
    expect((await db.store.getQueueStats(3 * 3600_000)).find((s) => s.type === 'b')).toMatchObject({ failed: 1 });
    // A type with only finished jobs in the window still has its row.
    await db.sql`delete from edgejobs.jobs where type = 'b' and status = 'queued'`;
    expect((await db.store.getQueueStats(3 * 3600_000)).find((s) => s.type === 'b')).toEqual({
      queue: 'q', type: 'b', ready: 0, scheduled: 0, processing: 0, completed: 0, failed: 1, cancelled: 0, oldestReadyAt: null,
    });
    expect(await codeOf(db.store.getQueueStats(-1))).toBe('invalid_argument');
  });

  it('reads stats without scanning the jobs table, also with many finished jobs', async () => {
    // 50,000 finished jobs over two days and a few live ones; analyzed, as autovacuum would.
    await db.sql`insert into edgejobs.jobs (type, queue, status, attempts, started_at, finished_at, expires_at)
      select 't' || (g % 10), 'q' || (g % 3), (array['completed', 'failed', 'cancelled'])[1 + (g / 10) % 3], 1,
             now() - make_interval(secs => g * 3.5) - interval '1 second', now() - make_interval(secs => g * 3.5), now() + interval '7 days'
      from generate_series(1, 50000) g`;
    await db.store.enqueueJobs([{ type: 't1' }, { type: 't2', delayMs: 60_000 }]);
    await db.sql`analyze edgejobs.jobs`;
    // The functions' own statements, as auto_explain sees them (nested statements, as notices).
    const plans: string[] = [];
    const sql = postgres(db.url, { max: 1, onnotice: (n) => plans.push(String(n.message)) });
    try {
      await sql.begin(async (tx) => {
        await tx`load 'auto_explain'`;
        await tx.unsafe(`set local auto_explain.log_min_duration = 0; set local auto_explain.log_nested_statements = on;
          set local auto_explain.log_level = notice; set local client_min_messages = notice`);
        await tx`select * from public.get_queue_stats()`;
        await tx`select * from public.get_type_stats(interval '1 hour')`;
      });
    } finally {
      await sql.end();
    }
    expect(plans.length).toBeGreaterThan(0);
    expect(plans.some((p) => p.includes('jobs_type_finished_idx'))).toBe(true); // the plans were seen
    expect(plans.filter((p) => /Seq Scan on jobs/.test(p))).toEqual([]);
  });

  it('reports health: depth, oldest ready age, last run, consecutive failed runs', async () => {
    await db.store.enqueueJobs([{ type: 'a', runAt: new Date(Date.now() - 5_000) }, { type: 'a' }]);
    const ok = await db.store.startWorkerRun({ workerId: 'w1', trigger: 'cron', deadline: new Date(Date.now() + 60_000) });
    await db.store.finishWorkerRun(ok, { claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'empty' });
    for (let i = 0; i < 2; i++) {
      const bad = await db.store.startWorkerRun({ workerId: `w-bad-${i}`, trigger: 'cron', deadline: new Date(Date.now() + 60_000) });
      await db.store.finishWorkerRun(bad, { claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'error' }, { name: 'Error', code: 'database_error', message: 'down' });
    }
    // A run killed mid-way: never finished, a minute past its deadline.
    await db.store.startWorkerRun({ workerId: 'w-killed', trigger: 'kick', deadline: new Date(Date.now() - 120_000) });
    const health = await db.store.getQueueHealth();
    expect(health).toMatchObject({ ready: 2, scheduled: 0, processing: 0, lastRunStatus: 'lost', consecutiveFailedRuns: 3 });
    expect(health.oldestReadyAgeMs).toBeGreaterThanOrEqual(4_500);
    expect(health.lastSuccessAt).toBeInstanceOf(Date);
    const [view] = await db.sql`select status from edgejobs.recent_worker_runs limit 1`;
    expect(view!.status).toBe('lost');
  });

  it('keeps no row for a drain that claimed nothing, only the look; health still sees the worker', async () => {
    await db.store.enqueueJobs([{ type: 'nobody-runs-this' }]);
    const before = (await db.sql`select empty_looks from edgejobs.worker_liveness`)[0]!.empty_looks;
    for (let i = 0; i < 5; i++) {
      const id = await db.store.startWorkerRun({ workerId: `idle-${i}`, trigger: 'cron', deadline: new Date(Date.now() + 60_000) });
      // While it runs, the drain is a row (fan-out and the kick count running drains).
      expect(await db.store.countRunningWorkers()).toBe(1);
      await db.store.finishWorkerRun(id, { claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'empty' });
    }
    expect(await db.sql`select id from edgejobs.worker_runs`).toHaveLength(0);
    const [look] = await db.sql`select last_worker_id, last_trigger, empty_looks, last_look_at from edgejobs.worker_liveness`;
    expect(look).toMatchObject({ last_worker_id: 'idle-4', last_trigger: 'cron' });
    expect(Number(look!.empty_looks) - Number(before)).toBe(5);
    const health = await db.store.getQueueHealth();
    expect(health.lastRunStartedAt).toBeNull();
    expect(health.lastSeenAt!.getTime()).toBe(look!.last_look_at.getTime());
    expect(health.lastSuccessAt!.getTime()).toBe(look!.last_look_at.getTime());
    // A drain that failed is kept, however little it did; so is one that claimed a job.
    const failed = await db.store.startWorkerRun({ workerId: 'broken', trigger: 'cron', deadline: null });
    await db.store.finishWorkerRun(failed, { claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'error' }, { name: 'Error', code: 'database_error', message: 'down' });
    const worked = await db.store.startWorkerRun({ workerId: 'worked', trigger: 'cron', deadline: null });
    await db.store.finishWorkerRun(worked, { claimed: 1, completed: 1, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'empty' });
    expect((await db.sql`select worker_id from edgejobs.worker_runs order by started_at`).map((r) => r.worker_id)).toEqual(['broken', 'worked']);
  });

  it('ends a run of failed drains at the next drain that found nothing but ended well', async () => {
    const bad = await db.store.startWorkerRun({ workerId: 'bad', trigger: 'cron', deadline: null });
    await db.store.finishWorkerRun(bad, { claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'error' }, { name: 'Error', code: 'database_error', message: 'down' });
    expect((await db.store.getQueueHealth()).consecutiveFailedRuns).toBe(1);
    const ok = await db.store.startWorkerRun({ workerId: 'ok', trigger: 'cron', deadline: null });
    await db.store.finishWorkerRun(ok, { claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'empty' });
    expect((await db.store.getQueueHealth()).consecutiveFailedRuns).toBe(0);
  });

  it('records a worker run and refuses to finish it twice', async () => {
    const id = await db.store.startWorkerRun({ workerId: 'w', trigger: 'manual', deadline: null });
    await db.store.finishWorkerRun(id, { claimed: 3, completed: 2, failed: 1, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'empty' });
    const [row] = await db.sql`select * from edgejobs.worker_runs where id = ${id}`;
    expect(row).toMatchObject({ status: 'succeeded', claimed: 3, completed: 2, failed: 1, stop_reason: 'empty' });
    expect(await codeOf(db.store.finishWorkerRun(id, { claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'empty' }))).toBe('job_not_found');
    const empty = await db.store.startWorkerRun({ workerId: 'w', trigger: 'manual', deadline: null });
    await db.store.finishWorkerRun(empty, { claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'empty' });
    expect(await codeOf(db.store.finishWorkerRun(empty, { claimed: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, handedBack: 0, leaseLost: 0, stopReason: 'empty' }))).toBe('job_not_found');
    expect(await codeOf(db.store.startWorkerRun({ workerId: '', trigger: 'x', deadline: null }))).toBe('invalid_argument');
  });

  it('sets and clears a queue concurrency limit, and rejects bad values', async () => {
    expect(await db.store.setQueueConcurrency('reports', 2)).toEqual({ name: 'reports', concurrencyLimit: 2, paused: false });
    expect(await db.store.pauseQueue('reports')).toEqual({ name: 'reports', concurrencyLimit: 2, paused: true });
    expect(await db.store.setQueueConcurrency('reports', null)).toEqual({ name: 'reports', concurrencyLimit: null, paused: true });
    expect(await codeOf(db.store.setQueueConcurrency('reports', 0))).toBe('invalid_argument');
    expect(await codeOf(db.store.pauseQueue('bad name'))).toBe('invalid_argument');
  });
});
