/**
 * Live updates through the Realtime stand-in (tests/support/realtime.ts) with the real supabase-js
 * client: a user joins the private topic of their own job (admitted by the `realtime.messages`
 * RLS policy, evaluated in the real database as that user), receives the broadcasts the jobs
 * table's trigger writes with `realtime.send()`, and `watchJob` follows a job by them, without
 * polling while it runs. Another user's join to that topic is refused, as is a join without a
 * valid JWT.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { createRegistry, defineJob } from '../../lib/job.ts';
import { createAuthenticator } from '../../lib/http/auth.ts';
import { createJobRoutes } from '../../lib/http/routes.ts';
import { postgresStores } from '../../lib/http/stores.ts';
import { runDrainLoop } from '../../lib/drain-loop.ts';
import { watchJob, type WatchState } from '../../lib/client/watch-job.ts';
import type { JobView } from '../../lib/wire.ts';
import { useTestDb } from '../support/db.ts';
import { JWT_SECRET, bearer, userToken } from '../support/http.ts';
import { signJwt } from '../support/postgrest.ts';
import { routeFetch } from '../support/route-fetch.ts';
import { startRealtime, type RealtimeStandIn } from '../support/realtime.ts';
import { waitFor } from '../support/wait.ts';

const steps = defineJob({
  type: 'steps.count',
  input: z.object({ steps: z.number().int().min(1).max(20), stepMs: z.number().int().min(0).max(2_000) }),
  async handler({ steps: n, stepMs }, ctx) {
    for (let step = 1; step <= n; step++) {
      await new Promise((r) => setTimeout(r, stepMs));
      ctx.progress({ step, of: n });
    }
    return { counted: n };
  },
});
const registry = createRegistry([steps]);

const db = useTestDb({ truncate: ['edgejobs.jobs'] });
let realtime: RealtimeStandIn;
let api: ReturnType<typeof routeFetch>;
let anonKey: string;
const clients: SupabaseClient[] = [];
const stopDrains = new AbortController();
let drains: Promise<void>;

beforeAll(async () => {
  realtime = await startRealtime({ databaseUrl: db.url, jwtSecret: JWT_SECRET });
  api = routeFetch(createJobRoutes({ registry, stores: postgresStores(db.store), auth: createAuthenticator({ jwtSecret: JWT_SECRET }) }));
  anonKey = await signJwt(JWT_SECRET, { role: 'anon' }, '1h');
  drains = runDrainLoop({ store: db.store, registry, signal: stopDrains.signal, roundMs: 5_000, handBackMarginMs: 500, idleMs: 50, trigger: 'test' });
});
afterAll(async () => {
  stopDrains.abort();
  await drains;
  for (const c of clients) await c.removeAllChannels();
  await realtime?.stop();
});

/** A browser's supabase-js client for a signed-in user (third-party auth style: the token is given). */
function supabaseFor(token: string) {
  const client = createClient(realtime.url, anonKey, { accessToken: async () => token, realtime: { transport: WebSocket as never } });
  clients.push(client);
  return client;
}

async function enqueueAs(headers: Record<string, string>, input: { steps: number; stepMs: number }): Promise<JobView> {
  const response = await api.fetch('/api/jobs', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'steps.count', input }) });
  expect(response.status).toBe(202);
  const { id } = (await response.json()) as { id: string };
  const status = await api.fetch(`/api/jobs/${id}`, { headers });
  return (await status.json()) as JobView;
}

/** A join as an app makes it: the token set first (supabase-js reads it from `accessToken`), then subscribe. */
const join = async (client: SupabaseClient, topic: string) => {
  await client.realtime.setAuth();
  return new Promise<{ status: string; message?: string }>((resolve) => {
    client.channel(topic, { config: { private: true } }).subscribe((status, error) => {
      if (status !== 'CLOSED') resolve({ status, message: error?.message });
    });
  });
};

it("watchJob follows the owner's job by broadcast: every step arrives, no polls while it runs", async () => {
  const owner = randomUUID();
  const headers = bearer(await userToken(owner));
  const job = await enqueueAs(headers, { steps: 6, stepMs: 300 });
  expect(job.realtimeTopic).toBe(`edgejobs:${owner}:job:${job.id}`);

  const seen: WatchState[] = [];
  const watcher = watchJob(job.id, { fetch: api.fetch, headers, supabase: supabaseFor(await userToken(owner)), onChange: (s) => seen.push(s) });
  try {
    await waitFor(async () => seen.at(-1)?.job?.status === 'completed', 'the job to complete', { timeoutMs: 20_000, intervalMs: 25 });
  } finally {
    watcher.stop();
  }
  expect(seen.some((s) => s.live)).toBe(true);
  expect(seen.at(-1)!.job!.result).toEqual({ counted: 6 });
  // The end is shown with its result, never "completed" with none in between.
  expect(seen.filter((s) => s.job?.status === 'completed').every((s) => s.job!.result !== null)).toBe(true);
  const steps = [...new Set(seen.map((s) => (s.job?.progress as { step?: number } | null)?.step).filter((n): n is number => typeof n === 'number'))];
  expect(steps.length).toBeGreaterThanOrEqual(4); // of 6: progress is flushed 4 times a second, so 300 ms steps each get through once joined
  // The broadcasts carried them to this one socket.
  // (The drain may claim the job, its first broadcast, before the watcher has joined.)
  const mine = realtime.deliveries.filter((d) => d.topic === job.realtimeTopic);
  expect(mine.filter((d) => (d.payload as { status: string }).status === 'processing' && d.sockets === 1).length).toBeGreaterThanOrEqual(4);
  expect(mine.every((d) => d.event === 'job_changed' && d.sockets <= 1)).toBe(true);
  // Polls: the first read, one after the join, and one for the result at the end; none per step.
  const polls = api.log.filter((e) => e.method === 'GET' && e.path === `/api/jobs/${job.id}`);
  expect(polls.length).toBeLessThanOrEqual(4); // + the enqueueAs read above
  expect(realtime.joins).toContainEqual({ topic: job.realtimeTopic, sub: owner, role: 'authenticated', private: true, admitted: true });
});

it("another user's join to a job's topic is refused by the RLS policy, and so is a join without a valid JWT", async () => {
  const owner = randomUUID();
  const job = await enqueueAs(bearer(await userToken(owner)), { steps: 1, stepMs: 0 });
  const other = randomUUID();
  const refused = await join(supabaseFor(await userToken(other)), job.realtimeTopic!);
  expect(refused.status).toBe('CHANNEL_ERROR');
  expect(refused.message).toContain('Unauthorized: You do not have permissions to read from this Channel topic');
  expect(realtime.joins).toContainEqual(expect.objectContaining({ topic: job.realtimeTopic, sub: other, admitted: false }));

  // A topic that names the user but is not a job topic is refused too; the owner is admitted.
  expect((await join(supabaseFor(await userToken(other)), `edgejobs:${other}:other:${job.id}`)).status).toBe('CHANNEL_ERROR');
  expect((await join(supabaseFor(await userToken(owner)), job.realtimeTopic!)).status).toBe('SUBSCRIBED');

  const forged = await signJwt('a-different-secret-that-is-at-least-32-chars', { sub: owner, role: 'authenticated' }, '1h');
  const invalid = await join(supabaseFor(forged), job.realtimeTopic!);
  expect(invalid.status).toBe('CHANNEL_ERROR');
  expect(invalid.message).toContain('InvalidJWTToken');
  // The probes rolled back: no row of the join checks is left in realtime.messages.
  expect((await db.sql`select count(*)::int as n from realtime.messages where event is null`)[0]!.n).toBe(0);
});
