/**
 * Recurring schedules on the real database, with a clock the test sets (every fire is computed for
 * a `now` it passes): the daily brief at 08:00 New York across the spring-forward change; the
 * every-minute ingester with `skip` overlap, a first run at start and a run that takes longer than
 * a minute; each fire time enqueued exactly once by drains racing on separate connections;
 * catch-up after downtime; the app's registration reconciled (a schedule removed from the code is
 * retired); the operators' calls and the SQL door; a drain that fires a due schedule and runs it.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, defineJob } from '../../lib/job.ts';
import { drain } from '../../lib/drain.ts';
import { createPostgresStore } from '../../lib/postgres-store.ts';
import { createScheduleTicker, defineSchedule, fireDueSchedules, planFires, registerSchedules, type DueSchedule } from '../../lib/schedules.ts';
import { useTestDb } from '../support/db.ts';

const brief = defineJob({ type: 'brief.send', input: z.object({ edition: z.string() }), handler: ({ edition }) => ({ sent: edition }) });
const ingest = defineJob({ type: 'news.ingest', input: z.object({}), handler: () => ({ ok: true }) });
const registry = createRegistry([brief, ingest]);

const db = useTestDb({ truncate: ['edgejobs.jobs', 'edgejobs.schedules'] });
const at = (iso: string) => new Date(iso);
const runs = async (name: string) =>
  (await db.sql<{ scheduled_for: Date; status: string; input: unknown }[]>`
    select scheduled_for, status, input from edgejobs.jobs where schedule_name = ${name} order by scheduled_for`);

describe('planFires (croner, in the time zone)', () => {
  const due = (cron: string, timezone: string, nextFireAt: string | null, catchUp: DueSchedule['catchUp'] = 'latest', catchUpLimit = 10): DueSchedule =>
    ({ name: 's', cron, timezone, catchUp, catchUpLimit, nextFireAt: nextFireAt ? at(nextFireAt) : null });

  it('08:00 in New York is 13:00 UTC before the spring-forward change and 12:00 UTC after it', () => {
    expect(planFires(due('0 8 * * *', 'America/New_York', '2026-03-07T13:00:00Z'), at('2026-03-07T13:00:01Z')))
      .toEqual({ fires: [at('2026-03-07T13:00:00Z')], next: at('2026-03-08T12:00:00Z') });
  });

  it('02:30 on the spring-forward day (no such time) fires once, at 03:00 when the gap ends', () => {
    const { next } = planFires(due('30 2 * * *', 'America/New_York', null), at('2026-03-07T12:00:00Z'));
    expect(next).toEqual(at('2026-03-08T07:00:00Z')); // 03:00 EDT
    expect(planFires(due('30 2 * * *', 'America/New_York', null), at('2026-03-08T07:00:00Z')).next).toEqual(at('2026-03-09T06:30:00Z'));
  });

  it('01:30 in the repeated autumn hour fires once (the first); a pattern repeating within the hour fires in both', () => {
    const daily = planFires(due('30 1 * * *', 'America/New_York', null), at('2026-11-01T05:00:00Z')).next;
    expect(daily).toEqual(at('2026-11-01T05:30:00Z')); // 01:30 EDT
    expect(planFires(due('30 1 * * *', 'America/New_York', null), at('2026-11-01T05:30:00Z')).next).toEqual(at('2026-11-02T06:30:00Z'));
    // Every 30 minutes in hour 1: 01:00 and 01:30 EDT, then 01:00 and 01:30 EST.
    const times: Date[] = [];
    for (let t = at('2026-11-01T04:59:00Z'), i = 0; i < 4; i++) times.push((t = planFires(due('*/30 1 * * *', 'America/New_York', null), t).next!));
    expect(times).toEqual([at('2026-11-01T05:00:00Z'), at('2026-11-01T05:30:00Z'), at('2026-11-01T06:00:00Z'), at('2026-11-01T06:30:00Z')]);
  });

  it('catch-up after downtime: latest fires one run, all fires each up to the limit, none fires nothing old', () => {
    const missed = '2026-06-01T10:00:00Z'; // five hourly times missed by 14:30
    expect(planFires(due('0 * * * *', 'UTC', missed, 'latest'), at('2026-06-01T14:30:00Z')).fires).toEqual([at('2026-06-01T14:00:00Z')]);
    expect(planFires(due('0 * * * *', 'UTC', missed, 'all', 3), at('2026-06-01T14:30:00Z')).fires)
      .toEqual([at('2026-06-01T12:00:00Z'), at('2026-06-01T13:00:00Z'), at('2026-06-01T14:00:00Z')]);
    expect(planFires(due('0 * * * *', 'UTC', missed, 'all'), at('2026-06-01T14:30:00Z')).fires).toHaveLength(5);
    expect(planFires(due('0 * * * *', 'UTC', missed, 'none'), at('2026-06-01T14:30:00Z')).fires).toEqual([]);
    // On time (a tick a few seconds late) is not missed.
    expect(planFires(due('0 * * * *', 'UTC', '2026-06-01T14:00:00Z', 'none'), at('2026-06-01T14:00:05Z')).fires).toEqual([at('2026-06-01T14:00:00Z')]);
  });

  it('defineSchedule refuses an unknown time zone, a malformed expression and an input its type refuses, naming them', () => {
    expect(() => defineSchedule({ name: 'x', cron: '0 8 * * *', timezone: 'Mars/Olympus', job: brief, input: { edition: 'a' } })).toThrow('schedule x: unknown time zone "Mars/Olympus"');
    expect(() => defineSchedule({ name: 'x', cron: '0 8 * *', job: brief, input: { edition: 'a' } })).toThrow('must have 5 fields');
    expect(() => defineSchedule({ name: 'x', cron: '0 99 * * *', job: brief, input: { edition: 'a' } })).toThrow('schedule x: cron "0 99 * * *"');
    expect(() => defineSchedule({ name: 'x', cron: '0 8 * * *', job: brief, input: { edition: 5 } as never })).toThrow("does not match brief.send's schema: edition");
    expect(() => defineSchedule({ name: 'bad name', cron: '0 8 * * *', job: brief, input: { edition: 'a' } })).toThrow('schedule name "bad name"');
  });
});

