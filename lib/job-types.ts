/**
 * The registry in the database: `registerJobTypes()` writes each `defineJob()` type (its defaults,
 * who may enqueue it, its input's JSON Schema) into edgejobs.job_types, so that the SQL API
 * applies to `supabase.rpc()` callers the rules the routes apply. The app and every worker call it
 * when they start; the drain and the routes do it for you, once per process.
 */
import { toJSONSchema } from 'zod';
import { coerceError } from './errors.ts';
import { enqueueDefaults, type AnyJobDefinition, type JobRegistry } from './job.ts';
import type { Logger } from './logger.ts';
import type { WorkerStore } from './store.ts';

/** A job type as edgejobs.job_types holds it. Options left undefined take the SQL defaults. */
export interface JobTypeRecord {
  type: string;
  queue?: string;
  priority?: number;
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  keepForMs?: number;
  usersMayEnqueue: boolean;
  anonymousMayEnqueue: boolean;
  /** JSON Schema of the input, checked for end users' enqueues where pg_jsonschema is installed. */
  inputSchema: Record<string, unknown> | null;
  /** Most completed and failed jobs kept (null: by time only). */
  keepCompleted: number | null;
  keepFailed: number | null;
  /** Each retry waits this many times longer than the one before (null: 2). */
  backoffFactor: number | null;
  /** Where its jobs' ends are posted (defineJob `webhook`; null: nowhere). */
  webhookUrl: string | null;
}

/** The database's record of a job definition. */
export function jobTypeRecord(definition: AnyJobDefinition): JobTypeRecord {
  return {
    type: definition.type,
    ...enqueueDefaults(definition),
    usersMayEnqueue: definition.allowUsers !== false,
    anonymousMayEnqueue: definition.allowAnonymous === true,
    inputSchema: inputJsonSchema(definition),
    keepCompleted: definition.keep?.completed ?? null,
    keepFailed: definition.keep?.failed ?? null,
    backoffFactor: definition.retry?.factor ?? null,
    webhookUrl: definition.webhook ?? null,
  };
}

/**
 * The input's JSON Schema as zod writes it (the shape a caller sends, before defaults and
 * transforms), or null when it could refuse what zod accepts: zod cannot write it, or the input
 * side coerces (`z.coerce`), preprocesses or catches, which zod writes as the type after the
 * fact (`z.coerce.number()` takes "5"; its schema says number). Parts JSON Schema cannot say (a
 * Date, a custom check) are left open.
 */
export function inputJsonSchema(definition: AnyJobDefinition): Record<string, unknown> | null {
  let loose = false;
  try {
    const schema = toJSONSchema(definition.input, {
      io: 'input', unrepresentable: 'any',
      override: (ctx) => {
        const def = (ctx.zodSchema as { _zod: { def: { type: string; coerce?: boolean; in?: { _zod: { def: { type: string } } } } } })._zod.def;
        if (def.coerce || def.type === 'catch' || (def.type === 'pipe' && def.in?._zod.def.type === 'transform')) loose = true;
      },
    }) as Record<string, unknown>;
    return loose ? null : schema;
  } catch {
    return null;
  }
}

export interface RegisterOptions {
  /**
   * The stable name of this worker deployment (e.g. 'process-jobs', 'worker@host'): records that
   * it runs the registry's types. Leave it out where no handler runs (the app's routes).
   */
  workerName?: string;
}

/**
 * Writes the registry's job types into the database (one idempotent call; the last registration
 * of a type wins). Needs the service role.
 * @example
 * await registerJobTypes(store, registry, { workerName: `worker@${hostname()}` })
 */
export async function registerJobTypes(
  store: Pick<WorkerStore, 'registerJobTypes' | 'setTypePolicies'>,
  registry: JobRegistry<AnyJobDefinition>,
  options: RegisterOptions = {},
): Promise<number> {
  const records = registry.definitions.map(jobTypeRecord);
  const count = await store.registerJobTypes(records, options.workerName ?? null);
  // Retention by count and the backoff factor, as the code says now (null clears what the code no
  // longer sets). A database from before them has no set_type_policies: fine unless they are used.
  try {
    await store.setTypePolicies(records.map((r) => ({ type: r.type, keepCompleted: r.keepCompleted, keepFailed: r.keepFailed, backoffFactor: r.backoffFactor, webhookUrl: r.webhookUrl })));
  } catch (error) {
    const missing = /set_type_policies/.test(String((error as Error).message)) && /does not exist|could not find|PGRST202/i.test(String((error as Error).message));
    if (!missing || records.some((r) => r.keepCompleted !== null || r.keepFailed !== null || r.backoffFactor !== null || r.webhookUrl !== null)) throw error;
  }
  return count;
}

const registrations = new WeakMap<object, WeakMap<object, Map<string, Promise<boolean>>>>();

/**
 * {@link registerJobTypes} once per process for this store, registry and worker name; a failed
 * registration is logged and tried again on the next call. Resolves either way, with whether the
 * types are registered: the caller decides what a failure means to it.
 */
export function registerOnce(
  store: Pick<WorkerStore, 'registerJobTypes' | 'setTypePolicies'>,
  registry: JobRegistry<AnyJobDefinition>,
  options: RegisterOptions & { logger?: Logger } = {},
): Promise<boolean> {
  let byRegistry = registrations.get(store);
  if (!byRegistry) registrations.set(store, (byRegistry = new WeakMap()));
  let byName = byRegistry.get(registry);
  if (!byName) byRegistry.set(registry, (byName = new Map()));
  const key = options.workerName ?? '';
  const known = byName.get(key);
  if (known) return known;
  const attempt = registerJobTypes(store, registry, options).then(() => true, (error: unknown) => {
    byName.delete(key);
    options.logger?.warn('could not register the job types in the database; trying again at the next start', {
      error: coerceError(error).message,
    });
    return false;
  });
  byName.set(key, attempt);
  return attempt;
}
