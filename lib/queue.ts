/**
 * The typed enqueue API: validates input against the job type's schema before anything is
 * stored, applies the type's defaults (queue, priority, retry policy), and calls the store once.
 * On a store acting as an end user, it applies the rules the database applies to them: no
 * server-only options, and the type's defaults come from the database's registry. A handler's
 * follow-up jobs (ctx.enqueue) are made by the same {@link jobSpec}.
 */
import type { z } from 'zod';
import { EdgeJobsError } from './errors.ts';
import { enqueueDefaults, parseWith, type AnyJobDefinition, type JobRegistry } from './job.ts';
import { assertStorableJson } from './json-value.ts';
import { ENQUEUE_OPTION_CHECKS } from './limits.ts';
import type { ClientStore, EnqueueSpec, EnqueuedJob } from './store.ts';

/** Options only the server (the service role) may set; the names the routes use. */
const SERVER_ONLY_OPTIONS = ['queue', 'priority', 'maxAttempts', 'backoffBaseMs', 'backoffMaxMs', 'keepForMs', 'webhookUrl'] as const;

/** Per-call options; each overrides the job type's default. */
export type EnqueueOptions = Omit<EnqueueSpec, 'type' | 'input'>;

type InputOf<D extends AnyJobDefinition, T extends string> = z.input<Extract<D, { type: T }>['input']>;

export interface Queue<D extends AnyJobDefinition> {
  /**
   * Validates and enqueues one job. Throws `unknown_job_type`, `validation_failed` (with every
   * issue), `invalid_argument`, `input_too_large` or `idempotency_conflict`; nothing is stored then.
   */
  enqueue<T extends D['type']>(type: T, input: InputOf<D, T>, options?: EnqueueOptions): Promise<EnqueuedJob>;
  /** Many jobs in one round trip; all or nothing. */
  enqueueMany(jobs: Array<{ [T in D['type']]: { type: T; input: InputOf<D, T>; options?: EnqueueOptions } }[D['type']]>): Promise<EnqueuedJob[]>;
}

/**
 * Creates the enqueue API for a registry.
 * @example
 * const queue = createQueue({ store, registry })
 * const job = await queue.enqueue('report.generate', { rows: [1, 2, 3] }, { idempotencyKey: 'r-42' })
 */
export function createQueue<D extends AnyJobDefinition>(options: { store: ClientStore; registry: JobRegistry<D> }): Queue<D> {
  const { store, registry } = options;
  if (!store || !registry) throw new EdgeJobsError('configuration', 'createQueue: give both `store` and `registry`');
  const forUser = store.actsAs === 'user';
  const toSpec = (type: string, input: unknown, opts?: EnqueueOptions) => jobSpec(registry, type, input, opts, forUser);
  return {
    async enqueue(type, input, opts) {
      try {
        const [job] = await store.enqueueJobs([toSpec(type, input, opts)]);
        return job as EnqueuedJob;
      } catch (error) {
        // The database speaks in batches ("jobs[0] reuses idempotency key …"); one job has no index.
        if (error instanceof EdgeJobsError && /jobs\[0\]/.test(error.message)) {
          throw new EdgeJobsError(error.code, error.message.replace(/ \(jobs\[0\]\)|jobs\[0\]\.?\s?/, ''), { cause: error.cause, details: error.details, retryable: error.retryable });
        }
        throw error;
      }
    },
    async enqueueMany(jobs) {
      if (jobs.length === 0) return [];
      return store.enqueueJobs(jobs.map((j) => toSpec(j.type, j.input, j.options)));
    },
  };
}

/**
 * One job as the store takes it: the input checked against its type's schema, the options against
 * the database's bounds, the type's singleton key and (for the server) its defaults applied.
 * Throws `unknown_job_type`, `validation_failed`, `invalid_argument` or `forbidden`. The typed
 * enqueue API and a handler's `ctx.enqueue` both make their jobs here.
 */
export function jobSpec(registry: JobRegistry, type: string, input: unknown, opts: EnqueueOptions = {}, forUser = false): EnqueueSpec {
  const definition = registry.require(type);
  // What jsonb cannot hold (NUL, Infinity, absurd depth) is refused before zod walks it.
  assertStorableJson(input, 'input');
  checkOptions(opts);
  const parsed = parseWith(definition.input, input, `input of "${type}"`);
  // The type's singleton key, unless the call gives one.
  if (opts.singletonKey === undefined && definition.singletonKey !== undefined) {
    const key = typeof definition.singletonKey === 'function' ? definition.singletonKey(parsed) : definition.singletonKey;
    if (typeof key !== 'string' || key.length < 1 || key.length > 255) {
      throw new EdgeJobsError('invalid_argument', `the singleton key of "${type}" must be a string of 1-255 characters`);
    }
    assertStorableJson(key, 'options.singletonKey');
    opts = { ...opts, singletonKey: key };
  }
  const given = withoutUndefined(opts);
  if (forUser) {
    if (definition.allowUsers === false) throw new EdgeJobsError('forbidden', `"${type}" can only be enqueued by the server`);
    const serverOnly = SERVER_ONLY_OPTIONS.filter((k) => k in given);
    if (serverOnly.length) throw new EdgeJobsError('forbidden', `only the server may set ${serverOnly.map((k) => `options.${k}`).join(', ')}`);
    // The database fills in the type's defaults from its registry (users may not send them).
    return { type, input, ...given };
  }
  // The input is stored as given (after validation) and parsed again by the worker, so schema
  // defaults and transforms apply at run time, once.
  const spec: EnqueueSpec = { type, input, ...withoutUndefined(enqueueDefaults(definition)), ...given };
  // As the database will see it: the call's options over the type's, over its defaults (1 s, 1 h).
  if ((spec.backoffMaxMs ?? 3_600_000) < (spec.backoffBaseMs ?? 1_000)) {
    throw new EdgeJobsError('invalid_argument', `the retry delay's cap (backoffMaxMs ${spec.backoffMaxMs ?? 3_600_000}) is below its base (backoffBaseMs ${spec.backoffBaseMs ?? 1_000}) for "${type}"`);
  }
  return spec;
}

function checkOptions(opts: EnqueueOptions): void {
  if (typeof opts !== 'object' || opts === null) throw new EdgeJobsError('invalid_argument', 'options must be an object');
  for (const [key, value] of Object.entries(opts)) {
    // null is absent, as the database reads it (JavaScript callers send it).
    if (value === undefined || value === null) continue;
    const check = Object.hasOwn(ENQUEUE_OPTION_CHECKS, key) ? ENQUEUE_OPTION_CHECKS[key as keyof EnqueueOptions] : undefined;
    if (!check) throw new EdgeJobsError('invalid_argument', `options.${key} is not an option (known: ${Object.keys(ENQUEUE_OPTION_CHECKS).join(', ')})`);
    if (!check[0](value as never)) throw new EdgeJobsError('invalid_argument', `options.${key} ${check[1]}`);
    if (typeof value === 'string') assertStorableJson(value, `options.${key}`);
  }
  if (opts.runAt !== undefined && opts.delayMs !== undefined) throw new EdgeJobsError('invalid_argument', 'give runAt or delayMs, not both');
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
