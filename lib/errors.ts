/**
 * Typed errors for edgejobs. Every error thrown by the library is an {@link EdgeJobsError} with a
 * stable `code`; branch on `code` (or `instanceof`), never on message text. Errors survive
 * `JSON.stringify` through `toJSON()`.
 */
import { toStorableJson } from './json-value.ts';

/** Every error code the library uses, and what it means. */
export const ERROR_CODES = {
  invalid_argument: 'An argument is malformed or out of range (SQLSTATE EJ001).',
  input_too_large: 'A job input is over the size limit (SQLSTATE EJ002).',
  idempotency_conflict: 'An idempotency key was reused with a different input (SQLSTATE EJ003).',
  job_not_found: 'No such job, or it belongs to someone else (SQLSTATE EJ004).',
  job_finished: 'The job already ended (SQLSTATE EJ005).',
  unknown_job_type: 'No job definition for this type in the registry (SQLSTATE EJ006 once types are registered in the database).',
  validation_failed: 'The input does not match the job type\'s schema (SQLSTATE EJ007 for pg_jsonschema\'s check).',
  unauthorized: 'Missing or invalid credentials.',
  forbidden: 'The caller may not do this (SQLSTATE 42501).',
  lease_lost: 'The worker no longer holds the job\'s lease; its write was refused.',
  timeout: 'The handler ran past its timeoutMs.',
  cancelled: 'The job was cancelled while running.',
  deadline: 'The drain reached its deadline; the job was handed back.',
  aborted: 'The drain was stopped from outside; the job was handed back.',
  permanent: 'The handler marked the failure permanent: no retry.',
  retry_later: 'The handler asked to be retried at a given time.',
  database_unavailable: 'The database could not be reached (transient: retried).',
  network_error: 'The HTTP API could not be reached from the client (transient: try again).',
  database_error: 'The database refused the call.',
  configuration: 'An option or environment variable is missing or invalid.',
  unsupported_media_type: 'The request body is not JSON (HTTP 415).',
  malformed_json: 'The request body is not valid JSON (HTTP 400).',
  payload_too_large: 'The request body is over the size limit (HTTP 413).',
  handler_error: 'The handler threw.',
  internal: 'A bug in edgejobs.',
} as const;

/** A stable error code; see {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem found by schema validation. `path` is like `rows.2.amount` (empty for the root). */
export interface ValidationIssue {
  path: string;
  message: string;
  code: string;
}

/** The JSON shape of an error, as stored in a job's `error`/`errors` and sent over HTTP. */
export interface ErrorJson {
  name: string;
  code: string;
  message: string;
  [key: string]: unknown;
}

export interface EdgeJobsErrorOptions {
  cause?: unknown;
  /** True when the same call may succeed if simply tried again (connection lost, deadlock). */
  retryable?: boolean;
  /** Extra fields that go into `toJSON()` (e.g. a Postgres `sqlstate`, a `jobId`). */
  details?: Record<string, unknown>;
}

/**
 * The kinds of an edgejobs error (its class and every base up to EdgeJobsError), under a global
 * symbol, so that `instanceof` holds across two copies of the package in one process (a worker
 * and a registry module that resolved different copies; the source and the build in this repo):
 * a PermanentError thrown by a handler is permanent whichever copy made it.
 */
const KINDS = Symbol.for('edgejobs.error.kinds');

/**
 * The base of every error edgejobs throws.
 * @example
 * try { await queue.enqueue('report', input) }
 * catch (e) { if (e instanceof EdgeJobsError && e.code === 'validation_failed') ... }
 */
export class EdgeJobsError extends Error {
  /** What `instanceof` checks (each subclass names its own): see KINDS. */
  static readonly kind: string = 'EdgeJobsError';
  static override [Symbol.hasInstance](value: unknown): boolean {
    // A subclass of the app's own (no `kind` of its own) is checked the ordinary way.
    if (!Object.hasOwn(this, 'kind')) return Function.prototype[Symbol.hasInstance].call(this, value);
    const kinds = (value as { [KINDS]?: unknown } | null | undefined)?.[KINDS];
    return Array.isArray(kinds) && kinds.includes(this.kind);
  }

  override readonly name: string = 'EdgeJobsError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: EdgeJobsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
    const kinds: string[] = [];
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) {
      if (Object.hasOwn(c, 'kind')) kinds.push((c as unknown as { kind: string }).kind);
    }
    Object.defineProperty(this, KINDS, { value: kinds });
  }

  toJSON(): ErrorJson {
    return { ...this.details, name: this.name, code: this.code, message: this.message };
  }
}

/** Input (or output) that does not match its zod schema; `issues` lists every problem. */
export class ValidationError extends EdgeJobsError {
  static override readonly kind: string = 'ValidationError';
  override readonly name: string = 'ValidationError';
  readonly issues: ValidationIssue[];

  constructor(message: string, issues: ValidationIssue[], options: EdgeJobsErrorOptions = {}) {
    super('validation_failed', message, options);
    this.issues = issues;
  }

  override toJSON(): ErrorJson {
    return { ...super.toJSON(), issues: this.issues };
  }
}

/**
 * Throw from a handler to fail the job for good (no more attempts): bad data, a 4xx from an API.
 * @example
 * if (!file) throw new PermanentError('file was deleted', { code: 'file_missing' })
 */
export class PermanentError extends EdgeJobsError {
  static override readonly kind: string = 'PermanentError';
  override readonly name: string = 'PermanentError';
  constructor(message: string, options: EdgeJobsErrorOptions & { code?: string } = {}) {
    super('permanent', message, { ...options, details: { ...options.details, ...(options.code ? { reason: options.code } : {}) } });
  }
}

/**
 * Throw from a handler to retry at a chosen time instead of the backoff (e.g. an API's
 * `Retry-After`). It still uses up an attempt.
 * @example
 * throw new RetryLaterError('rate limited', { retryAt: new Date(Date.now() + 30_000) })
 */
export class RetryLaterError extends EdgeJobsError {
  static override readonly kind: string = 'RetryLaterError';
  override readonly name: string = 'RetryLaterError';
  readonly retryAt: Date;
  constructor(message: string, options: EdgeJobsErrorOptions & { retryAt: Date }) {
    super('retry_later', message, options);
    this.retryAt = options.retryAt;
  }

  override toJSON(): ErrorJson {
    return { ...super.toJSON(), retryAt: this.retryAt.toISOString() };
  }
}

/** Turns anything thrown into an Error (strings, objects, null) without losing what it said. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  try {
    return new Error(`non-Error thrown: ${JSON.stringify(thrown)}`);
  } catch {
    return new Error(`non-Error thrown: ${String(thrown)}`);
  }
}

const MAX_MESSAGE = 4_000;
const MAX_STACK = 8_000;

/**
 * The JSON stored for a failed attempt: `{ name, code, message, stack? }`, with long messages and
 * stacks cut so one bad error cannot bloat the jobs table.
 */
export function serializeError(thrown: unknown, { stack = true }: { stack?: boolean } = {}): ErrorJson {
  const error = coerceError(thrown);
  const ownCode = (error as { code?: unknown }).code;
  const base: ErrorJson = error instanceof EdgeJobsError
    ? error.toJSON()
    : { name: error.name, code: typeof ownCode === 'string' ? ownCode : 'handler_error', message: error.message };
  base.message = truncate(base.message, MAX_MESSAGE);
  if (stack && error.stack) base.stack = truncate(error.stack, MAX_STACK);
  // A message may quote anything (a NUL byte from an upstream API): the record must still store.
  return toStorableJson(base) as ErrorJson;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}
