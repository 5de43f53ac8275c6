/**
 * The demo's job types: real, deterministic work with no outside service. Each step waits a
 * little so a person can watch the progress bar move; every wait honours ctx.signal.
 */
import { z } from 'zod';
import { PermanentError, createRegistry, defineJob, defineSchedule } from 'edgejobs';

/** Waits `ms`, or rejects as soon as the job is aborted (timeout, cancel, deadline). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A report computed from the submitted numbers in ten steps. */
export const generateReport = defineJob({
  type: 'report.generate',
  input: z.object({
    title: z.string().trim().min(1, 'give the report a title').max(200),
    rows: z.array(z.number().finite()).min(1, 'give at least one number').max(10_000),
    stepMs: z.number().int().min(0).max(5_000).default(300),
  }),
  allowAnonymous: true,
  timeoutMs: 120_000,
  async handler({ title, rows, stepMs }, ctx) {
    const steps = 10;
    const size = Math.ceil(rows.length / steps);
    // Resumable: each step's partial sums are a checkpoint, so a run cut off by its deadline
    // goes on from the last finished step in the next run.
    const saved = ctx.lastCheckpoint as { step: number; sum: number; min: number | null; max: number | null } | undefined;
    const first = saved?.step ?? 0;
    let sum = saved?.sum ?? 0;
    let min = saved?.min ?? Infinity;
    let max = saved?.max ?? -Infinity;
    for (let step = first; step < steps; step++) {
      for (const value of rows.slice(step * size, (step + 1) * size)) {
        sum += value;
        if (value < min) min = value;
        if (value > max) max = value;
      }
      await pause(stepMs, ctx.signal);
      await ctx.checkpoint({ step: step + 1, sum, min: Number.isFinite(min) ? min : null, max: Number.isFinite(max) ? max : null });
      ctx.progress({ percent: Math.round(((step + 1) / steps) * 100), message: `step ${step + 1} of ${steps}` });
    }
    const sorted = [...rows].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    return { title, count: rows.length, sum, mean: sum / rows.length, min, max, median };
  },
});

/**
 * A CSV import in chunks, with a checkpoint after each: a long import spans several worker runs
 * (each run hands the job back at its deadline and the next resumes from the checkpoint).
 */
export const importCsv = defineJob({
  type: 'csv.import',
  input: z.object({
    csv: z.string().min(1, 'paste some CSV').max(200_000),
    chunkSize: z.number().int().min(1).max(1_000).default(20),
    chunkMs: z.number().int().min(0).max(5_000).default(250),
  }),
  allowAnonymous: true,
  async handler({ csv, chunkSize, chunkMs }, ctx) {
    const [header = '', ...lines] = csv.split(/\r?\n/).filter((l) => l.trim());
    const columns = header.split(',').map((c) => c.trim());
    const saved = (ctx.lastCheckpoint ?? null) as { offset: number; imported: number; rejected: number; totals: Record<string, number>; runs: number } | null;
    const state = saved ? { ...saved, runs: saved.runs + 1 } : { offset: 0, imported: 0, rejected: 0, totals: {} as Record<string, number>, runs: 1 };
    while (state.offset < lines.length) {
      for (const line of lines.slice(state.offset, state.offset + chunkSize)) {
        const cells = line.split(',').map((c) => c.trim());
        if (cells.length !== columns.length) {
          state.rejected++;
          continue;
        }
        state.imported++;
        cells.forEach((cell, i) => {
          const n = Number(cell);
          if (cell !== '' && Number.isFinite(n)) state.totals[columns[i]!] = (state.totals[columns[i]!] ?? 0) + n;
        });
      }
      state.offset = Math.min(lines.length, state.offset + chunkSize);
      await ctx.checkpoint(state);
      ctx.progress({ percent: Math.round((state.offset / lines.length) * 100), message: `${state.offset} of ${lines.length} rows (run ${state.runs})` });
      await pause(chunkMs, ctx.signal);
    }
    return { columns, rows: lines.length, imported: state.imported, rejected: state.rejected, totals: state.totals, workerRuns: state.runs };
  },
});

/** Fails its first `failTimes` attempts, then succeeds; with failTimes ≥ 3 it ends as failed. */
export const flakyTask = defineJob({
  type: 'flaky.task',
  input: z.object({ failTimes: z.number().int().min(0).max(5) }),
  allowAnonymous: true,
  retry: { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 4_000 },
  async handler({ failTimes }, ctx) {
    ctx.progress({ percent: 50, message: `attempt ${ctx.job.attempt} of ${ctx.job.maxAttempts}` });
    await pause(400, ctx.signal);
    if (failTimes >= 5) throw new PermanentError('asked to fail for good (failTimes = 5)', { code: 'demo_permanent' });
    if (ctx.job.attempt <= failTimes) throw new Error(`planned failure on attempt ${ctx.job.attempt} of ${failTimes}`);
    return { succeededOnAttempt: ctx.job.attempt };
  },
});

export const demoRegistry = createRegistry([generateReport, importCsv, flakyTask]);

/** A schedule to look at in the console (Schedules: pause, resume, run now): a small report at 03:00 UTC. */
export const demoSchedules = [
  defineSchedule({ name: 'nightly-report', cron: '0 3 * * *', timezone: 'UTC', job: generateReport, input: { title: 'Nightly', rows: [1, 2, 3], stepMs: 50 } }),
];
