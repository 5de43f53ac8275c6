/**
 * The limits the TypeScript side checks, in one place. The database enforces the same ones
 * (CHECK constraints and the SQL API's validation: see supabase/schema.sql).
 */

/** A job type: 1-128 letters, digits, _ . : / - (jobs_type_format). */
export const JOB_TYPE_PATTERN = /^[A-Za-z0-9_.:/-]{1,128}$/;
/** A queue name: 1-64 letters, digits, _ . : - (jobs_queue_format, queues_name_format). */
export const QUEUE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** A job lease, in ms (claim_jobs and heartbeat_jobs take 1-600 s). */
export const LEASE_MS = { min: 1_000, max: 600_000, default: 30_000 } as const;
