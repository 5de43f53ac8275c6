/** Job types for the drain tests: each records what happened so tests can check it. */
import { z } from 'zod';
import { defineJob, createRegistry } from '../../lib/job.ts';
import { PermanentError } from '../../lib/errors.ts';

/** Calls per job id, across every drain in this process. */
export const runs = new Map<string, number>();
const count = (id: string) => runs.set(id, (runs.get(id) ?? 0) + 1);

export const echo = defineJob({
  type: 'test.echo',
  input: z.object({ n: z.number().int() }),
  output: z.object({ doubled: z.number() }),
  handler: ({ n }, ctx) => {
    count(ctx.job.id);
    return { doubled: n * 2 };
  },
});

export const flaky = defineJob({
  type: 'test.flaky',
  input: z.object({ failTimes: z.number().int() }),
  retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
  handler: ({ failTimes }, ctx) => {
    count(ctx.job.id);
    if (ctx.job.attempt <= failTimes) throw new Error(`flaky failure ${ctx.job.attempt}`);
    return { attempt: ctx.job.attempt };
  },
});

export const permanent = defineJob({
  type: 'test.permanent',
  input: z.object({}),
  retry: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1 },
  handler: (_input, ctx) => {
    count(ctx.job.id);
    throw new PermanentError('this input can never work', { code: 'bad_file' });
  },
});

/** Works in steps, saving a checkpoint after each (or every `checkpointEvery`); honours its AbortSignal. */
export const stepper = defineJob({
  type: 'test.stepper',
  input: z.object({ steps: z.number().int().positive(), stepMs: z.number().int().nonnegative(), checkpointEvery: z.number().int().positive().default(1) }),
  handler: async ({ steps, stepMs, checkpointEvery }, ctx) => {
    count(ctx.job.id);
    const start = (ctx.lastCheckpoint as { done?: number } | undefined)?.done ?? 0;
    for (let done = start; done < steps; ) {
      await new Promise((resolve) => setTimeout(resolve, stepMs));
      ctx.signal.throwIfAborted();
      done++;
      ctx.progress({ done, steps });
      if (done % checkpointEvery === 0) await ctx.checkpoint({ done });
    }
    return { resumedFrom: start, steps };
  },
});

/** Runs until aborted (cancel, timeout, deadline) — or, with ignoreAbort, forever. */
export const hang = defineJob({
  type: 'test.hang',
  input: z.object({ ignoreAbort: z.boolean().default(false) }),
  retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
  timeoutMs: 60_000,
  handler: ({ ignoreAbort }, ctx) => {
    count(ctx.job.id);
    return new Promise((_resolve, reject) => {
      if (!ignoreAbort) ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
    });
  },
});

/** Synchronous and CPU-bound: busy for `ms` without yielding. */
export const busy = defineJob({
  type: 'test.busy',
  input: z.object({ ms: z.number().int().positive() }),
  handler: ({ ms }, ctx) => {
    count(ctx.job.id);
    const end = performance.now() + ms;
    while (performance.now() < end);
    return null;
  },
});

export const slowTimeout = defineJob({
  type: 'test.timeout',
  input: z.object({}),
  retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
  timeoutMs: 200,
  handler: (_input, ctx) => {
    count(ctx.job.id);
    return new Promise(() => {}); // ignores its signal: the drain must not wait for it
  },
});

/** Blocks until the test releases it. */
export const gates = new Map<string, () => void>();
export const gated = defineJob({
  type: 'test.gated',
  input: z.object({}),
  handler: async (_input, ctx) => {
    count(ctx.job.id);
    await new Promise<void>((resolve) => gates.set(ctx.job.id, resolve));
    return { finishedBy: ctx.job.attempt };
  },
});

/** Handlers of each queue running right now, and the most seen at once. */
export const inFlight = new Map<string, { now: number; max: number }>();

/** Sleeps `ms`, counting how many sleepers of its queue run at once (see `inFlight`). */
export const sleeper = defineJob({
  type: 'test.sleep',
  input: z.object({ ms: z.number().int().nonnegative() }),
  handler: async ({ ms }, ctx) => {
    count(ctx.job.id);
    const q = inFlight.get(ctx.job.queue) ?? { now: 0, max: 0 };
    inFlight.set(ctx.job.queue, q);
    q.now++;
    q.max = Math.max(q.max, q.now);
    try {
      await new Promise((resolve) => setTimeout(resolve, ms));
    } finally {
      q.now--;
    }
    return { slept: ms };
  },
});

/** Reports progress row by row, checkpoints every `checkpointEvery` rows, and fails at `failAt` (the CSV import that breaks on a row). */
export const importer = defineJob({
  type: 'test.import',
  input: z.object({ rows: z.number().int().positive(), failAt: z.number().int().positive(), checkpointEvery: z.number().int().positive() }),
  handler: async ({ rows, failAt, checkpointEvery }, ctx) => {
    count(ctx.job.id);
    for (let row = 1; row <= rows; row++) {
      if (row === failAt) throw new PermanentError(`row ${row} is malformed`, { code: 'bad_row' });
      ctx.progress({ row });
      if (row % checkpointEvery === 0) await ctx.checkpoint({ row });
    }
    return { rows };
  },
});

export const registry = createRegistry([echo, flaky, permanent, stepper, hang, busy, slowTimeout, gated, sleeper, importer]);
