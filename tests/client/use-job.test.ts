// @vitest-environment jsdom
/**
 * useJob() in jsdom with real React, against the real route handlers and the real database (the
 * fetch it is given calls the handlers in process). Realtime cannot run on this machine: the
 * Realtime tests give the hook a fake channel that delivers broadcasts the way supabase-js does.
 */
import { randomUUID } from 'node:crypto';
import { createElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, describe, expect, it } from 'vitest';
import { useJob, type UseJobOptions, type UseJobResult } from '../../lib/client/use-job.ts';
import type { ChannelLike, RealtimeClientLike } from '../../lib/client/watch-job.ts';
import { useRouteApi } from '../support/route-fetch.ts';

const t = useRouteApi();
const db = t.db;

const mounted: Root[] = [];
afterEach(() => {
  for (const root of mounted.splice(0)) root.unmount();
  setVisibility('visible');
});

function renderUseJob(id: string | null, options: UseJobOptions) {
  let current!: UseJobResult;
  function Probe(props: { id: string | null }) {
    current = useJob(props.id, options);
    return null;
  }
  const root = createRoot(document.createElement('div'));
  mounted.push(root);
  root.render(createElement(Probe, { id }));
  return {
    get current() {
      return current;
    },
    rerender: (next: string | null) => root.render(createElement(Probe, { id: next })),
    unmount: () => {
      mounted.splice(mounted.indexOf(root), 1);
      root.unmount();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, what: string, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  const holds = () => {
    try {
      return check();
    } catch {
      return false; // not rendered yet
    }
  };
  while (!holds()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
function setVisibility(state: 'visible' | 'hidden') {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
  document.dispatchEvent(new Event('visibilitychange'));
}

async function enqueue(input: unknown = { account: 'a' }, options?: Record<string, unknown>) {
  const response = await t.api.fetch('/api/jobs', { method: 'POST', headers: { ...t.headers, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'billing.sync', input, options }) });
  return ((await response.json()) as { id: string }).id;
}
async function claim() {
  const [job] = await db.store.claimJobs({ workerId: 'w', types: ['billing.sync'], limit: 1, leaseMs: 30_000 });
  return job!;
}
const polls = (id: string) => t.api.log.filter((e) => e.method === 'GET' && e.path.endsWith(id));
const fast = () => ({ fetch: t.api.fetch, headers: t.headers, minDelayMs: 20, maxDelayMs: 60 });

describe('useJob', () => {
  it('follows a job through progress to its result, using ETags, and stops polling at the end', async () => {
    const id = await enqueue();
    const hook = renderUseJob(id, fast());
    await until(() => hook.current.status === 'queued', 'queued');
    expect(hook.current).toMatchObject({ isLoading: false, isDone: false, progress: null });
    await until(() => polls(id).some((e) => e.status === 304 && e.ifNoneMatch !== null), 'a 304 answer');
    const job = await claim();
    await db.store.saveJobProgress([{ id, leaseToken: job.leaseToken, progress: { percent: 40 } }]);
    await until(() => (hook.current.progress as { percent?: number } | null)?.percent === 40, 'progress 40');
    expect(hook.current.status).toBe('processing');
    await db.store.completeJobs([{ id, leaseToken: job.leaseToken, result: { synced: 3 } }]);
    await until(() => hook.current.isDone, 'done');
    expect(hook.current).toMatchObject({ status: 'completed', result: { synced: 3 }, error: null });
    const count = polls(id).length;
    await sleep(300);
    expect(polls(id).length).toBe(count);
  });

  it('waits as long as Retry-After says before polling again', async () => {
    const id = await enqueue({ account: 'later' }, { delayMs: 2_000 });
    renderUseJob(id, fast());
    await until(() => polls(id).length >= 2, 'a second poll', 5_000);
    const [first, second] = polls(id);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_900);
  });

  it('does not poll while the tab is hidden, and polls at once when it is shown again', async () => {
    const id = await enqueue();
    const hook = renderUseJob(id, fast());
    await until(() => hook.current.status === 'queued', 'queued');
    setVisibility('hidden');
    await sleep(100);
    const hiddenCount = polls(id).length;
    await sleep(400);
    expect(polls(id).length).toBe(hiddenCount);
    setVisibility('visible');
    await until(() => polls(id).length > hiddenCount, 'a poll after showing the tab', 1_000);
  });

  it('stops on unmount and moves to the new job when the id changes', async () => {
    const a = await enqueue({ account: 'a' });
    const b = await enqueue({ account: 'b' });
    const hook = renderUseJob(a, fast());
    await until(() => hook.current.job?.id === a, 'job a');
    hook.rerender(b);
    await until(() => hook.current.job?.id === b, 'job b');
    await sleep(50);
    const aCount = polls(a).length;
    await sleep(300);
    expect(polls(a).length).toBe(aCount);
    hook.unmount();
    await sleep(50);
    const bCount = polls(b).length;
    await sleep(300);
    expect(polls(b).length).toBe(bCount);
  });

  it('cancels through the API and shows the cancelled job', async () => {
    const id = await enqueue();
    const hook = renderUseJob(id, fast());
    await until(() => hook.current.status === 'queued', 'queued');
    await hook.current.cancel();
    await until(() => hook.current.status === 'cancelled', 'cancelled');
    expect(hook.current.isDone).toBe(true);
  });

  it('reports an unknown job as job_not_found and stops', async () => {
    const id = randomUUID();
    const hook = renderUseJob(id, fast());
    await until(() => hook.current.error !== null, 'an error');
    expect(hook.current.error?.code).toBe('job_not_found');
    await sleep(200);
    expect(polls(id)).toHaveLength(1);
  });
});

/** A stand-in for a supabase-js client's Realtime side: records joins, lets the test broadcast. */
function fakeRealtime() {
  const joined: Array<{ topic: string; private: boolean }> = [];
  const removed: string[] = [];
  let handler: ((m: { payload?: unknown }) => void) | null = null;
  let statusCallback: ((status: string) => void) | null = null;
  let currentTopic = '';
  const client: RealtimeClientLike = {
    channel(topic, opts) {
      currentTopic = topic;
      joined.push({ topic, private: opts.config.private });
      const channel: ChannelLike = {
        on(_type, filter, callback) {
          if (filter.event === 'job_changed') handler = callback;
          return channel;
        },
        subscribe(callback) {
          statusCallback = callback ?? null;
          return channel;
        },
      };
      return channel;
    },
    removeChannel() {
      removed.push(currentTopic);
    },
  };
  return {
    client, joined, removed,
    status: (s: string) => statusCallback?.(s),
    broadcast: (payload: unknown) => handler?.({ payload }),
  };
}

describe('useJob with Realtime', () => {
  it('joins the job\'s private topic, updates from broadcasts without polling, and fetches the result at the end', async () => {
    const id = await enqueue();
    const rt = fakeRealtime();
    const hook = renderUseJob(id, { ...fast(), supabase: rt.client, silentMs: 60_000 });
    await until(() => rt.joined.length === 1, 'a join');
    expect(rt.joined[0]).toEqual({ topic: expect.stringMatching(new RegExp(`^edgejobs:[0-9a-f-]{36}:job:${id}$`)), private: true });
    rt.status('SUBSCRIBED');
    await until(() => hook.current.isLive, 'live');
    await sleep(100);
    const quiet = polls(id).length;
    rt.broadcast({ id, status: 'processing', progress: { percent: 70 }, attempts: 1 });
    await until(() => (hook.current.progress as { percent?: number } | null)?.percent === 70, 'progress from the broadcast');
    await sleep(200);
    expect(polls(id).length).toBe(quiet);
    const job = await claim();
    await db.store.completeJobs([{ id, leaseToken: job.leaseToken, result: { via: 'realtime' } }]);
    rt.broadcast({ id, status: 'completed', progress: { percent: 70 } });
    await until(() => hook.current.result !== null, 'the result');
    expect(hook.current).toMatchObject({ status: 'completed', result: { via: 'realtime' }, isLive: false });
    expect(rt.removed).toHaveLength(1);
  });

  it('falls back to polling when the channel fails', async () => {
    const id = await enqueue();
    const rt = fakeRealtime();
    const hook = renderUseJob(id, { ...fast(), supabase: rt.client, silentMs: 60_000 });
    await until(() => rt.joined.length === 1, 'a join');
    rt.status('SUBSCRIBED');
    await until(() => hook.current.isLive, 'live');
    rt.status('CHANNEL_ERROR');
    await until(() => !hook.current.isLive, 'not live');
    expect(rt.removed).toHaveLength(1);
    const job = await claim();
    await db.store.completeJobs([{ id, leaseToken: job.leaseToken, result: { via: 'polling' } }]);
    await until(() => hook.current.status === 'completed', 'completed by polling', 3_000);
    expect(hook.current.result).toEqual({ via: 'polling' });
  });

  it('polls anyway when a live channel stays silent', async () => {
    const id = await enqueue();
    const rt = fakeRealtime();
    const hook = renderUseJob(id, { ...fast(), supabase: rt.client, silentMs: 300 });
    await until(() => rt.joined.length === 1, 'a join');
    rt.status('SUBSCRIBED');
    const job = await claim();
    await db.store.completeJobs([{ id, leaseToken: job.leaseToken, result: { via: 'silence' } }]);
    await until(() => hook.current.status === 'completed', 'completed after silence', 3_000);
  });
});
