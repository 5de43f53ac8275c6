/**
 * The job type of the chaos test (tests/e2e/chaos.test.ts), loaded by `edgejobs worker` (the
 * package's bin): each run writes a row to chaos.runs (which job, which attempt, which
 * process) on a connection of its own, then sleeps a while. Writing the row outlives a short
 * database outage (it retries for up to 15 s).
 */
import postgres from 'postgres';
import { z } from 'zod';
import { createRegistry, defineJob } from 'edgejobs';
import { reconnectDelaySeconds } from '../../lib/postgres-store.ts';

const sql = postgres(process.env.DATABASE_URL as string, { max: 3, onnotice: () => {}, backoff: reconnectDelaySeconds });

async function record(jobId: string, attempt: number) {
  for (const end = Date.now() + 15_000; ;) {
    try {
      await sql`insert into chaos.runs (job_id, attempt, pid) values (${jobId}, ${attempt}, ${process.pid})`;
      return;
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export const registry = createRegistry([
  defineJob({
    type: 'chaos.record',
    input: z.object({ ms: z.number().int().nonnegative() }),
    handler: async ({ ms }, ctx) => {
      await record(ctx.job.id, ctx.job.attempt);
      await new Promise((r) => setTimeout(r, ms));
      return { pid: process.pid };
    },
  }),
]);
