/**
 * Runs one claimed job's handler and decides what happened to it: completed, failed (retryable
 * or permanent), handed back, or abandoned (lease lost). Owns the job's AbortController, its
 * timeout, and the grace period a handler gets to stop after an abort. Never touches the store.
 */
import { EdgeJobsError, PermanentError, RetryLaterError, serializeError, type ErrorJson } from './errors.ts';
import { parseWith, type AnyJobDefinition, type JobContext } from './job.ts';
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

export interface RunJobOptions {
  job: ClaimedJob;
  definition: AnyJobDefinition;
  controller: AbortController;
  /** The handler's context (progress/checkpoint are the drain's); its signal is the controller's, or is added. */
  context: Omit<JobContext, 'signal'> | JobContext;
  /** How long an aborted handler may take to settle before the drain moves on. */
  graceMs: number;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };
const settle = (p: Promise<unknown>): Promise<Settled> => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof (v as { then?: unknown } | null)?.then === 'function';
const sleep = (ms: number) => new Promise<null>((resolve) => setTimeout(() => resolve(null), ms));

/** Runs the handler; never throws. */
export async function runJob({ job, definition, controller, context, graceMs }: RunJobOptions): Promise<RunOutcome> {
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  const signal = controller.signal;

  let input: unknown;
  try {
    // Input that no longer matches its schema will not match on a retry either: permanent.
    input = parseWith(definition.input, job.input, `input of "${job.type}" job ${job.id}`);
  } catch (error) {
    return { kind: 'failed', error: serializeError(error, { stack: false }), permanent: true, durationMs: elapsed() };
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  if (definition.timeoutMs !== undefined) {
    timer = setTimeout(() => controller.abort(abortReason('timeout', `timed out after ${definition.timeoutMs} ms`)), definition.timeoutMs);
  }
  const handlerContext = (context as JobContext).signal === signal ? (context as JobContext) : { ...context, signal };
  let settled: Settled | 'aborted';
  let returned: unknown;
  try {
    returned = definition.handler(input, handlerContext);
  } catch (error) {
    returned = Promise.reject(error);
  }
  if (!isThenable(returned)) {
    // A synchronous handler is done already: no race with the abort signal to set up (this is
    // most of the cost of a fast job on the JavaScript side).
    settled = { ok: true, value: returned };
  } else {
    const handled = settle(Promise.resolve(returned));
    const aborted = new Promise<'aborted'>((resolve) => {
      if (signal.aborted) resolve('aborted');
      else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    settled = await Promise.race([handled, aborted]);
    if (settled === 'aborted') {
      // Give the handler a moment to see the abort, save a checkpoint and return or throw.
      settled = (await Promise.race([handled, sleep(graceMs)])) ?? 'aborted';
    }
  }
  clearTimeout(timer);

  const reason = signal.aborted ? (signal.reason as unknown) : undefined;
  const reasonCode = reason instanceof EdgeJobsError ? reason.code : undefined;

  if (settled !== 'aborted' && settled.ok && reasonCode !== 'lease_lost') {
    if (definition.output) {
      try {
        parseWith(definition.output, settled.value, `result of "${job.type}" job ${job.id}`);
      } catch (error) {
        // The same input would give the same bad result: do not retry.
        return { kind: 'failed', error: serializeError(error, { stack: false }), permanent: true, durationMs: elapsed() };
      }
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
