/**
 * The worker as a process on the real database, started with the command line the docs give a
 * process manager (the Dockerfile's CMD, the Procfile's line) and stopped the way a process
 * manager stops it: SIGTERM to that one process, not to a group. It wakes at once on NOTIFY (its
 * idle poll is a minute, so a quick pickup can only come from the notification); on SIGTERM it
 * claims nothing more, lets a running job finish within its shutdown grace, hands a longer one
 * back with its checkpoint, exits 0 within the grace, and leaves no process behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT } from '../../scripts/embedded-db.ts';
import { useTestDb } from '../support/db.ts';
import { waitFor } from '../support/wait.ts';

const db = useTestDb();
const GRACE_MS = 2_000;
const workers: ChildProcess[] = [];
afterAll(() => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
});

/**
 * An app that has installed edgejobs, as the commands expect to find it: the package in
 * node_modules/edgejobs (this repository, linked), its bin in node_modules/.bin (executable, as npm
 * links it) and the app's registry at jobs/index.ts (the demo's job types).
 */
let app: string;
beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), 'edgejobs-worker-app-'));
  mkdirSync(join(app, 'node_modules/.bin'), { recursive: true });
  mkdirSync(join(app, 'jobs'));
  symlinkSync(ROOT, join(app, 'node_modules/edgejobs'));
  chmodSync(join(ROOT, 'dist/cli/main.js'), 0o755);
  symlinkSync('../edgejobs/dist/cli/main.js', join(app, 'node_modules/.bin/edgejobs'));
  writeFileSync(join(app, 'jobs/index.ts'), `export { demoRegistry as registry } from ${JSON.stringify(join(ROOT, 'app/_server/demo-jobs.ts'))};\n`);
});
afterAll(() => rmSync(app, { recursive: true, force: true }));

/** The CMD of docs/examples/Dockerfile.worker (exec form), as Docker runs it: no shell. */
function dockerCommand(): string[] {
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(readFileSync(join(ROOT, 'docs/examples/Dockerfile.worker'), 'utf8'))?.[1];
  if (!cmd) throw new Error('docs/examples/Dockerfile.worker has no exec-form CMD');
  return JSON.parse(cmd) as string[];
}

/** The worker line of docs/examples/Procfile, as Procfile runners run it: `sh -c <line>`. */
function procfileCommand(): string[] {
  const line = /^worker:\s*(.+)$/m.exec(readFileSync(join(ROOT, 'docs/examples/Procfile'), 'utf8'))?.[1];
  if (!line) throw new Error('docs/examples/Procfile has no worker line');
  return ['/bin/sh', '-c', line];
}

interface Worker { child: ChildProcess; output: () => string; exited: Promise<number | null> }

