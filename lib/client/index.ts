/**
 * edgejobs/client, in the browser and in plain TypeScript callers: `watchJob()` follows a job
 * (polling, or Realtime with polling as the fallback), and `submitJob()` / `fetchJob()` /
 * `listJobs()` / `cancelJob()` / `waitForJob()` call the HTTP API. No framework; React's `useJob()` is in
 * edgejobs/react.
 */
export { watchJob } from './watch-job.ts';
export { jobQueryOptions } from './query-options.ts';
export type { ChannelLike, JobWatcher, RealtimeClientLike, WatchOptions, WatchState } from './watch-job.ts';
export { ApiError, cancelJob, fetchJob, listJobs, submitJob, waitForJob } from './http-client.ts';
export type { ClientOptions, FetchedJob } from './http-client.ts';
export type { AcceptedJob, ApiErrorBody, JobView } from '../wire.ts';