describe('schedules on the database', () => {
  it('the daily brief at 08:00 New York: one run per day, each carrying its fire time, across the DST change', async () => {
    await registerSchedules(db.store, [defineSchedule({ name: 'daily-brief', cron: '0 8 * * *', timezone: 'America/New_York', job: brief, input: { edition: 'morning' } })]);
    // The first look computes the next fire time; nothing fires yet.
    expect(await fireDueSchedules(db.store, { now: at('2026-03-06T12:00:00Z') })).toEqual({ enqueued: 0, skipped: 0, raced: 0 });
    for (const now of ['2026-03-06T12:59:59Z', '2026-03-06T13:00:03Z', '2026-03-06T13:00:30Z', '2026-03-07T13:00:02Z', '2026-03-08T12:00:04Z', '2026-03-08T13:00:00Z', '2026-03-09T12:00:01Z']) {
      await fireDueSchedules(db.store, { now: at(now) });
      // Each morning's brief is sent before the next (skip overlap holds a run back while one waits).
      await db.sql`update edgejobs.jobs set status = 'completed', finished_at = now() where schedule_name = 'daily-brief' and status = 'queued'`;
    }
    const fired = await runs('daily-brief');
    expect(fired.map((r) => r.scheduled_for.toISOString())).toEqual([
      '2026-03-06T13:00:00.000Z', '2026-03-07T13:00:00.000Z', '2026-03-08T12:00:00.000Z', '2026-03-09T12:00:00.000Z',
    ]);
    expect(fired.every((r) => JSON.stringify(r.input) === '{"edition":"morning"}')).toBe(true);
    const [status] = await db.sql`select * from public.list_schedules()`;
    expect(status).toMatchObject({ name: 'daily-brief', state: 'active', fired: '4', skipped: '0', next_fire_at: at('2026-03-10T12:00:00Z') }); // bigint counts
  });

  it('each fire time is enqueued exactly once by 8 drains racing on separate connections, also when catching up', async () => {
    await registerSchedules(db.store, [
      defineSchedule({ name: 'every-minute', cron: '* * * * *', job: ingest, input: {}, overlap: 'allow' }),
      defineSchedule({ name: 'hourly-all', cron: '0 * * * *', job: ingest, input: {}, overlap: 'allow', catchUp: 'all' }),
    ]);
    await fireDueSchedules(db.store, { now: at('2026-06-01T09:59:30Z') }); // next: 10:00 for both
    const stores = Array.from({ length: 8 }, () => createPostgresStore({ sql: db.connect(2) }));
    for (const now of ['2026-06-01T10:00:01Z', '2026-06-01T10:01:00Z', '2026-06-01T14:30:00Z']) {
      const results = await Promise.all(stores.map((store) => fireDueSchedules(store, { now: at(now) })));
      expect(results.reduce((n, r) => n + r.enqueued, 0)).toBeGreaterThan(0);
    }
    const minute = await runs('every-minute');
    expect(minute.map((r) => r.scheduled_for.toISOString())).toEqual(['2026-06-01T10:00:00.000Z', '2026-06-01T10:01:00.000Z', '2026-06-01T14:30:00.000Z']);
    const hourly = await runs('hourly-all');
    expect(hourly.map((r) => r.scheduled_for.toISOString().slice(11, 16))).toEqual(['10:00', '11:00', '12:00', '13:00', '14:00']);
    // The database refuses a second run for a fire time, whatever path tries.
    await expect(db.sql`update edgejobs.jobs set scheduled_for = ${at('2026-06-01T10:00:00Z')} where schedule_name = 'every-minute' and scheduled_for = ${at('2026-06-01T10:01:00Z')}`)
      .rejects.toThrow(/jobs_schedule_fire/);
  });

  it('the every-minute ingester: a first run at start, no overlap while a run takes longer than a minute, the history', async () => {
    const ingester = defineSchedule({ name: 'ingester', cron: '* * * * *', job: ingest, input: {}, overlap: 'skip', runOnCreate: true });
    const created = await registerSchedules(db.store, [ingester]);
    expect(created).toEqual([{ name: 'ingester', created: true, retired: false }]);
    const t0 = (await db.sql<{ now: Date }[]>`select now() as now`)[0]!.now;
    expect((await fireDueSchedules(db.store, { now: new Date(t0.getTime() + 1_000) })).enqueued).toBe(1); // the run on create
    // The minutes after it, from the next fire time the schedule now has (t0 may be a second
    // before a minute turns: counting from t0's own minute was flaky).
    const next = (await db.sql<{ next: Date }[]>`select next_fire_at as next from edgejobs.schedules where name = 'ingester'`)[0]!.next;
    const minute = (n: number) => new Date(next.getTime() + (n - 1) * 60_000 + 2_000);
    // The first run starts and takes three minutes.
    const [claimed] = await db.store.claimJobs({ workerId: 'w', types: ['news.ingest'], limit: 1, leaseMs: 600_000 });
    expect(claimed).toBeDefined();
    expect(await fireDueSchedules(db.store, { now: minute(1) })).toMatchObject({ enqueued: 0, skipped: 1 });
    expect(await fireDueSchedules(db.store, { now: minute(2) })).toMatchObject({ enqueued: 0, skipped: 1 });
    await db.store.completeJobs([{ id: claimed!.id, leaseToken: claimed!.leaseToken, result: { items: 12 } }]);
    expect(await fireDueSchedules(db.store, { now: minute(3) })).toMatchObject({ enqueued: 1, skipped: 0 });
    // Registering again (the next deploy) changes nothing and fires nothing extra.
    expect(await registerSchedules(db.store, [ingester])).toEqual([{ name: 'ingester', created: false, retired: false }]);
    expect(await fireDueSchedules(db.store, { now: minute(3) })).toMatchObject({ enqueued: 0 });

    const history = await runs('ingester');
    expect(history.map((r) => r.status)).toEqual(['completed', 'queued']);
    const [status] = await db.store.listSchedules();
    expect(status).toMatchObject({ name: 'ingester', state: 'active', fired: 2, skipped: 2, lastJob: { status: 'queued' } });
  });

  it('a schedule removed from the code is retired, not left firing; listed again, it fires again', async () => {
    const a = defineSchedule({ name: 'a', cron: '*/5 * * * *', job: ingest, input: {} });
    const b = defineSchedule({ name: 'b', cron: '*/5 * * * *', job: ingest, input: {} });
    await registerSchedules(db.store, [a, b]);
    await db.sql`select * from public.upsert_schedule('from-sql', '*/5 * * * *', 'news.ingest')`;
    expect(await registerSchedules(db.store, [a])).toEqual([{ name: 'a', created: false, retired: false }, { name: 'b', created: false, retired: true }]);
    await fireDueSchedules(db.store, { now: at('2026-06-01T09:59:00Z') });
    await fireDueSchedules(db.store, { now: at('2026-06-01T10:00:01Z') });
    expect((await runs('a')).length).toBe(1);
    expect(await runs('b')).toEqual([]);
    expect((await runs('from-sql')).length).toBe(1); // made in SQL: the app's registration leaves it alone
    expect((await db.store.listSchedules()).map((s) => [s.name, s.state])).toEqual([['a', 'active'], ['b', 'retired'], ['from-sql', 'active']]);
    await registerSchedules(db.store, [a, b]);
    await fireDueSchedules(db.store, { now: at('2026-06-01T10:01:00Z') }); // b: its next time is computed again
    await fireDueSchedules(db.store, { now: at('2026-06-01T10:05:01Z') });
    expect((await runs('b')).map((r) => r.scheduled_for.toISOString())).toEqual(['2026-06-01T10:05:00.000Z']);
  });

  it('operators: pause, resume (no catching up on the pause), trigger now (overlap unless forced), delete', async () => {
    await registerSchedules(db.store, [defineSchedule({ name: 'ops', cron: '0 * * * *', job: ingest, input: {} })]);
    await fireDueSchedules(db.store, { now: at('2026-06-01T09:30:00Z') });
    expect(await db.store.pauseSchedule('ops')).toMatchObject({ name: 'ops', state: 'paused' });
    await fireDueSchedules(db.store, { now: at('2026-06-01T10:00:01Z') });
    expect(await runs('ops')).toEqual([]);
    const first = await db.store.triggerSchedule('ops');
    expect(first.jobId).not.toBeNull();
    expect(await db.store.triggerSchedule('ops')).toEqual({ jobId: null }); // skip: the first is still queued
    expect((await db.store.triggerSchedule('ops', true)).jobId).not.toBeNull();
    expect(await db.store.resumeSchedule('ops')).toMatchObject({ state: 'active', nextFireAt: null });
    expect(await db.store.resumeSchedule('ops')).toBeNull(); // not paused
    await fireDueSchedules(db.store, { now: at('2026-06-01T10:20:00Z') }); // next: 11:00; 10:00 is not caught up
    const [ops] = await db.store.listSchedules();
    expect(ops!.nextFireAt).toEqual(at('2026-06-01T11:00:00Z'));
    expect(await db.store.deleteSchedule('ops')).toBe(true);
    expect(await db.store.deleteSchedule('ops')).toBe(false);
    expect((await runs('ops')).length).toBe(2); // its runs stay
    await expect(db.store.triggerSchedule('ops')).rejects.toMatchObject({ code: 'job_not_found' });
  });

  it('the SQL door: an unknown zone or a malformed schedule is refused naming it; only the service role may call', async () => {
    await expect(db.sql`select * from public.upsert_schedule('x', '0 8 * * *', 'brief.send', timezone => 'Mars/Olympus')`)
      .rejects.toThrow('edgejobs: schedules[0] timezone Mars/Olympus is not an IANA time zone');
    await expect(db.sql`select * from public.upsert_schedule('x', '0 8 * *', 'brief.send')`).rejects.toThrow('schedules[0] cron must be a cron expression of 5 fields');
    await expect(db.sql`select * from public.upsert_schedule('x', '0 8 * * *', 'brief.send', overlap => 'sometimes')`).rejects.toThrow('overlap must be skip, queue or allow');
    await expect(db.sql`select * from public.upsert_schedule('x', '0 8 * * *', 'brief.send', options => '{"queue": "has space"}')`).rejects.toThrow(/queue/);
    await expect(db.store.registerSchedules([{ ...defineSchedule({ name: 'y', cron: '0 8 * * *', job: brief, input: { edition: 'a' } }), timezone: 'Nowhere/Land' }]))
      .rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('timezone Nowhere/Land is not an IANA time zone') });
    expect(await db.sql`select count(*)::int as n from edgejobs.schedules`).toEqual([{ n: 0 }]);
    for (const fn of ['list_schedules()', "pause_schedule('x')", "upsert_schedule('x', '0 8 * * *', 'brief.send')", 'get_due_schedules()']) {
      await expect(db.as('authenticated', { sub: crypto.randomUUID(), role: 'authenticated' }, (tx) => tx.unsafe(`select * from public.${fn}`)))
        .rejects.toMatchObject({ code: '42501' });
    }
  });

  it('a schedule that cannot fire (an expression only croner refuses) is warned about once, and the others fire', async () => {
    await db.sql`select * from public.upsert_schedule('broken', '99 * * * *', 'news.ingest', run_on_create => true)`;
    await db.sql`select * from public.upsert_schedule('fine', '* * * * *', 'news.ingest', run_on_create => true)`;
    const warnings: string[] = [];
    const log = { debug() {}, info() {}, error() {}, warn: (message: string, fields?: Record<string, unknown>) => warnings.push(`${String(fields?.schedule)}: ${message}`) };
    const ticker = createScheduleTicker(db.store, log, 10);
    for (let i = 0; i < 3; i++) await ticker.tick();
    expect(warnings).toEqual(['broken: schedule could not fire; trying again at the next look']);
    expect((await runs('fine')).length).toBe(1);
    expect(await runs('broken')).toEqual([]);
  });

  it('a drain fires a due schedule as it starts, and runs the job it made', async () => {
    await registerSchedules(db.store, [defineSchedule({ name: 'drained', cron: '* * * * *', job: brief, input: { edition: 'drain' }, runOnCreate: true })]);
    const summary = await drain({ store: db.store, registry, deadline: Date.now() + 10_000, handBackMarginMs: 500 });
    expect(summary).toMatchObject({ completed: 1, stopReason: 'empty' });
    const [run] = await runs('drained');
    expect(run).toMatchObject({ status: 'completed' });
    const [job] = await db.sql`select result from edgejobs.jobs where schedule_name = 'drained'`;
    expect(job!.result).toEqual({ sent: 'drain' });
  });
});
