/**
 * Watches one job until it ends, without React: polls the status route with chained timeouts
 * (backoff while nothing changes, Retry-After honoured, ETag/304), pauses while the tab is
 * hidden, and, given a Supabase client, listens on the job's private Realtime topic, falling back
 * to polling when the channel fails and polling now and then when it stays silent.
 * `useJob()` is a thin React wrapper around this.
 */
import { EdgeJobsError } from '../errors.ts';
import { isTerminal, type JobStatus } from '../states.ts';
import { ApiError, fetchJob, type ClientOptions } from './http-client.ts';
import type { JobView } from '../wire.ts';

/** The part of a supabase-js Realtime channel the watcher uses. */
export interface ChannelLike {
  on(type: 'broadcast', filter: { event: string }, callback: (message: { payload?: unknown }) => void): ChannelLike;
  subscribe(callback?: (status: string, error?: Error) => void): ChannelLike;
}

/** The part of a supabase-js client the watcher uses (`createBrowserClient()` is one). */
export interface RealtimeClientLike {
  channel(topic: string, options: { config: { private: boolean } }): ChannelLike;
  removeChannel(channel: ChannelLike): unknown;
  realtime?: { setAuth?: (token?: string | null) => unknown };
}

export interface WatchState {
  job: JobView | null;
  /** The last error reading the job; polling goes on for transient ones and stops for 4xx. */
  error: EdgeJobsError | null;
  /** True until the first answer (or a final error). */
  loading: boolean;
  /** True while the Realtime channel is subscribed. */
  live: boolean;
}

export interface WatchOptions extends ClientOptions {
  /** First and fastest poll interval. Default 500 ms. */
  minDelayMs?: number;
  /** Slowest poll interval while nothing changes. Default 5,000 ms. */
  maxDelayMs?: number;
  /** Subscribe to the job's Realtime topic with this client (Broadcast, private channel). */
  supabase?: RealtimeClientLike;
  /** With Realtime live, poll anyway after this much silence. Default 15,000 ms. */
  silentMs?: number;
  /** For visibility (default: the global document, if any). */
  document?: Pick<Document, 'visibilityState' | 'addEventListener' | 'removeEventListener'>;
  onChange?: (state: WatchState) => void;
}

export interface JobWatcher {
  getState(): WatchState;
  /** Poll now (e.g. after a cancel). */
  refresh(): void;
  /** Stops timers, aborts the request in flight, leaves the channel. */
  stop(): void;
}

const PERMANENT_STATUSES = new Set([400, 401, 403, 404, 410]);

/**
 * Starts watching a job. Longer than a screen because polling, the Realtime channel, the
 * visibility pause and stop share one state (the last job, its ETag, the timer, the channel) and
 * hand it between them; each concern is a named inner function.
 * @example
 * const watcher = watchJob(id, { onChange: (s) => render(s.job?.progress) })
 * // later
 * watcher.stop()
 */
