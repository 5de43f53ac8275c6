/**
 * pg_cron for real: Debian's PostgreSQL 15 with postgresql-15-cron (pg_cron 1.4: cron syntax
 * only, so the drain runs every minute here; Supabase's 1.6 takes '5 seconds'). The migrations
 * are pushed with `supabase db push`; pg_net and Vault are stood in (supabase-services.sql and
 * pg-net.ts); the worker is the real process-jobs function in Deno. The schedule that
 * schedule_worker() makes exists, fires, and its request reaches the worker, which runs the job
 * and fires a due schedule (made with upsert_schedule) as it starts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { ROOT, applySchema } from '../../scripts/embedded-db.ts';
import { createPostgresStore, type PostgresStore } from '../../lib/postgres-store.ts';
import { pgCronMissing, startDebianPostgres, type DebianPostgres } from '../support/debian-postgres.ts';
import { WORKER_SECRET, startEdgeFunction, type RunningFunction } from '../support/edge-function.ts';
import { startPgNetWorker, type PgNetWorker } from '../support/pg-net.ts';

const missing = pgCronMissing();
if (missing) {
  if (process.env.CI === 'true') throw new Error(`pg_cron suite: ${missing}`);
  console.warn(`\n!!! SKIPPING the pg_cron suite: ${missing}\n`);
}

describe.runIf(!missing)('the drain schedule on pg_cron', () => {
  let pg: DebianPostgres;
  let sql: postgres.Sql;
  let store: PostgresStore;
  let fn: RunningFunction;
  let pgNet: PgNetWorker;

  beforeAll(async () => {
    pg = await startDebianPostgres();
    await applySchema(pg.url);
    sql = postgres(pg.url, { max: 2, onnotice: () => {} });
    await sql.unsafe(await readFile(join(ROOT, 'tests/support/supabase-services.sql'), 'utf8'));
    store = createPostgresStore({ url: pg.url, max: 2 });
    fn = await startEdgeFunction({ SUPABASE_DB_URL: pg.url });
    pgNet = startPgNetWorker(pg.url);
  }, 180_000);
  afterAll(async () => {
    await pgNet?.stop();
    await fn?.stop();
    await store?.stop();
    await sql?.end({ timeout: 1 });
    await pg?.stop();
  });

  it('refuses to schedule before the Vault secrets exist, naming them', async () => {
    const error = await sql`select * from public.schedule_worker(5)`.catch((e: unknown) => e) as { code?: string; message?: string; hint?: string };
    expect(error.code).toBe('EJ001');
    expect(error.message).toMatch(/not in Vault/);
    expect(error.hint).toMatch(/edgejobs_worker_url[\s\S]*edgejobs_worker_secret/);
  });

  it('schedules the drain (cron syntax on pg_cron 1.4) and the purge, idempotently', async () => {
    await sql`select vault.create_secret(${fn.url}, 'edgejobs_worker_url'), vault.create_secret(${WORKER_SECRET}, 'edgejobs_worker_secret')`;
    const first = await sql`select * from public.schedule_worker(5)`;
    expect(first.map((r) => [r.jobname, r.schedule])).toEqual([['edgejobs-drain', '* * * * *'], ['edgejobs-purge', '17 * * * *']]);
    await sql`select * from public.schedule_worker(5)`;
    const jobs = await sql`select jobname, command from cron.job order by jobname`;
    expect(jobs.map((j) => j.jobname)).toEqual(['edgejobs-drain', 'edgejobs-purge']);
    expect(jobs[0]!.command).toMatch(/edgejobs\.post_to_worker\('cron'\)/);
    expect(jobs[1]!.command).toMatch(/delete from cron\.job_run_details/);
  });

  it('fires: the tick reaches the worker through pg_net and the job runs', async () => {
    await sql`update edgejobs.kicks set last_kick_at = 'infinity'`; // no kicks: only the tick may start a drain
    const [job] = await store.enqueueJobs([{ type: 'report.generate', input: { title: 'tick', rows: [7], stepMs: 0 } }]);
    // A schedule made in the SQL editor, first run at once: the function's drain fires it (croner in Deno).
    await sql`select * from public.upsert_schedule('tick-report', '*/5 * * * *', 'report.generate',
      input => '{"title": "scheduled", "rows": [2, 3], "stepMs": 0}', run_on_create => true)`;
    const end = Date.now() + 75_000; // the next whole minute, plus the drain
    let row: Record<string, unknown> | undefined;
    let scheduled: Record<string, unknown> | undefined;
    while (Date.now() < end) {
      [row] = await sql`select status, result from edgejobs.jobs where id = ${job!.id}`;
      [scheduled] = await sql`select status, result from edgejobs.jobs where schedule_name = 'tick-report'`;
      if (row?.status === 'completed' && scheduled?.status === 'completed') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(row).toMatchObject({ status: 'completed', result: { sum: 7 } });
    expect(scheduled).toMatchObject({ status: 'completed', result: { sum: 5 } });
    expect((await sql`select next_fire_at from edgejobs.schedules where name = 'tick-report'`)[0]!.next_fire_at).not.toBeNull();
    const runs = await sql`select trigger from edgejobs.worker_runs`;
    expect(runs.map((r) => r.trigger)).toContain('cron');
    const details = await sql`select d.status from cron.job_run_details d join cron.job j using (jobid) where j.jobname = 'edgejobs-drain'`;
    expect(details.map((d) => d.status)).toContain('succeeded');
    expect(pgNet.sent.some((s) => s.url === fn.url && s.status === 202 && (s.body as { trigger?: string }).trigger === 'cron')).toBe(true);
  }, 90_000);

  it('unschedules both jobs', async () => {
    expect((await sql`select public.unschedule_worker() as n`)[0]!.n).toBe(2);
    expect(await sql`select 1 from cron.job`).toHaveLength(0);
    expect((await sql`select public.unschedule_worker() as n`)[0]!.n).toBe(0);
  });
});
