/**
 * Job definitions: one `defineJob()` per job type, with a zod schema for its input (and
 * optionally its output), its handler and its retry policy; `createRegistry()` collects them.
 */
import type { z } from 'zod';
import { EdgeJobsError, ValidationError, type ValidationIssue } from './errors.ts';
import { JOB_TYPE_PATTERN, QUEUE_PATTERN, isWebhookUrl } from './limits.ts';
import type { Logger } from './logger.ts';
import type { EnqueueOptions } from './queue.ts';

/** What a handler knows about the job it runs. */
export interface JobInfo {
  id: string;
  type: string;
  queue: string;
  priority: number;
  /** This run's number, starting at 1 (a deadline hand-back does not count). */
  attempt: number;
  /** Most runs the job gets, counting the first. */
  maxAttempts: number;
  createdAt: Date;
  runAt: Date;
  idempotencyKey: string | null;
  /** auth.uid() of the user who enqueued the job, or null when the server did. */
  ownerId: string | null;
}

/** The second argument of every handler. */
export interface JobContext {
  job: JobInfo;
  /** Aborted when the job times out, is cancelled, loses its lease, or the drain must stop. */
  signal: AbortSignal;
  /** Epoch ms by which this run must end (the job timeout or the drain's stop time). */
  deadline: number;
  /** The checkpoint saved by an earlier run of this job, or undefined on a fresh start. */
  lastCheckpoint: unknown;
  /**
   * A key for side effects that must happen once (payment, email): the job's idempotency key,
   * else its id. It is the same on every retry, because handlers run at least once.
   */
  idempotencyKey: string;
  /** Report progress (any JSON). Cheap: buffered and written a few times per second. */
  progress(value: unknown): void;
  /**
   * Save a checkpoint (any JSON) now; a later run (after a deadline, crash or retry) gets it as
   * `lastCheckpoint`. Rejects with `lease_lost` if this worker no longer owns the job.
   */
  checkpoint(value: unknown): Promise<void>;
  /**
   * Enqueue a follow-up job with this run's completion: it is written in the same transaction as
   * the result, only if the job completes (a failed, timed-out or handed-back run enqueues
   * nothing; its next run enqueues again), and records this job as its parent. The type must be
   * in this worker's registry; the input and options are checked here and throw at once (up to
   * 1000 per run). The child belongs to this job's owner.
   */
  enqueue(type: string, input: unknown, options?: EnqueueOptions): void;
  log: Logger;
}

/** Retry policy of a job type. */
export interface RetryPolicy {
  /** Most runs, counting the first (1-1000). Default 3. */
  maxAttempts?: number;
  /** Delay before the second run; then times `factor` each time (+-25% jitter). Default 1000 ms. */
  baseDelayMs?: number;
  /** Cap on the delay. Default 3,600,000 ms (an hour). */
  maxDelayMs?: number;
  /**
   * Each retry waits this many times longer than the one before (1-100). Default 2:
   * `{ baseDelayMs: 5000, factor: 5 }` waits 5 s, 25 s, 125 s (each +-25%), up to maxDelayMs.
   */
  factor?: number;
}

