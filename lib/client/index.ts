/**
 * edgejobs in the browser and in plain TypeScript callers: `useJob()` for React, `watchJob()`
 * without React, and `submitJob()` / `fetchJob()` / `cancelJob()` / `waitForJob()` over HTTP.
 */
export { useJob } from './use-job.ts';
export type { UseJobOptions, UseJobResult } from './use-job.ts';
export { watchJob } from './watch-job.ts';
export { jobQueryOptions } from './query-options.ts';
export type { ChannelLike, JobWatcher, RealtimeClientLike, WatchOptions, WatchState } from './watch-job.ts';
export { ApiError, cancelJob, fetchJob, submitJob, waitForJob } from './http-client.ts';
export type { ClientOptions, FetchedJob } from './http-client.ts';
export type { AcceptedJob, ApiErrorBody, JobView } from '../wire.ts';
