/**
 * `npm run worker` as a process on the real database: it wakes at once on NOTIFY (its idle poll
 * is set to a minute, so a quick pickup can only come from the notification), and SIGTERM hands
 * the running job back with its checkpoint and exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from '../support/wait.ts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT } from '../../scripts/embedded-db.ts';
import { useTestDb } from '../support/db.ts';

const db = useTestDb();
let worker: ChildProcess;
let output = '';
let exited: Promise<number | null>;

beforeAll(async () => {
  worker = spawn(process.execPath, ['--import', 'tsx', 'scripts/worker.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: db.url, EDGEJOBS_WORKER_IDLE_MS: '60000', EDGEJOBS_WORKER_ROUND_MS: '60000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (d) => (output += d));
  worker.stderr!.on('data', (d) => (output += d));
  exited = new Promise((resolve) => worker.once('exit', (code) => resolve(code)));
  const end = Date.now() + 30_000;
  while (!output.includes('woken by LISTEN')) {
    if (Date.now() > end || worker.exitCode !== null) throw new Error(`the worker did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 500)); // its first (empty) round is over: it now waits for work
});
afterAll(() => {
  if (worker.exitCode === null) worker.kill('SIGKILL');
});

async function statusOf(id: string) {
  return (await db.sql`select status, result, checkpoint, attempts from edgejobs.jobs where id = ${id}`)[0]!;
}

it('runs a new job long before its one-minute idle poll: the insert woke it', async () => {
  const [job] = await db.store.enqueueJobs([{ type: 'report.generate', input: { title: 'listen', rows: [3, 4], stepMs: 0 } }]);
  await waitFor(async () => (await statusOf(job!.id)).status === 'completed', 'the job to be picked up and completed', { timeoutMs: 20_000, intervalMs: 50, context: () => output });
  expect((await statusOf(job!.id)).result).toMatchObject({ sum: 7 });
  expect((await db.sql`select distinct trigger from edgejobs.worker_runs`).map((r) => r.trigger)).toEqual(['worker']);
});

it('on SIGTERM hands the running job back with its checkpoint (no attempt used) and exits 0', async () => {
  const [job] = await db.store.enqueueJobs([{ type: 'report.generate', input: { title: 'term', rows: [1, 2, 3], stepMs: 600 } }]);
  await waitFor(async () => (await statusOf(job!.id)).checkpoint !== null, 'a checkpoint', { timeoutMs: 20_000, intervalMs: 50, context: () => output });
  worker.kill('SIGTERM');
  expect(await exited).toBe(0);
  const row = await statusOf(job!.id);
  expect(row).toMatchObject({ status: 'queued', attempts: 0 });
  expect((row.checkpoint as { step: number }).step).toBeGreaterThanOrEqual(1);
  expect(output).toContain('[worker] stopped');
});
