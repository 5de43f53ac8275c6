/** edgejobs: the direct store, drain() with its largest batches, the worker loop's wake-up paths. */
import { z } from 'zod';
import { createPostgresStore } from '../../lib/postgres-store.ts';
import { createQueue } from '../../lib/queue.ts';
import { createRegistry, defineJob } from '../../lib/job.ts';
import { drain } from '../../lib/drain.ts';
import { registerJobTypes } from '../../lib/job-types.ts';
import { createWakeup, runDrainLoop } from '../../lib/drain-loop.ts';
import { silentLogger } from '../../lib/logger.ts';
import type { Contender } from './types.ts';

const BATCH = 1_000;

export async function edgejobsContender(url: string): Promise<Contender> {
  const store = createPostgresStore({ url, max: 10 });
  let onPicked: ((payload: Record<string, unknown>) => void) | null = null;
  const noop = defineJob({ type: 'noop', input: z.record(z.string(), z.unknown()), handler: (input) => { onPicked?.(input); return null; } });
  const registry = createRegistry([noop]);
  const queue = createQueue({ store, registry });
  // As an app does at start (the routes before their first enqueue, every worker's first drain):
  // enqueue then applies the registry's rules and defaults, the path production takes.
  await registerJobTypes(store, registry, { workerName: 'bench' });

  /** An idle worker loop, woken by `waitForWork`. */
  const loop = (waitForWork: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined, pollMs: number) => async (onJob: (p: Record<string, unknown>) => void) => {
    onPicked = onJob;
    const stop = new AbortController();
    const done = runDrainLoop({ store, registry, signal: stop.signal, roundMs: 60_000, idleMs: pollMs, concurrency: 10, logger: silentLogger, ...(waitForWork ? { waitForWork } : {}) });
    return async () => {
      stop.abort();
      await done;
      onPicked = null;
    };
  };

  return {
    name: 'edgejobs',
    settings: `drain() concurrency 10, batchSize ${BATCH}; bulk enqueue in one enqueue_jobs call per 20,000`,
    async reset() {
      await store.sql`truncate edgejobs.jobs, edgejobs.worker_runs`;
      await store.sql`vacuum analyze edgejobs.jobs`;
    },
    async enqueueBulk(n) {
      const started = performance.now();
      for (let i = 0; i < n; i += 20_000) {
        await queue.enqueueMany(Array.from({ length: Math.min(20_000, n - i) }, () => ({ type: 'noop' as const, input: {} })));
      }
      return performance.now() - started;
    },
    async enqueueOne(payload) {
      await queue.enqueue('noop', payload);
    },
    async drainAll(_n, { workers, concurrency }) {
      const stores = Array.from({ length: workers }, () => createPostgresStore({ url, max: 4 }));
      const started = performance.now();
      await Promise.all(stores.map((s) => drain({ store: s, registry, deadline: Date.now() + 600_000, concurrency, batchSize: BATCH, logger: silentLogger })));
      const ms = performance.now() - started;
      await Promise.all(stores.map((s) => s.stop()));
      return ms;
    },
    pickupPaths: {
      'LISTEN/NOTIFY': async (onJob) => {
        const wakeup = createWakeup();
        const { unlisten } = await store.sql.listen('edgejobs_jobs', () => wakeup.notify());
        const stopLoop = await loop(wakeup.waitForWork, 30_000)(onJob);
        return async () => {
          await stopLoop();
          await unlisten();
        };
      },
      'polling (250 ms)': loop(undefined, 250),
    },
    async close() {
      await store.stop();
    },
  };
}