export interface JobDefinitionInput<T extends string, I extends z.ZodType, O extends z.ZodType | undefined> {
  /** Unique name (1-128 characters: letters, digits, _ . : / -). */
  type: T;
  /** Schema of the input; enqueue refuses input that does not parse, before storing anything. */
  input: I;
  /** Optional schema of the result; a result that does not parse fails the job for good. */
  output?: O;
  /** The work. Return the result (JSON); throw to fail the attempt. */
  handler: (input: z.output<I>, ctx: JobContext) => Promise<HandlerResult<O>> | HandlerResult<O>;
  retry?: RetryPolicy;
  /** Abort the run after this long (it is then retried). Default: only the drain's deadline. */
  timeoutMs?: number;
  /** Default queue for jobs of this type. Default 'default'. */
  queue?: string;
  /** Default priority (higher first). Default 0. */
  priority?: number;
  /** How long a finished job is kept (result, idempotency key). Default 7 days. */
  keepForMs?: number;
  /**
   * Besides keepForMs: keep at most this many completed and failed jobs of the type, the latest
   * (BullMQ's removeOnComplete / removeOnFail counts). Applied by purge_jobs (the hourly purge).
   * A job deleted by count goes before its keepForMs: its idempotency key can be used again.
   */
  keep?: { completed?: number; failed?: number };
  /**
   * A singleton key for every job of the type (a string, or one made from the parsed input): while
   * one with the key is queued or processing, enqueue answers it instead of storing another. An
   * enqueue's own `singletonKey` wins.
   */
  singletonKey?: string | ((input: z.output<I>) => string);
  /**
   * Whether signed-in users may enqueue it themselves, through the routes or `supabase.rpc()`.
   * Default true; false leaves it to the server (the service role). Enforced by the routes and,
   * once the type is registered, by the database.
   */
  allowUsers?: boolean;
  /**
   * Whether anonymous users (Supabase anonymous sign-ins, guest cookies) may enqueue it, through
   * the routes or `supabase.rpc()`. Default false.
   */
  allowAnonymous?: boolean;
  /**
   * POST each job's end (completed, failed, cancelled) to this URL, signed the Standard Webhooks
   * way with EDGEJOBS_WEBHOOK_SECRET; delivered by a worker as a job of its own (retried). An
   * enqueue's `webhookUrl` (server only) wins. See docs/webhooks.md.
   */
  webhook?: string;
}

type HandlerResult<O> = O extends z.ZodType ? z.input<O> : unknown;

