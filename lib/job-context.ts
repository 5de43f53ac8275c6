/**
 * The context a handler gets (its second argument): the job, its abort signal and deadline, the
 * last checkpoint, and progress, checkpoint, enqueue and log helpers bound to the drain that runs it.
 */
import { EdgeJobsError } from './errors.ts';
import type { HeldJob } from './held-jobs.ts';
import type { AnyJobDefinition, JobContext, JobRegistry } from './job.ts';
import { assertStorableJson } from './json-value.ts';
import { MAX_CHILDREN_BYTES_PER_RUN, MAX_CHILDREN_PER_RUN } from './limits.ts';
import type { Logger } from './logger.ts';
import { jobSpec } from './queue.ts';
import type { LazyAbort } from './run-job.ts';
import type { ProgressOutcome } from './store.ts';

export interface JobContextOptions {
  entry: HeldJob;
  definition: AnyJobDefinition;
  /** The worker's registry: a follow-up job's type must be in it. */
  registry: JobRegistry;
  abort: LazyAbort;
  /** When the drain stops running handlers (its deadline less the hand-back margin). */
  stopAt: number;
  log: Logger;
  /** Writes a checkpoint now (and the buffered progress with it). */
  saveCheckpoint(value: unknown): Promise<ProgressOutcome>;
}

export function jobContext({ entry, definition, registry, abort, stopAt, log, saveCheckpoint }: JobContextOptions): JobContext {
  const { job } = entry;
  let jobLog: Logger | undefined;
  let childBytes = 0;
  return {
    job: {
      id: job.id, type: job.type, queue: job.queue, priority: job.priority, attempt: job.attempt,
      maxAttempts: job.maxAttempts, createdAt: job.createdAt, runAt: job.runAt,
      idempotencyKey: job.idempotencyKey, ownerId: job.ownerId,
    },
    // Made on first use, like the log: a synchronous handler rarely needs a signal.
    get signal() {
      return abort.signal;
    },
    deadline: definition.timeoutMs === undefined ? stopAt : Math.min(stopAt, Date.now() + definition.timeoutMs),
    lastCheckpoint: job.checkpoint ?? undefined,
    idempotencyKey: job.idempotencyKey ?? job.id,
    progress(value) {
      // Refused here, where the handler can see it: in the batched write it would fail every job.
      assertStorableJson(value, 'progress');
      entry.progress = value;
      entry.progressSet = true;
      entry.progressDirty = true;
    },
    async checkpoint(value) {
      assertStorableJson(value, 'checkpoint');
      const r = await saveCheckpoint(value);
      if (r.outcome === 'lease_lost') throw new EdgeJobsError('lease_lost', `job ${job.id}: the lease was lost; the checkpoint was not saved`);
    },
    enqueue(type, input, options) {
      // The children go with the completion: once the handler has ended, there is none to join.
      if (entry.state !== 'running') {
        throw new EdgeJobsError('invalid_argument', `job ${job.id}: ctx.enqueue() after the handler ended; enqueue follow-up jobs before returning`);
      }
      const children = (entry.children ??= []);
      if (children.length >= MAX_CHILDREN_PER_RUN) {
        throw new EdgeJobsError('invalid_argument', `job ${job.id}: at most ${MAX_CHILDREN_PER_RUN} follow-up jobs per run; enqueue a job that fans out instead`);
      }
      // A copy, as it will be sent: the handler may change its object after the call.
      assertStorableJson(input, 'input'); // before the copy: JSON would turn Infinity into null
      const { value, bytes } = snapshot(input, 'input');
      if (childBytes + bytes > MAX_CHILDREN_BYTES_PER_RUN) {
        throw new EdgeJobsError('invalid_argument', `job ${job.id}: the follow-up jobs' inputs exceed ${MAX_CHILDREN_BYTES_PER_RUN} bytes in all; pass references (e.g. to Supabase Storage) instead`);
      }
      const runAt = options?.runAt;
      const spec = jobSpec(registry, type, value, options && (runAt instanceof Date ? { ...options, runAt: new Date(runAt.getTime()) } : { ...options }));
      childBytes += bytes;
      children.push(spec);
    },
    // Made on first use: most handlers never log.
    get log() {
      return (jobLog ??= {
        debug: (m, f) => log.debug(m, { jobId: job.id, ...f }),
        info: (m, f) => log.info(m, { jobId: job.id, ...f }),
        warn: (m, f) => log.warn(m, { jobId: job.id, ...f }),
        error: (m, f) => log.error(m, { jobId: job.id, ...f }),
      });
    },
  };
}

const utf8 = new TextEncoder();

/** A JSON copy of a value (what the database will store) and its size in bytes. */
function snapshot(value: unknown, what: string): { value: unknown; bytes: number } {
  if (value === undefined) return { value: undefined, bytes: 2 };
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new EdgeJobsError('invalid_argument', `${what} cannot be sent as JSON: ${(error as Error).message}`);
  }
  if (text === undefined) throw new EdgeJobsError('invalid_argument', `${what} cannot be sent as JSON (a ${typeof value})`);
  return { value: JSON.parse(text), bytes: utf8.encode(text).length };
}
