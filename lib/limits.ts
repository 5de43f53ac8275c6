/**
 * The limits the TypeScript side checks, in one place. The database enforces the same ones
 * (CHECK constraints and the SQL API's validation: see supabase/schema.sql).
 */
import type { EnqueueSpec } from './store.ts';

/** A job type: 1-128 letters, digits, _ . : / - (jobs_type_format). */
export const JOB_TYPE_PATTERN = /^[A-Za-z0-9_.:/-]{1,128}$/;
/** A queue name: 1-64 letters, digits, _ . : - (jobs_queue_format, queues_name_format). */
export const QUEUE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** A webhook URL (jobs_webhook_url_format and enqueue's check): http(s), no user info, at most 2048 characters. */
export const WEBHOOK_URL_PATTERN = /^https?:\/\/[^/?#@\s]+([/?#]\S*)?$/;
export const isWebhookUrl = (v: unknown): v is string => typeof v === 'string' && WEBHOOK_URL_PATTERN.test(v) && chars(v) <= 2048;
/** A job lease, in ms (claim_jobs and heartbeat_jobs take 1-600 s). */
export const LEASE_MS = { min: 1_000, max: 600_000, default: 30_000 } as const;

/** Each option within the bounds the database applies (enqueue_jobs), with the option named. */
export const ENQUEUE_OPTION_CHECKS: { [K in keyof Required<Omit<EnqueueSpec, 'type' | 'input'>>]: [(v: never) => boolean, string] } = {
  queue: [(v: unknown) => typeof v === 'string' && QUEUE_PATTERN.test(v), 'must be 1-64 characters: letters, digits, _ . : -'],
  priority: [(v: unknown) => Number.isInteger(v) && Math.abs(v as number) <= 1_000_000, 'must be an integer between -1000000 and 1000000'],
  runAt: [(v: unknown) => v instanceof Date && !Number.isNaN(v.getTime()) && v.getUTCFullYear() >= 1 && v.getUTCFullYear() <= 9999, 'must be a valid Date in the years 1-9999'],
  delayMs: [(v: unknown) => typeof v === 'number' && v >= 0 && v <= 31_536_000_000, 'must be between 0 and 31536000000 ms (a year)'],
  maxAttempts: [(v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1000, 'must be an integer between 1 and 1000'],
  backoffBaseMs: [(v: unknown) => typeof v === 'number' && v >= 1 && v <= 86_400_000, 'must be between 1 and 86400000 ms (a day)'],
  backoffMaxMs: [(v: unknown) => typeof v === 'number' && v >= 1 && v <= 2_592_000_000, 'must be between 1 and 2592000000 ms (30 days)'],
  idempotencyKey: [(v: unknown) => typeof v === 'string' && v.length >= 1 && chars(v) <= 255, 'must be a string of 1-255 characters'],
  singletonKey: [(v: unknown) => typeof v === 'string' && v.length >= 1 && chars(v) <= 255, 'must be a string of 1-255 characters'],
  keepForMs: [(v: unknown) => typeof v === 'number' && v >= 1 && v <= 315_360_000_000, 'must be between 1 and 315360000000 ms (ten years)'],
  webhookUrl: [isWebhookUrl, 'must be an http(s) URL without a user name or password, at most 2048 characters, like https://example.com/hooks/jobs'],
};

/** Follow-up jobs one run may enqueue with its completion (complete_jobs takes 1000 per job). */
export const MAX_CHILDREN_PER_RUN = 1000;
/**
 * Their inputs' size in all (JSON bytes). Completions with follow-up jobs are written at most
 * {@link MAX_CHAINED_COMPLETIONS_PER_CALL} to a call, which keeps a call far below the 256 MiB
 * Postgres allows a jsonb value.
 */
export const MAX_CHILDREN_BYTES_PER_RUN = 8 * 1024 * 1024;
export const MAX_CHAINED_COMPLETIONS_PER_CALL = 16;

/** A string's length as Postgres counts it (characters, not UTF-16 units). */
const chars = (v: string) => {
  let n = 0;
  for (const _ of v) n++;
  return n;
};
