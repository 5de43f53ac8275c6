'use client';
/**
 * `useJob(id)`: a React hook that follows a job until it ends (see {@link watchJob}): status,
 * progress, result, error and a cancel function. Polls with backoff, Retry-After and ETag; stops
 * at a terminal state; pauses while the tab is hidden; aborts on unmount and when `id` changes;
 * with `supabase` given, listens over Realtime and polls only as a fallback.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { EdgeJobsError } from '../errors.ts';
import { isTerminal, type JobStatus } from '../states.ts';
import { cancelJob as cancelRequest } from './http-client.ts';
import type { JobView } from '../wire.ts';
import { watchJob, type JobWatcher, type WatchOptions, type WatchState } from './watch-job.ts';

export type UseJobOptions = Omit<WatchOptions, 'onChange' | 'signal'>;

export interface UseJobResult {
  job: JobView | null;
  status: JobStatus | null;
  progress: unknown;
  result: unknown;
  /** The job's own error once it failed, else the last error reading it. */
  error: { code: string; message: string } | null;
  isLoading: boolean;
  /** completed, failed or cancelled. */
  isDone: boolean;
  /** Realtime is subscribed (polling is only a safety net then). */
  isLive: boolean;
  /** Cancels the job (queued: at once; running: asks it to stop) and refreshes. */
  cancel(): Promise<void>;
  refresh(): void;
}

const idle: WatchState = { job: null, error: null, loading: false, live: false };

/**
 * @example
 * const { status, progress, result, error, cancel } = useJob(jobId)
 * if (status === 'processing') return <progress value={(progress as { percent: number }).percent} max={100} />
 */
export function useJob(id: string | null | undefined, options: UseJobOptions = {}): UseJobResult {
  const [state, setState] = useState<WatchState>(id ? { ...idle, loading: true } : idle);
  const watcher = useRef<JobWatcher | null>(null);
  const latest = useRef(options);
  latest.current = options;
  const { baseUrl, supabase } = options;

  useEffect(() => {
    if (!id) {
      setState(idle);
      return undefined;
    }
    setState({ ...idle, loading: true });
    const w = watchJob(id, { ...latest.current, onChange: setState });
    watcher.current = w;
    return () => {
      w.stop();
      if (watcher.current === w) watcher.current = null;
    };
  }, [id, baseUrl, supabase]);

  const cancel = useCallback(async () => {
    if (!id) return;
    await cancelRequest(id, latest.current);
    watcher.current?.refresh();
  }, [id]);
  const refresh = useCallback(() => watcher.current?.refresh(), []);

  const job = state.job;
  const readError: EdgeJobsError | null = state.error;
  return {
    job,
    status: job?.status ?? null,
    progress: job?.progress ?? null,
    result: job?.result ?? null,
    error: job?.error ?? (readError ? { code: readError.code, message: readError.message } : null),
    isLoading: state.loading,
    isDone: job !== null && isTerminal(job.status),
    isLive: state.live,
    cancel,
    refresh,
  };
}
