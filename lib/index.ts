/**
 * edgejobs: background jobs for Vercel and Supabase apps. Postgres is the queue.
 * Runtime-neutral entry (web APIs only): job definitions, the enqueue API, the drain engine,
 * errors and types. The stores are in edgejobs/postgres and edgejobs/supabase.
 */
export { defineJob, createRegistry, parseWith } from './job.ts';
export type { AnyJobDefinition, JobContext, JobDefinition, JobDefinitionInput, JobInfo, JobRegistry, RetryPolicy } from './job.ts';
export { createQueue } from './queue.ts';
export type { EnqueueOptions, Queue } from './queue.ts';
export { drain } from './drain.ts';
export type { DrainOptions, DrainSummary, StopReason } from './drain.ts';
export { JOB_STATUS, TERMINAL_STATUSES, isTerminal } from './states.ts';
export type { JobStatus } from './states.ts';
export {
  EdgeJobsError, ValidationError, PermanentError, RetryLaterError, ERROR_CODES, coerceError, serializeError,
} from './errors.ts';
export type { ErrorCode, ErrorJson, ValidationIssue } from './errors.ts';
export { createConsoleLogger, silentLogger } from './logger.ts';
export type { Logger, LogLevel } from './logger.ts';
export { fromDatabaseError } from './sql-errors.ts';
export type * from './store.ts';
export { registerJobTypes } from './job-types.ts';
export type { RegisterOptions } from './job-types.ts';
export { runDrainLoop, createWakeup } from './drain-loop.ts';
export type { DrainLoopOptions, Wakeup } from './drain-loop.ts';
export { runInvocation } from './invocation.ts';
export { bulkAction } from './bulk.ts';
export type { BulkActionOptions } from './bulk.ts';
export { LEASE_MS } from './limits.ts';
export { WEBHOOK_JOB_TYPE, checkWebhookTarget, signWebhook, webhookSettingsFromEnv } from './webhooks.ts';
export type { WebhookSettings } from './webhooks.ts';
export { alertSettingsFromEnv, checkAlerts } from './alerts.ts';
export type { AlertSettings } from './alerts.ts';
export { assessHealth, judgeHealth } from './health.ts';
export type { CriticalType, HealthReport, HealthThresholds } from './health.ts';
export { defineSchedule, fireDueSchedules, planFires, registerSchedules } from './schedules.ts';
export type { CatchUpPolicy, DefineScheduleOptions, DueSchedule, FiredSchedules, OverlapPolicy, ScheduleDefinition, ScheduleRunOptions } from './schedules.ts';
