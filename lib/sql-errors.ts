/**
 * One place that turns a database error (a Postgres error from a driver, or PostgREST's error
 * body, both carrying the SQLSTATE) into an {@link EdgeJobsError} with a stable code.
 */
import { EdgeJobsError, type ErrorCode } from './errors.ts';

/** Our own SQLSTATEs, raised by the SQL API (see the client functions migration). */
const EDGEJOBS_SQLSTATES: Record<string, ErrorCode> = {
  EJ001: 'invalid_argument',
  EJ002: 'input_too_large',
  EJ003: 'idempotency_conflict',
  EJ004: 'job_not_found',
  EJ005: 'job_finished',
  EJ006: 'unknown_job_type',
  EJ007: 'validation_failed',
  '42501': 'forbidden', // insufficient_privilege: no EXECUTE grant, a server-only option or type, sign-in required
  '22023': 'invalid_argument', // invalid_parameter_value
};

/**
 * Values the database cannot take, raised before our functions run (while Postgres reads the
 * arguments): the caller's fault, answered as `invalid_argument` with what was wrong.
 */
const UNSTORABLE_SQLSTATES: Record<string, string> = {
  '22P02': 'a value is not valid for its type (a malformed uuid, number or JSON text)', // invalid_text_representation
  '22P05': 'a string holds a character Postgres cannot store (the NUL character \\u0000)', // untranslatable_character
  '22021': 'a string holds a character Postgres cannot store (the NUL character, or invalid UTF-8)', // character_not_in_repertoire
  '22003': 'a number is out of range (JSON numbers must fit Postgres numeric)', // numeric_value_out_of_range
  '54001': 'a value is nested too deeply', // statement_too_complex (stack depth)
};

/**
 * Errors worth one more try of the same call, as in graphile-worker's RETRYABLE_ERROR_CODES.
 * Everything else is final.
 */
const TRANSIENT_SQLSTATES = new Set([
  '40001', // serialization_failure: another transaction won; the call is safe to repeat
  '40P01', // deadlock_detected: Postgres aborted us to break a deadlock
  '57P01', // admin_shutdown: server restarting (e.g. a Supabase maintenance)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: server starting up
  '53300', // too_many_connections: pool exhausted, usually brief
  '08000', '08001', '08003', '08004', '08006', // connection_exception family
]);

/** Driver/network error codes (postgres.js and Node) that mean the connection failed. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
]);

/**
 * Maps a thrown database error to an {@link EdgeJobsError}. `sqlstate` is the Postgres code
 * (`code` on postgres.js errors and PostgREST bodies).
 */
export function fromDatabaseError(thrown: unknown, call: string): EdgeJobsError {
  if (thrown instanceof EdgeJobsError) return thrown;
  const e = (thrown ?? {}) as { code?: unknown; message?: unknown; hint?: unknown; detail?: unknown; details?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(thrown);
  const hint = typeof e.hint === 'string' && e.hint ? e.hint : undefined;
  if (code && EDGEJOBS_SQLSTATES[code]) {
    return new EdgeJobsError(EDGEJOBS_SQLSTATES[code], message.replace(/^edgejobs: /, ''), {
      cause: thrown,
      details: { sqlstate: code, ...(hint ? { hint } : {}) },
    });
  }
  if (code && UNSTORABLE_SQLSTATES[code]) {
    return new EdgeJobsError('invalid_argument', `${UNSTORABLE_SQLSTATES[code]}: ${message}`, { cause: thrown, details: { sqlstate: code } });
  }
  if ((code && TRANSIENT_SQLSTATES.has(code)) || (code && TRANSIENT_NETWORK_CODES.has(code))) {
    return new EdgeJobsError('database_unavailable', `${call}: ${message}`, { cause: thrown, retryable: true, details: { sqlstate: code } });
  }
  return new EdgeJobsError('database_error', `${call}: ${message}`, { cause: thrown, details: code ? { sqlstate: code } : {} });
}
