/**
 * Runs one claimed job's handler and decides what happened to it: completed, failed (retryable
 * or permanent), handed back, or abandoned (lease lost). Owns the job's timeout and the grace
 * period a handler gets to stop after an abort. Never touches the store.
 */
import { EdgeJobsError, PermanentError, RetryLaterError, serializeError, type ErrorJson } from './errors.ts';
import { parseWith, type AnyJobDefinition, type JobContext } from './job.ts';
import { assertStorableJson } from './json-value.ts';
import type { ClaimedJob } from './store.ts';

/** What became of one run. */
export type RunOutcome =
  | { kind: 'completed'; result: unknown; durationMs: number }
  | { kind: 'failed'; error: ErrorJson; permanent: boolean; retryAt?: Date; durationMs: number }
  | { kind: 'handed_back'; durationMs: number }
  | { kind: 'abandoned'; durationMs: number };

/** Reasons the drain aborts a running job; `code` decides the outcome. */
export type AbortCode = 'deadline' | 'aborted' | 'cancelled' | 'timeout' | 'lease_lost';

export function abortReason(code: AbortCode, message: string): EdgeJobsError {
  return new EdgeJobsError(code, message);
}

/**
 * An AbortController made on first use. Most fast jobs never look at their signal and are never
 * aborted, and an AbortController (with its signal) was the largest single JavaScript cost of a
 * no-op job.
 */
export class LazyAbort {
  private controller: AbortController | undefined;
  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }
  get aborted(): boolean {
    return this.controller?.signal.aborted ?? false;
  }
  get reason(): unknown {
    return this.controller?.signal.reason;
  }
  abort(reason: unknown): void {
    (this.controller ??= new AbortController()).abort(reason);
  }
}

export interface RunJobOptions {
  job: ClaimedJob;
  definition: AnyJobDefinition;
  /** The run's abort switch; the handler sees its signal as `context.signal`. */
  abort: LazyAbort;
  /** The handler's context (progress/checkpoint are the drain's); `signal` must be `abort.signal`. */
  context: JobContext;
  /** How long an aborted handler may take to settle before the drain moves on. */
  graceMs: number;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };
const settle = (p: Promise<unknown>): Promise<Settled> => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof (v as { then?: unknown } | null)?.then === 'function';
const sleep = (ms: number) => new Promise<null>((resolve) => setTimeout(() => resolve(null), ms));

/**
 * Runs the handler; never throws. A synchronous handler's outcome is returned directly (no
 * promise, no abort race to set up); an asynchronous one's as a promise.
 */
export function runJob({ job, definition, abort, context, graceMs }: RunJobOptions): RunOutcome | Promise<RunOutcome> {
  const started = Date.now();

  let input: unknown;
  try {
    // Input that no longer matches its schema will not match on a retry either: permanent.
    input = parseWith(definition.input, job.input, `input of "${job.type}" job ${job.id}`);
  } catch (error) {
    return { kind: 'failed', error: serializeError(error, { stack: false }), permanent: true, durationMs: Date.now() - started };
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  if (definition.timeoutMs !== undefined) {
    timer = setTimeout(() => abort.abort(abortReason('timeout', `timed out after ${definition.timeoutMs} ms`)), definition.timeoutMs);
  }
  let returned: unknown;
  try {
    returned = definition.handler(input, context);
  } catch (error) {
    clearTimeout(timer);
    return outcomeOf(job, definition, abort, { ok: false, error }, started);
  }
  if (!isThenable(returned)) {
    clearTimeout(timer);
    return outcomeOf(job, definition, abort, { ok: true, value: returned }, started);
  }
  return (async () => {
    const signal = abort.signal;
    const handled = settle(Promise.resolve(returned));
    const aborted = new Promise<'aborted'>((resolve) => {
      if (signal.aborted) resolve('aborted');
      else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    let settled: Settled | 'aborted' = await Promise.race([handled, aborted]);
    if (settled === 'aborted') {
      // Give the handler a moment to see the abort, save a checkpoint and return or throw.
      settled = (await Promise.race([handled, sleep(graceMs)])) ?? 'aborted';
    }
    clearTimeout(timer);
    return outcomeOf(job, definition, abort, settled, started);
  })();
}

function outcomeOf(job: ClaimedJob, definition: AnyJobDefinition, abort: LazyAbort, settled: Settled | 'aborted', started: number): RunOutcome {
  const elapsed = () => Date.now() - started;
  const reason = abort.aborted ? abort.reason : undefined;
  const reasonCode = reason instanceof EdgeJobsError ? reason.code : undefined;

  if (settled !== 'aborted' && settled.ok && reasonCode !== 'lease_lost') {
    try {
      if (definition.output) parseWith(definition.output, settled.value, `result of "${job.type}" job ${job.id}`);
      // A result Postgres cannot store would fail the whole batch's write, and every retry.
      assertStorableJson(settled.value, 'result');
    } catch (error) {
      // The same input would give the same bad result: do not retry.
      return { kind: 'failed', error: serializeError(error, { stack: false }), permanent: true, durationMs: elapsed() };
    }
    return { kind: 'completed', result: settled.value === undefined ? null : settled.value, durationMs: elapsed() };
  }

  switch (reasonCode) {
    case 'deadline':
    case 'aborted':
      return { kind: 'handed_back', durationMs: elapsed() };
    case 'lease_lost':
      return { kind: 'abandoned', durationMs: elapsed() };
    case 'cancelled':
    case 'timeout':
      // fail_jobs turns a cancel-requested job into cancelled; a timeout is retried.
      return { kind: 'failed', error: serializeError(reason, { stack: false }), permanent: reasonCode === 'cancelled', durationMs: elapsed() };
    default:
      break;
  }
  const error = settled === 'aborted' ? new EdgeJobsError('internal', 'aborted without a reason') : settled.ok ? null : settled.error;
  return {
    kind: 'failed',
    error: serializeError(error),
    permanent: error instanceof PermanentError,
    ...(error instanceof RetryLaterError ? { retryAt: error.retryAt } : {}),
    durationMs: elapsed(),
  };
}
