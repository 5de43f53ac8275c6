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

it('a job whose worker process was killed is back in the queue within one lease and finished by another drain', async () => {
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
  // A drain started right away finds nothing claimable; drains keep coming (like pg_cron ticks)
  // until the 2 s lease has expired and the reaper returns the job.
  let completed = 0;
  while (completed === 0 && Date.now() - killedAt < 10_000) {
    const summary = await drain({ store: db.store, registry: createRegistry([finish]), deadline: Date.now() + 5_000, logger: silentLogger });
    completed = summary.completed;
    if (!completed) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(completed).toBe(1);
  expect(Date.now() - killedAt).toBeLessThan(2_000 + 3_000);
  const [row] = await db.sql`select * from edgejobs.jobs where id = ${claimedId}`;
  expect(row).toMatchObject({ status: 'completed', attempts: 2, result: { attempt: 2 } });
  expect(row!.errors).toEqual([expect.objectContaining({ code: 'lease_expired', attempt: 1 })]);
});
