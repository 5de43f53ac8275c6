/**
 * The console's SQL: console_jobs pages every owner's jobs newest first with a bounded walk down
 * an index (never a scan of the table, whatever the filter), finds a job by id or idempotency key;
 * console_job tells everything about one job; get_throughput buckets the last hour; the queue and
 * schedule actions are recorded with their actor; only the service role may call any of them.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { expect, it } from 'vitest';
import { useTestDb, userClaims } from '../support/db.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs', 'edgejobs.operator_actions', 'edgejobs.queues'] });

it('pages through every job newest first; a rare filter answers short pages and a cursor, and finds them all', async () => {
  // 12,000 jobs, one in 400 of type rare (30), created a millisecond apart.
  await db.sql`insert into edgejobs.jobs (type, created_at)
    select case when g % 400 = 0 then 'rare' else 'common' end, now() - make_interval(secs => g / 1000.0)
    from generate_series(1, 12000) g`;
  await db.sql`analyze edgejobs.jobs`;
  const first = await db.store.consoleJobs({}, { limit: 50 });
  expect(first.jobs).toHaveLength(50);
  expect(first.jobs[0]!.createdAt.getTime()).toBeGreaterThanOrEqual(first.jobs[49]!.createdAt.getTime());
  const second = await db.store.consoleJobs({}, { limit: 50, before: first.next! });
  expect(second.jobs[0]!.createdAt.getTime()).toBeLessThanOrEqual(first.jobs[49]!.createdAt.getTime());
  expect(new Set([...first.jobs, ...second.jobs].map((j) => j.id)).size).toBe(100);

  const seen: string[] = [];
  let cursor = undefined as { createdAt: Date; id: string } | undefined;
  let calls = 0;
  for (;;) {
    const page = await db.store.consoleJobs({ type: 'rare' }, { limit: 20, ...(cursor ? { before: cursor } : {}) });
    calls++;
    expect(page.scanned).toBeLessThanOrEqual(5000);
    seen.push(...page.jobs.map((j) => j.id));
    if (!page.next) break;
    cursor = page.next;
  }
  expect(seen).toHaveLength(30);
  expect(new Set(seen).size).toBe(30);
  expect(calls).toBeGreaterThanOrEqual(3); // 12,000 jobs are walked 5,000 at a time

  // Time bounds, and the statuses.
  const [mid] = await db.sql<{ at: Date }[]>`select created_at as at from edgejobs.jobs order by created_at desc offset 5999 limit 1`;
  const older = await db.store.consoleJobs({ createdBefore: mid!.at, type: 'rare' }, { limit: 100 });
  expect(older.jobs.every((j) => j.createdAt < mid!.at)).toBe(true);
  const newer = await db.store.consoleJobs({ createdAfter: mid!.at, type: 'rare' }, { limit: 100 });
  expect(newer.jobs.length + older.jobs.length + (older.next ? 1 : 0)).toBeGreaterThanOrEqual(15);
  expect(newer.jobs.every((j) => j.createdAt >= mid!.at)).toBe(true);
});

it('finds a job by id and by idempotency key, and an owner\'s jobs by their index', async () => {
  const owner = randomUUID();
  const [keyed] = await db.store.enqueueJobs([{ type: 'a', idempotencyKey: 'order-42' }]);
  await db.store.enqueueJobs([{ type: 'b', idempotencyKey: 'order-42' }, { type: 'b', idempotencyKey: 'order-43' }]);
  await db.as('authenticated', userClaims(owner), (tx) => tx`select public.enqueue_job('a')`);
  expect((await db.store.consoleJobs({ id: keyed!.id })).jobs.map((j) => j.id)).toEqual([keyed!.id]);
  expect((await db.store.consoleJobs({ idPrefix: keyed!.id.slice(0, 8) })).jobs.map((j) => j.id)).toContain(keyed!.id);
  await expect(db.store.consoleJobs({ idPrefix: 'abc' })).rejects.toThrow(/id_prefix must be/);
  expect((await db.store.consoleJobs({ idempotencyKey: 'order-42' })).jobs.map((j) => j.type).sort()).toEqual(['a', 'b']);
  const mine = await db.store.consoleJobs({ ownerId: owner });
  expect(mine.jobs.map((j) => j.ownerId)).toEqual([owner]);
  await expect(db.store.consoleJobs({ ownerId: 'me' })).rejects.toThrow(/owner_id must be a uuid/);
  await expect(db.sql`select public.console_jobs('{"colour": "red"}')`).rejects.toThrow(/filter may only hold/);
  await expect(db.sql`select public.console_jobs('{"status": "done"}')`).rejects.toThrow(/status must be one of/);
  await expect(db.sql`select public.console_jobs('{}', now(), null)`).rejects.toThrow(/give both/);
});

it('reads no table scan for any list, search or count of the console', async () => {
  await db.sql`insert into edgejobs.jobs (type, status, finished_at, expires_at, attempts, started_at, idempotency_key, owner_id)
    select 't' || (g % 5), 'completed', now() - make_interval(secs => g % 3000), now() + interval '1 day', 1, now(),
      case when g % 10 = 0 then 'k' || g end, case when g % 7 = 0 then '00000000-0000-0000-0000-000000000007'::uuid end
    from generate_series(1, 20000) g`;
  await db.sql`analyze edgejobs.jobs`;
  const plans: string[] = [];
  const sql = postgres(db.url, { max: 1, onnotice: (n) => plans.push(String(n.message)) });
  try {
    await sql.begin(async (tx) => {
      await tx`load 'auto_explain'`;
      await tx.unsafe(`set local auto_explain.log_min_duration = 0; set local auto_explain.log_nested_statements = on;
        set local auto_explain.log_level = notice; set local client_min_messages = notice`);
      await tx`select public.console_jobs('{"status": "failed", "type": "t1"}')`;
      await tx`select public.console_jobs('{"owner_id": "00000000-0000-0000-0000-000000000007", "queue": "default"}')`;
      await tx`select public.console_jobs('{"idempotency_key": "k100"}')`;
      await tx`select public.console_jobs('{"id": "00000000-0000-0000-0000-000000000001"}')`;
      await tx`select public.console_jobs('{"id_prefix": "a1b2c3d4"}')`;
      await tx`select * from public.get_throughput()`;
      await tx`select * from public.list_jobs()`; // the service's list, newest first
    });
  } finally {
    await sql.end();
  }
  expect(plans.some((p) => p.includes('jobs_created_idx'))).toBe(true);
  expect(plans.some((p) => p.includes('jobs_owner_idx'))).toBe(true);
  expect(plans.some((p) => p.includes('jobs_idempotency_key_idx'))).toBe(true);
  expect(plans.filter((p) => /Seq Scan on jobs/.test(p))).toEqual([]);
});

it('tells everything about one job: errors of every attempt, lease, parent and children', async () => {
  const [parent] = await db.store.enqueueJobs([{ type: 'p', input: { n: 1 } }]);
  const [claimed] = await db.store.claimJobs({ workerId: 'w-1', types: ['p'], limit: 1, leaseMs: 60_000 });
  await db.store.failJobs([{ ...claimed!, error: { name: 'Error', code: 'boom', message: 'first try broke' } }]);
  await db.sql`update edgejobs.jobs set run_at = now() where id = ${parent!.id}`;
  const [again] = await db.store.claimJobs({ workerId: 'w-2', types: ['p'], limit: 1, leaseMs: 60_000 });
  const held = await db.store.consoleJob(parent!.id);
  expect(held).toMatchObject({ status: 'processing', attempts: 2, lockedBy: 'w-2', input: { n: 1 } });
  expect(held!.errors.map((e) => e.message)).toEqual(['first try broke']);
  await db.store.completeJobs([{ ...again!, result: { ok: true }, children: [{ type: 'c' }] }]);
  const done = await db.store.consoleJob(parent!.id);
  expect(done).toMatchObject({ status: 'completed', result: { ok: true }, lockedBy: null });
  expect(done!.children).toHaveLength(1);
  expect((await db.store.consoleJob(done!.children[0]!.id))!.parent).toEqual({ id: parent!.id, type: 'p', status: 'completed' });
  expect(await db.store.consoleJob(randomUUID())).toBeNull();
  expect(JSON.stringify(done)).not.toContain(again!.leaseToken);
});

it('counts jobs that ended per minute of the last hour', async () => {
  await db.sql`insert into edgejobs.jobs (type, status, attempts, started_at, finished_at, expires_at)
    select 'x', case when g % 4 = 0 then 'failed' else 'completed' end, 1, now(), now() - make_interval(mins => g % 3), now() + interval '1 day'
    from generate_series(1, 120) g`;
  const buckets = await db.store.getThroughput();
  expect(buckets.length).toBeGreaterThanOrEqual(60);
  expect(buckets.reduce((n, b) => n + b.completed, 0)).toBe(90);
  expect(buckets.reduce((n, b) => n + b.failed, 0)).toBe(30);
  await expect(db.store.getThroughput(7 * 24 * 3600_000)).rejects.toThrow(/since must be between/);
});

it('records queue and schedule actions with their actor; refuses unknown ones', async () => {
  expect(await db.store.operatorAction('pause_queue', 'mail', null, 'ops@acme.test')).toMatchObject({ name: 'mail', paused: true });
  expect(await db.store.operatorAction('set_queue_concurrency', 'mail', 3, 'ops@acme.test')).toMatchObject({ concurrency_limit: 3 });
  expect(await db.store.listQueues()).toEqual([expect.objectContaining({ name: 'mail', paused: true, concurrencyLimit: 3 })]);
  await expect(db.store.operatorAction('pause_schedule', 'nightly', null, 'ops')).rejects.toThrow(/no schedule named "nightly"/);
  await expect(db.sql`select public.operator_action('drop_queue', 'mail')`).rejects.toThrow(/action must be/);
  await db.store.registerSchedules([{ name: 'nightly', cron: '0 3 * * *', type: 'report', input: {} } as never]);
  await db.store.operatorAction('pause_schedule', 'nightly', null, 'ops');
  expect((await db.store.listSchedules())[0]!.state).toBe('paused');
  const triggered = await db.store.operatorAction('trigger_schedule', 'nightly', null, 'ops');
  expect(triggered.job_id).toEqual(expect.any(String));
  const held = await db.store.operatorAction('trigger_schedule', 'nightly', null, 'ops'); // the first run is still queued
  expect(held.job_id).toBeNull();
  const actions = await db.store.listOperatorActions();
  expect(actions.map((a) => [a.actor, a.action, a.filter, a.affected])).toEqual([
    ['ops', 'trigger_schedule', { schedule: 'nightly', force: false }, 0],
    ['ops', 'trigger_schedule', { schedule: 'nightly', force: false }, 1],
    ['ops', 'pause_schedule', { schedule: 'nightly' }, 1],
    ['ops@acme.test', 'set_queue_concurrency', { queue: 'mail', concurrency_limit: 3 }, 1],
    ['ops@acme.test', 'pause_queue', { queue: 'mail' }, 1],
  ]);
});

it('lets only the service role call the console and alert functions', async () => {
  const calls = ['console_jobs()', 'console_job(gen_random_uuid())', 'get_throughput()', 'list_queues()', 'list_worker_runs()',
    'list_operator_actions()', "operator_action('pause_queue', 'q')", 'claim_alert_check()', "record_alerts('[]', 'https://x.test')"];
  for (const call of calls) {
    for (const role of ['anon', 'authenticated'] as const) {
      await expect(db.as(role, role === 'anon' ? { role } : userClaims(randomUUID()), (tx) => tx.unsafe(`select * from public.${call}`)), `${role}: ${call}`)
        .rejects.toThrow(/permission denied/);
    }
    await db.as('service_role', { role: 'service_role' }, (tx) => tx.unsafe(`select * from public.${call}`));
  }
});
