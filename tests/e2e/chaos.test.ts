/**
 * Chaos, as processes: four `edgejobs worker` processes (the package's bin, as a process manager runs it)
 * drain thousands of recording jobs on a Postgres server of this test's own, while the test
 * SIGKILLs one mid-batch, terminates another's database connections, restarts Postgres, and
 * SIGTERMs a third. Then: no job lost, none completed twice, the killed worker's jobs claimed
 * again within lease + 5 s, the signalled worker out with exit code 0 within its grace, and the
 * worker whose connections were cut still working.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from '../../scripts/embedded-db.ts';
import { createPostgresStore, reconnectDelaySeconds } from '../../lib/postgres-store.ts';
import { useOwnPostgres } from '../support/own-postgres.ts';
import { waitFor } from '../support/wait.ts';

const pg = useOwnPostgres();
const JOBS = 5_000;
const LEASE_MS = 4_000;
const GRACE_MS = 2_000;

interface Worker { name: string; child: ChildProcess; id: string; output: () => string; exited: Promise<number | null> }
const workers: Worker[] = [];
afterAll(() => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
});

function startWorker(name: string): Worker {
  const child = spawn(process.execPath, ['dist/cli/main.js', 'worker', 'tests/support/chaos-jobs.ts'], {
    cwd: ROOT,
    env: {
      ...process.env, DATABASE_URL: pg.url, EDGEJOBS_CONCURRENCY: '10',
      EDGEJOBS_LEASE_MS: String(LEASE_MS), EDGEJOBS_SHUTDOWN_GRACE_MS: String(GRACE_MS), EDGEJOBS_WORKER_IDLE_MS: '500',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const worker = {
    name, child, id: `worker-${hostname()}-${child.pid}`, output: () => output,
    exited: new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))),
  };
  workers.push(worker);
  return worker;
}

it('loses no job and completes none twice through SIGKILL, cut connections, a Postgres restart and SIGTERM', { timeout: 240_000 }, async () => {
  // Reads go through a client that rides out the restart.
  const sql = postgres(pg.url, { max: 2, onnotice: () => {}, backoff: reconnectDelaySeconds });
  const read = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (error) {
        if (i > 100) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const logs = () => workers.map((w) => `--- ${w.name} (${w.id})\n${w.output().slice(-3_000)}`).join('\n');

  await sql.unsafe(`
    create schema chaos;
    create table chaos.runs (job_id uuid not null, attempt int not null, pid int not null, at timestamptz not null default clock_timestamp());
    create table chaos.completions (job_id uuid not null, at timestamptz not null default clock_timestamp());
    create function chaos.completed() returns trigger language plpgsql as $$
    begin insert into chaos.completions (job_id) values (new.id); return new; end $$;
    create trigger chaos_completed after update of status on edgejobs.jobs
      for each row when (new.status = 'completed') execute function chaos.completed();`);
  const store = createPostgresStore({ url: pg.url, max: 2 });
  const ids: string[] = [];
  for (let i = 0; i < JOBS; i += 1_000) {
    const batch = Array.from({ length: 1_000 }, (_, n) => ({
      type: 'chaos.record', input: { ms: 20 + ((i + n) * 37) % 160 }, maxAttempts: 50, backoffBaseMs: 50, backoffMaxMs: 500,
    }));
    ids.push(...(await store.enqueueJobs(batch)).map((j) => j.id));
  }
  await store.stop();

  const [a, b, c, d] = ['killed', 'cut', 'stopped', 'steady'].map(startWorker) as [Worker, Worker, Worker, Worker];
  const completed = async () => Number((await read(() => sql`select count(*)::int as n from edgejobs.jobs where status = 'completed'`))[0]!.n);
  await waitFor(async () => (await completed()) >= JOBS * 0.05, 'the workers to get going', { timeoutMs: 60_000, context: logs });

  // 1. SIGKILL, mid-batch: whatever it held must be claimed again within lease + 5 s.
  a.child.kill('SIGKILL');
  const killedAt = Date.now();
  await a.exited;
  await new Promise((r) => setTimeout(r, 100)); // a commit it had sent may still land
  const heldByA = (await sql`select id from edgejobs.jobs where status = 'processing' and locked_by = ${a.id}`).map((r) => r.id as string);
  expect(heldByA.length, 'the killed worker held jobs').toBeGreaterThan(0);
  const recovered = (async () => {
    await waitFor(async () => {
      const [row] = await read(() => sql`select count(*)::int as n from edgejobs.jobs where id = any(${sql.array(heldByA)}::uuid[]) and locked_by = ${a.id}`);
      return row!.n === 0;
    }, 'the killed worker\'s jobs to be claimed again', { timeoutMs: 30_000, intervalMs: 50, context: logs });
    return Date.now() - killedAt;
  })();

  // 2. Cut another worker's connections (its pool and its LISTEN connection).
  await new Promise((r) => setTimeout(r, 1_000));
  // Postgres keeps the first 63 bytes of an application_name (a long host name is cut).
  const cut = await sql`select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = left(${b.id}, 63)`;
  expect(cut.length, 'connections of the worker to cut').toBeGreaterThan(0);
  const cutAt = new Date();

  expect(await recovered).toBeLessThanOrEqual(LEASE_MS + 5_000);

  // 3. Restart Postgres (2 s down).
  await pg.server.restart(2_000);
  await new Promise((r) => setTimeout(r, 1_500));

  // 4. SIGTERM, as a process manager sends it: out within the grace, exit 0, nothing left held.
  const left = JOBS - (await completed());
  expect(left, 'jobs still to do when the worker is signalled').toBeGreaterThan(100);
  const signalledAt = Date.now();
  c.child.kill('SIGTERM');
  expect(await c.exited, logs()).toBe(0);
  expect(Date.now() - signalledAt).toBeLessThanOrEqual(GRACE_MS + 3_000);
  expect((await read(() => sql`select count(*)::int as n from edgejobs.jobs where locked_by = ${c.id}`))[0]!.n).toBe(0);

  // The two left finish everything.
  await waitFor(async () => (await completed()) === JOBS, 'every job to complete', { timeoutMs: 120_000, intervalMs: 250, context: logs });
  for (const w of [b, d]) w.child.kill('SIGTERM');
  expect(await b.exited, logs()).toBe(0);
  expect(await d.exited, logs()).toBe(0);

  // No job lost, none completed twice, every one ran.
  const states = await sql`select status, count(*)::int as n from edgejobs.jobs group by status`;
  expect(states).toEqual([{ status: 'completed', n: JOBS }]);
  const twice = await sql`select job_id, count(*)::int as n from chaos.completions group by job_id having count(*) > 1`;
  expect(twice).toEqual([]);
  expect((await sql`select count(distinct job_id)::int as n from chaos.completions`)[0]!.n).toBe(JOBS);
  expect((await sql`select count(distinct job_id)::int as n from chaos.runs`)[0]!.n).toBe(JOBS);
  // The worker whose connections were cut went on working afterwards.
  expect((await sql`select count(*)::int as n from chaos.runs where pid = ${b.child.pid!} and at > ${cutAt}`)[0]!.n).toBeGreaterThan(0);
  // The killed worker's jobs ran again elsewhere.
  expect((await sql`select count(distinct job_id)::int as n from chaos.runs where job_id = any(${sql.array(heldByA)}::uuid[]) and pid <> ${a.child.pid!}`)[0]!.n).toBe(heldByA.length);
  await sql.end();
});