/** A job type, as returned by {@link defineJob}. */
export interface JobDefinition<T extends string = string, I extends z.ZodType = z.ZodType, O extends z.ZodType | undefined = z.ZodType | undefined>
  extends JobDefinitionInput<T, I, O> {
  readonly kind: 'edgejobs.job';
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJobDefinition = JobDefinition<string, any, any>;


/**
 * Declares a job type. Checks its settings at once and throws a `configuration` error naming
 * the bad one.
 * @example
 * export const generateReport = defineJob({
 *   type: 'report.generate',
 *   input: z.object({ rows: z.array(z.number()) }),
 *   retry: { maxAttempts: 5 },
 *   async handler({ rows }, ctx) {
 *     ctx.progress({ percent: 50 })
 *     return { total: rows.reduce((a, b) => a + b, 0) }
 *   },
 * })
 */
export function defineJob<T extends string, I extends z.ZodType, O extends z.ZodType | undefined = undefined>(
  definition: JobDefinitionInput<T, I, O>,
): JobDefinition<T, I, O> {
  const fail = (what: string) => {
    throw new EdgeJobsError('configuration', `defineJob(${JSON.stringify(definition.type)}): ${what}`);
  };
  if (typeof definition.type !== 'string' || !JOB_TYPE_PATTERN.test(definition.type)) fail('type must be 1-128 characters: letters, digits, _ . : / -');
  if (!definition.input || typeof (definition.input as { safeParse?: unknown }).safeParse !== 'function') fail('input must be a zod schema');
  if (typeof definition.handler !== 'function') fail('handler must be a function');
  if (definition.queue !== undefined && !QUEUE_PATTERN.test(definition.queue)) fail('queue must be 1-64 characters: letters, digits, _ . : -');
  const retry = definition.retry ?? {};
  if (retry.maxAttempts !== undefined && !(Number.isInteger(retry.maxAttempts) && retry.maxAttempts >= 1 && retry.maxAttempts <= 1000)) fail('retry.maxAttempts must be an integer from 1 to 1000');
  // The same bounds as the database's (enqueue and register_job_types).
  if (retry.baseDelayMs !== undefined && !(retry.baseDelayMs >= 1 && retry.baseDelayMs <= 86_400_000)) fail('retry.baseDelayMs must be from 1 to 86,400,000 (a day)');
  if (retry.maxDelayMs !== undefined && !(retry.maxDelayMs <= 2_592_000_000)) fail('retry.maxDelayMs must be at most 2,592,000,000 (30 days)');
  if (retry.factor !== undefined && !(retry.factor >= 1 && retry.factor <= 100)) fail('retry.factor must be from 1 to 100');
  if (!((retry.maxDelayMs ?? 3_600_000) >= (retry.baseDelayMs ?? 1000))) fail('retry.maxDelayMs (default 3,600,000) must be at least retry.baseDelayMs');
  if (definition.timeoutMs !== undefined && !(definition.timeoutMs > 0)) fail('timeoutMs must be positive');
  if (definition.priority !== undefined && !(Number.isInteger(definition.priority) && Math.abs(definition.priority) <= 1_000_000)) fail('priority must be an integer between -1000000 and 1000000');
  if (definition.keepForMs !== undefined && !(definition.keepForMs >= 1000 && definition.keepForMs <= 315_360_000_000)) fail('keepForMs must be from 1,000 to 315,360,000,000 (ten years)');
  for (const kind of ['completed', 'failed'] as const) {
    const n = definition.keep?.[kind];
    if (n !== undefined && !(Number.isInteger(n) && n >= 0 && n <= 1_000_000)) fail(`keep.${kind} must be an integer from 0 to 1,000,000`);
  }
  if (typeof definition.singletonKey === 'string' && !(definition.singletonKey.length >= 1 && definition.singletonKey.length <= 255)) fail('singletonKey must be 1-255 characters');
  if (definition.singletonKey !== undefined && typeof definition.singletonKey !== 'string' && typeof definition.singletonKey !== 'function') fail('singletonKey must be a string or a function of the input');
  if (definition.webhook !== undefined && !isWebhookUrl(definition.webhook)) fail('webhook must be an http(s) URL without a user name or password, at most 2048 characters, like https://example.com/hooks/jobs');
  if (definition.allowUsers === false && definition.allowAnonymous) fail('allowAnonymous needs allowUsers (anonymous users are users)');
  return Object.freeze({ ...definition, kind: 'edgejobs.job' as const });
}

/** A job type's enqueue defaults, in the store's terms (undefined: the SQL default). */
export function enqueueDefaults(definition: AnyJobDefinition): {
  queue?: string; priority?: number; maxAttempts?: number; backoffBaseMs?: number; backoffMaxMs?: number; keepForMs?: number;
} {
  return {
    queue: definition.queue,
    priority: definition.priority,
    maxAttempts: definition.retry?.maxAttempts,
    backoffBaseMs: definition.retry?.baseDelayMs,
    backoffMaxMs: definition.retry?.maxDelayMs,
    keepForMs: definition.keepForMs,
  };
}

/** The job types a worker can run and a client can enqueue. */
export interface JobRegistry<D extends AnyJobDefinition = AnyJobDefinition> {
  /** The definition of a type, or undefined. */
  get(type: string): D | undefined;
  /** The definition of a type; throws `unknown_job_type` if there is none. */
  require(type: string): D;
  /** Every registered type name. */
  types(): string[];
  readonly definitions: readonly D[];
}

/**
 * Collects job definitions; a type registered twice throws.
 * @example
 * export const registry = createRegistry([generateReport, importCsv])
 */
export function createRegistry<const D extends readonly AnyJobDefinition[]>(definitions: D): JobRegistry<D[number]> {
  const byType = new Map<string, D[number]>();
  for (const definition of definitions) {
    if (definition?.kind !== 'edgejobs.job') throw new EdgeJobsError('configuration', 'createRegistry: every entry must come from defineJob()');
    if (byType.has(definition.type)) throw new EdgeJobsError('configuration', `createRegistry: job type "${definition.type}" is defined twice`);
    byType.set(definition.type, definition);
  }
  return {
    get: (type) => byType.get(type),
    require(type) {
      const definition = byType.get(type);
      if (!definition) {
        throw new EdgeJobsError('unknown_job_type', `unknown job type "${type}"; known types: ${[...byType.keys()].join(', ') || '(none)'}`, { details: { type } });
      }
      return definition;
    },
    types: () => [...byType.keys()],
    definitions,
  };
}

/** Parses a value with a zod schema, or throws a {@link ValidationError} listing every issue. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  // An unknown key is an issue at that key (`options.bogus`), not at the object that holds it.
  const issues = parsed.error.issues.flatMap((issue): ValidationIssue[] => issue.code === 'unrecognized_keys'
    ? issue.keys.map((key) => ({ path: [...issue.path, key].map(String).join('.'), message: `unknown key "${key}"`, code: issue.code }))
    : [{ path: issue.path.map(String).join('.'), message: issue.message, code: issue.code }]);
  const first = issues[0];
  const summary = first ? `${first.path ? `${first.path}: ` : ''}${first.message}` : 'invalid';
  throw new ValidationError(`${what} is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'}; first: ${summary})`, issues);
}
