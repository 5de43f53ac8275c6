/**
 * A worker process killed mid-job (SIGKILL: no cleanup, no hand-back) loses nothing: its lease
 * expires, another drain reaps and finishes the job, and the attempt is on record.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { z } from 'zod';
import { expect, it } from 'vitest';
import { drain } from '../../lib/drain.ts';
import { createRegistry, defineJob } from '../../lib/job.ts';
import { silentLogger } from '../../lib/logger.ts';
import { ROOT } from '../../scripts/embedded-db.ts';
import { useTestDb } from '../support/db.ts';

const db = useTestDb();

it('a job whose worker process was killed is claimed again within its lease plus one look, and finished by another drain', async () => {
  const [queued] = await db.store.enqueueJobs([{ type: 'test.crash' }]);
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tests/support/crash-worker.ts'), db.url], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const claimedId = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /claimed (\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.on('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
  expect(claimedId).toBe(queued!.id);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const killedAt = Date.now();

  const [held] = await db.sql`select status, locked_until from edgejobs.jobs where id = ${claimedId}`;
  expect(held!.status).toBe('processing');

  const finish = defineJob({ type: 'test.crash', input: z.object({}), handler: (_i, ctx) => ({ attempt: ctx.job.attempt }) });
  // A long-running worker, started at once (before the dead worker's 2 s lease runs out), with a
  // lease of its own of 30 s and an idle look every 500 ms: the expired lease is taken back by
  // its next claim, not by a reaper that runs once per lease of the rescuer.
  const stop = new AbortController();
  const rescuer = drain({
    store: db.store, registry: createRegistry([finish]), deadline: Date.now() + 20_000, leaseMs: 30_000, logger: silentLogger,
    signal: stop.signal, shutdownGraceMs: 0,
    waitForWork: (ms, signal) => new Promise((resolve) => {
      const t = setTimeout(resolve, Math.min(ms, 500));
      signal.addEventListener('abort', () => resolve(clearTimeout(t)), { once: true });
    }),
  });
  const end = Date.now() + 15_000;
  while ((await db.sql`select status from edgejobs.jobs where id = ${claimedId}`)[0]!.status !== 'completed' && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  stop.abort();
  expect((await rescuer).completed).toBe(1);
  // Back in the queue and running again within the lease plus one look (bound: lease + 5 s). The
  // bound is the behaviour under test, the promise a lease makes: a dead worker's job is not left
  // until some later sweep, it is claimable again when its lease runs out.
  const [second] = await db.sql`select started_at from edgejobs.jobs where id = ${claimedId}`;
  expect(second!.started_at.getTime() - killedAt).toBeLessThan(2_000 + 5_000);
  const [row] = await db.sql`select * from edgejobs.jobs where id = ${claimedId}`;
  expect(row).toMatchObject({ status: 'completed', attempts: 2, result: { attempt: 2 } });
  expect(row!.errors).toEqual([expect.objectContaining({ code: 'lease_expired', attempt: 1 })]);
});
