/**
 * The time-box workload inside Deno, the Edge Function's runtime: one drain with a deadline over
 * queued jobs of 100–500 ms with large inputs, sampling the process's memory every 20 ms. Run by
 * bench/edgejobs-only.ts with the function's own deno.json (its npm: imports); prints one JSON
 * line. Environment: EDGEJOBS_BENCH_DB_URL, EDGEJOBS_BENCH_TIME_BOX_MS.
 */
import { z } from 'zod';
import { createPostgresStore } from '../lib/postgres-store.ts';
import { createRegistry, defineJob } from '../lib/job.ts';
import { drain } from '../lib/drain.ts';
import { silentLogger } from '../lib/logger.ts';

interface DenoRuntime {
  env: { get(name: string): string | undefined };
  memoryUsage(): { rss: number; heapUsed: number };
}
// Typed here so that Node's tsc (which checks bench/) and deno check both accept the file.
const runtime = (globalThis as unknown as { Deno: DenoRuntime }).Deno;

const url = runtime.env.get('EDGEJOBS_BENCH_DB_URL');
const timeBoxMs = Number(runtime.env.get('EDGEJOBS_BENCH_TIME_BOX_MS') ?? '10000');
if (!url) throw new Error('EDGEJOBS_BENCH_DB_URL is not set');

let busyMs = 0;
let inputBytes = 0;
const registry = createRegistry([defineJob({
  type: 'work',
  input: z.object({ ms: z.number(), data: z.string() }),
  handler: async ({ ms, data }, ctx) => {
    inputBytes = Math.max(inputBytes, data.length);
    const started = performance.now();
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, ms);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(ctx.signal.reason);
        }, { once: true });
      });
    } finally {
      busyMs += performance.now() - started;
    }
    return null;
  },
})]);

// As the function runs it: SUPABASE_DB_URL through the pooler needs prepare: false.
const store = createPostgresStore({ url, max: 4, prepare: false });
await store.countRunningWorkers(); // connect before the baseline
const mib = (bytes: number) => bytes / 2 ** 20;
const baseline = runtime.memoryUsage();
let peakRss = baseline.rss;
let peakHeap = baseline.heapUsed;
const sampler = setInterval(() => {
  const m = runtime.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
}, 20);

const deadline = Date.now() + timeBoxMs;
const summary = await drain({ store, registry, deadline, concurrency: 10, logger: silentLogger });
const end = Date.now();
clearInterval(sampler);
await store.stop();
console.log(JSON.stringify({
  busyShare: busyMs / (10 * timeBoxMs),
  lastHandBackMs: end - deadline,
  completed: summary.completed,
  handedBack: summary.handedBack,
  inputKiB: inputBytes / 1024,
  baselineRssMiB: mib(baseline.rss),
  peakRssMiB: mib(peakRss),
  peakHeapMiB: mib(peakHeap),
}));