async function startWorker(argv: string[], env: Record<string, string> = {}): Promise<Worker> {
  // A process group of its own, so the test can see that nothing is left of it afterwards.
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: app,
    detached: true,
    env: { ...process.env, DATABASE_URL: db.url, EDGEJOBS_WORKER_IDLE_MS: '60000', EDGEJOBS_WORKER_ROUND_MS: '60000', EDGEJOBS_SHUTDOWN_GRACE_MS: String(GRACE_MS), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor(async () => output.includes('woken by LISTEN') || child.exitCode !== null, 'the worker to start', { timeoutMs: 30_000, intervalMs: 50, context: () => output });
  if (child.exitCode !== null) throw new Error(`the worker exited at start:\n${output}`);
  return { child, output: () => output, exited };
}

/** Whether every process of the group is gone. tsx's esbuild helper ends a moment after node, on its own. */
const groupGone = async (pid: number) => {
  for (const end = Date.now() + 5_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    try {
      process.kill(-pid, 0);
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
  return false;
};

async function statusOf(id: string) {
  return (await db.sql`select status, result, checkpoint, attempts from edgejobs.jobs where id = ${id}`)[0]!;
}

it('the Dockerfile command: woken by NOTIFY, and on SIGTERM finishes what fits in the grace, hands back the rest, exits 0', async () => {
  const worker = await startWorker(dockerCommand());
  await new Promise((r) => setTimeout(r, 500)); // its first look is over: it now waits for work

  const [quick] = await db.store.enqueueJobs([{ type: 'report.generate', input: { title: 'listen', rows: [3, 4], stepMs: 0 } }]);
  await waitFor(async () => (await statusOf(quick!.id)).status === 'completed', 'the job to be picked up and completed', { timeoutMs: 20_000, intervalMs: 50, context: worker.output });
  expect((await statusOf(quick!.id)).result).toMatchObject({ sum: 7 });
  expect((await db.sql`select distinct trigger from edgejobs.worker_runs`).map((r) => r.trigger)).toEqual(['worker']);

  // One job that ends within the grace (10 steps of 250 ms), one that cannot (10 of 1.5 s); the
  // signal comes after the long one's first step, while the short one is half done.
  const [short, long] = await db.store.enqueueJobs([
    { type: 'report.generate', input: { title: 'short', rows: [1, 2, 3], stepMs: 250 } },
    { type: 'report.generate', input: { title: 'long', rows: [1, 2, 3], stepMs: 1_500 } },
  ]);
  await waitFor(async () => (await statusOf(long!.id)).checkpoint !== null && (await statusOf(short!.id)).status === 'processing', 'both jobs to run', { timeoutMs: 20_000, intervalMs: 50, context: worker.output });
  const signalledAt = Date.now();
  worker.child.kill('SIGTERM'); // that process only, as docker stop does
  const later = await db.store.enqueueJobs([{ type: 'report.generate', input: { title: 'after the stop', rows: [1], stepMs: 0 } }]);
  expect(await worker.exited).toBe(0);
  // Within the grace, plus the 1 s an aborted handler gets and the writes.
  expect(Date.now() - signalledAt).toBeLessThan(GRACE_MS + 3_000);
  expect(await statusOf(short!.id)).toMatchObject({ status: 'completed', result: { sum: 6 } });
  const handedBack = await statusOf(long!.id);
  expect(handedBack).toMatchObject({ status: 'queued', attempts: 0 });
  expect((handedBack.checkpoint as { step: number }).step).toBeGreaterThanOrEqual(1);
  expect(await statusOf(later[0]!.id)).toMatchObject({ status: 'queued', attempts: 0 }); // nothing claimed after the signal
  expect(worker.output()).toContain('[worker] stopped');
  expect(await groupGone(worker.child.pid!)).toBe(true);
});

it('the Procfile line (run by sh -c): SIGTERM to the process it started reaches the worker; a second one ends the grace at once', async () => {
  await db.sql`delete from edgejobs.jobs`;
  // A ten-minute grace: only the second signal can make it exit within the test's time.
  const worker = await startWorker(procfileCommand(), { EDGEJOBS_SHUTDOWN_GRACE_MS: '600000' });
  const [job] = await db.store.enqueueJobs([{ type: 'report.generate', input: { title: 'procfile', rows: [1, 2], stepMs: 2_000 } }]);
  await waitFor(async () => (await statusOf(job!.id)).checkpoint !== null, 'a checkpoint', { timeoutMs: 20_000, intervalMs: 50, context: worker.output });
  worker.child.kill('SIGTERM');
  await waitFor(async () => worker.output().includes('claiming nothing more'), 'the worker to take the first signal', { timeoutMs: 10_000, intervalMs: 20, context: worker.output });
  expect((await statusOf(job!.id)).status).toBe('processing'); // it is in its grace
  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
  expect(worker.output()).toContain('handing running jobs back now');
  expect(await statusOf(job!.id)).toMatchObject({ status: 'queued', attempts: 0 });
  expect(await groupGone(worker.child.pid!)).toBe(true);
});
