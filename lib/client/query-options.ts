/**
 * For TanStack Query users: the query options that follow a job with `useQuery`, polling while it
 * runs and stopping at a terminal state (TanStack's own polling guide does the same with
 * `refetchInterval`). No dependency on TanStack: it is plain data and functions.
 */
import { isTerminal } from '../states.ts';
import { fetchJob, type ClientOptions } from './http-client.ts';
import type { JobView } from '../wire.ts';

/**
 * @example
 * const { data: job } = useQuery(jobQueryOptions(id))
 */
export function jobQueryOptions(id: string, options: Omit<ClientOptions, 'signal'> & { intervalMs?: number } = {}) {
  const intervalMs = options.intervalMs ?? 1_000;
  return {
    queryKey: ['edgejobs', 'job', id] as const,
    queryFn: async ({ signal }: { signal?: AbortSignal }): Promise<JobView> => (await fetchJob(id, { ...options, signal })).job as JobView,
    refetchInterval: (query: { state: { data?: JobView } }) => (query.state.data && isTerminal(query.state.data.status) ? false : intervalMs),
    refetchIntervalInBackground: false,
  };
}