export function watchJob(id: string, options: WatchOptions = {}): JobWatcher {
  const minDelay = options.minDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 5_000;
  const silentMs = options.silentMs ?? 15_000;
  const doc = options.document ?? (typeof document === 'undefined' ? undefined : document);
  let state: WatchState = { job: null, error: null, loading: true, live: false };
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inflight: AbortController | null = null;
  let etag: string | null = null;
  let delay = minDelay;
  let errorDelay = 1_000;
  let pendingWhileHidden = false;
  let channel: ChannelLike | null = null;
  let again = false;

  const set = (patch: Partial<WatchState>) => {
    state = { ...state, ...patch };
    options.onChange?.(state);
  };
  const done = () => state.job !== null && isTerminal(state.job.status);

  function schedule(ms: number) {
    clearTimeout(timer);
    if (stopped || done()) return;
    if (doc?.visibilityState === 'hidden') {
      pendingWhileHidden = true;
      return;
    }
    timer = setTimeout(poll, ms);
  }

  async function poll() {
    clearTimeout(timer);
    if (stopped) return;
    if (inflight) {
      again = true;
      return;
    }
    if (doc?.visibilityState === 'hidden') {
      pendingWhileHidden = true;
      return;
    }
    inflight = new AbortController();
    try {
      const fetched = await fetchJob(id, { ...options, etag, signal: inflight.signal });
      if (stopped) return;
      errorDelay = 1_000;
      if (fetched.job) {
        const before = state.job;
        etag = fetched.etag;
        const changed = !before || before.status !== fetched.job.status || JSON.stringify(before.progress) !== JSON.stringify(fetched.job.progress);
        delay = changed ? minDelay : Math.min(maxDelay, delay * 1.5);
        set({ job: fetched.job, error: null, loading: false });
        if (done()) return leave();
        subscribe();
      } else {
        delay = Math.min(maxDelay, delay * 1.5);
        if (state.error) set({ error: null });
      }
      const next = channel && state.live ? silentMs : delay;
      schedule(Math.max(next, fetched.retryAfterMs ?? 0));
    } catch (thrown) {
      if (stopped) return;
      const error = thrown instanceof EdgeJobsError ? thrown : new EdgeJobsError('internal', String((thrown as Error)?.message ?? thrown), { cause: thrown });
      if (error instanceof ApiError && PERMANENT_STATUSES.has(error.status)) {
        set({ error, loading: false });
        return leave();
      }
      set({ error });
      schedule(errorDelay);
      errorDelay = Math.min(30_000, errorDelay * 2);
    } finally {
      inflight = null;
      if (again && !stopped) {
        again = false;
        void poll();
      }
    }
  }

  /** True from the moment a join starts until its channel exists (the token is being read). */
  let joining = false;

  function subscribe() {
    const topic = state.job?.realtimeTopic;
    if (!options.supabase || !topic || channel || joining || stopped) return;
    const client = options.supabase;
    joining = true;
    // The join carries the user's token only once setAuth has read it (with supabase-js's
    // `accessToken` option nothing else sets it): a join without it is the anon key's, and the
    // private topic refuses it.
    void Promise.resolve()
      .then(() => client.realtime?.setAuth?.())
      .catch(() => {})
      .then(() => {
        joining = false;
        join(client, topic);
      });
  }

  function join(client: RealtimeClientLike, topic: string) {
    if (channel || stopped) return;
    channel = client.channel(topic, { config: { private: true } })
      .on('broadcast', { event: 'job_changed' }, ({ payload }) => {
        if (stopped || !state.job) return;
        const p = (payload ?? {}) as { status?: JobStatus; progress?: unknown; attempts?: number; cancel_requested?: boolean };
        // The broadcast carries no result or error: an end is shown once the job is fetched with
        // them (never "completed" with no result in between).
        if (p.status && isTerminal(p.status)) {
          etag = null;
          void poll();
          return;
        }
        set({
          job: {
            ...state.job,
            ...(p.status ? { status: p.status } : {}),
            ...('progress' in p ? { progress: p.progress } : {}),
            ...(typeof p.attempts === 'number' ? { attempts: p.attempts } : {}),
            ...(typeof p.cancel_requested === 'boolean' ? { cancelRequested: p.cancel_requested } : {}),
          },
        });
        schedule(silentMs);
      })
      .subscribe((status) => {
        if (stopped) return;
        if (status === 'SUBSCRIBED') {
          set({ live: true });
          // Anything that changed between the last poll and the join: one poll, then quiet.
          void poll();
        } else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT' || status === 'CLOSED') {
          dropChannel();
          set({ live: false });
          delay = minDelay;
          schedule(delay);
        }
      });
  }

  function dropChannel() {
    if (channel) {
      const old = channel;
      channel = null;
      try {
        options.supabase?.removeChannel(old);
      } catch {
        // leaving a broken channel is best effort
      }
    }
  }

  function leave() {
    clearTimeout(timer);
    dropChannel();
    if (state.live) set({ live: false });
  }

  const onVisibility = () => {
    if (doc?.visibilityState === 'visible' && pendingWhileHidden) {
      pendingWhileHidden = false;
      void poll();
    }
  };
  doc?.addEventListener('visibilitychange', onVisibility);
  void poll();

  return {
    getState: () => state,
    refresh: () => {
      etag = null;
      delay = minDelay;
      void poll();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      inflight?.abort();
      dropChannel();
      doc?.removeEventListener('visibilitychange', onVisibility);
    },
  };
}
