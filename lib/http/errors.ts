/**
 * One place that maps errors to HTTP for every route handler: a status code per error code and a
 * JSON body a program can branch on: `{ error: { code, message, issues? } }`.
 */
import { EdgeJobsError, ValidationError, coerceError, type ErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** The HTTP status for each error code a route can answer with. */
export const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  malformed_json: 400,
  invalid_argument: 400,
  unauthorized: 401,
  forbidden: 403,
  job_not_found: 404,
  idempotency_conflict: 409,
  job_finished: 409,
  payload_too_large: 413,
  input_too_large: 413,
  unsupported_media_type: 415,
  unknown_job_type: 422,
  validation_failed: 422,
  database_unavailable: 503,
};

/** Headers every JSON answer carries: never cached by shared caches, varies by credentials. */
const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'private, no-cache',
  vary: 'Authorization, Cookie',
} as const;

/** A JSON response with our standard headers. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

/**
 * Turns anything thrown in a route into a Response. Known errors keep their code and message;
 * anything else is a 500 whose details go to the log, not to the caller.
 */
export function toErrorResponse(thrown: unknown, log?: Logger): Response {
  const error = thrown instanceof EdgeJobsError ? thrown : null;
  const status = (error && HTTP_STATUS[error.code]) ?? 500;
  if (status >= 500) log?.error('edgejobs route failed', { error: coerceError(thrown).message, code: error?.code });
  const body: Record<string, unknown> = status === 500
    ? { code: 'internal', message: 'The server failed to handle the request; it is logged.' }
    : { code: error!.code, message: error!.message };
  if (thrown instanceof ValidationError) body.issues = thrown.issues;
  const headers: Record<string, string> = {};
  if (status === 503) headers['retry-after'] = '5';
  if (status === 401) headers['www-authenticate'] = 'Bearer';
  return jsonResponse(status, { error: body }, headers);
}
