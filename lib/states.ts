/**
 * The closed set of job states, the same five as the `jobs_status_valid` check in SQL.
 *
 * - `queued`: waiting for `run_at`, then for a worker. Enqueue, a retry, a hand-back at a
 *   deadline, a reaped lease and a redrive put a job here.
 * - `processing`: a worker holds its lease (`claim_jobs`). It leaves by completing, failing,
 *   being handed back, or when its lease expires and it is reaped.
 * - `completed`: the handler returned (terminal).
 * - `failed`: out of attempts or failed permanently: the dead-letter state (terminal, but
 *   `retry_failed_jobs` can queue it again).
 * - `cancelled`: cancelled while queued, or while processing once the worker noticed (terminal).
 */
export const JOB_STATUS = {
  queued: 'queued',
  processing: 'processing',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;

/** One of {@link JOB_STATUS}. */
export type JobStatus = (typeof JOB_STATUS)[keyof typeof JOB_STATUS];

/** The states a job never leaves on its own. */
export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/** True for `completed`, `failed` and `cancelled`. */
export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}
