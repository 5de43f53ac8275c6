/**
 * edgejobs/react: `useJob(id)` follows a job from a client component (status, progress, result,
 * error, cancel), over HTTP polling or, with `supabase` given, Supabase Realtime.
 */
export { useJob } from './client/use-job.ts';
export type { UseJobOptions, UseJobResult } from './client/use-job.ts';
export { isTerminal } from './states.ts';
export type { JobStatus } from './states.ts';
export type { JobView } from './wire.ts';
