/** graphile-worker 0.17 (the last line for Node 20) at its documented fastest: local queue batching, batched completion. */
import { Logger, makeWorkerUtils, run, runMigrations, type Runner, type WorkerUtils } from 'graphile-worker';

const quiet = new Logger(() => () => {});
import postgres from 'postgres';
import type { Contender } from './types.ts';

const LOCAL_QUEUE = 500;

export async function graphileContender(url: string): Promise<Contender> {
  await runMigrations({ connectionString: url, logger: quiet });
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString: url, logger: quiet });
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  let onPicked: ((payload: Record<string, unknown>) => void) | null = null;
  const preset = { worker: { localQueue: { size: LOCAL_QUEUE }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } };
  const start = (concurrency: number, pollInterval = 2_000): Promise<Runner> => run({
    connectionString: url, concurrency, noHandleSignals: true, pollInterval,
    taskList: { noop: async (payload) => { onPicked?.(payload as Record<string, unknown>); } },
    preset,
    logger: quiet,
  } as Parameters<typeof run>[0]);
  const remaining = async () => Number((await sql`select count(*)::int as n from graphile_worker._private_jobs`)[0]!.n);

  return {
    name: 'graphile-worker',
    settings: `run() concurrency 10, preset.worker.localQueue.size ${LOCAL_QUEUE}, completeJobBatchDelay 0, failJobBatchDelay 0; bulk via addJobs`,
    async reset() {
      await sql`delete from graphile_worker._private_jobs`;
      await sql`vacuum analyze graphile_worker._private_jobs`;
    },
    async enqueueBulk(n) {
      const started = performance.now();
      for (let i = 0; i < n; i += 20_000) {
        await utils.addJobs(Array.from({ length: Math.min(20_000, n - i) }, () => ({ identifier: 'noop', payload: {} })));
      }
      return performance.now() - started;
    },
    async enqueueOne(payload) {
      await utils.addJob('noop', payload);
    },
    async drainAll(_n, { workers, concurrency }) {
      const started = performance.now();
      const runners = await Promise.all(Array.from({ length: workers }, () => start(concurrency, 100)));
      while ((await remaining()) > 0) await new Promise((r) => setTimeout(r, 10));
      const ms = performance.now() - started;
      await Promise.all(runners.map((r) => r.stop()));
      return ms;
    },
    pickupPaths: {
      'LISTEN/NOTIFY': async (onJob) => {
        onPicked = onJob;
        const runner = await start(10);
        return async () => {
          await runner.stop();
          onPicked = null;
        };
      },
    },
    async close() {
      await utils.release();
      await sql.end({ timeout: 1 });
    },
  };
}
