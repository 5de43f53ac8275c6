/**
 * For `npm run bench` only (EDGEJOBS_BENCH_FLOOR=1): the same enqueue route as the app's, on a
 * store that answers without the database: the upper bound an enqueue route can reach on this
 * server. Served by the app at POST /api/bench/floor (404 unless the variable is set).
 */
import { createJobRoutes, type JobRoutes } from '../lib/http/routes.ts';
import { jobs } from '../app/_server/edgejobs.ts';
import { demoRegistry } from '../app/_server/demo-jobs.ts';

const cache = globalThis as typeof globalThis & { __edgejobsFloor?: JobRoutes };

export function floorRoutes(): JobRoutes | null {
  if (process.env.EDGEJOBS_BENCH_FLOOR !== '1') return null;
  // Built once, like the app's routes: the floor must not pay a setup per request the real route does not.
  cache.__edgejobsFloor ??= buildFloor();
  return cache.__edgejobsFloor;
}

function buildFloor(): JobRoutes {
  const floor = {
    async enqueueJobs(specs: Array<{ type: string }>) {
      const now = new Date();
      return specs.map((s) => ({ id: crypto.randomUUID(), type: s.type, queue: 'default', status: 'queued' as const, priority: 0, runAt: now, createdAt: now, idempotencyKey: null, replayed: false }));
    },
  };
  const stores = { adapter: 'postgres' as const, service: floor as never, forUser: async () => floor as never, stop: async () => {} };
  // No registration: the floor has no database to write the registry to.
  return createJobRoutes({ registry: demoRegistry, stores, auth: jobs.authenticator(), registerJobTypes: false });
}
