/**
 * The routes on the supabase-js store, as on Vercel with SUPABASE_URL and a secret key: through
 * the PostgREST stand-in to the real database. Users' JWTs are passed on; guests get a minted
 * one-minute token; ownership is the same as on the direct store.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../lib/http/auth.ts';
import { createJobRoutes, type JobRoutes } from '../../lib/http/routes.ts';
import { storesFromEnv, supabaseStores } from '../../lib/http/stores.ts';
import { createSupabaseStore } from '../../lib/supabase-store.ts';
import { useTestDb } from '../support/db.ts';
import { GUEST_SECRET, JWT_SECRET, bearer, params, registry, request, userToken } from '../support/http.ts';
import { signJwt, startPostgrest, type PostgrestStandIn } from '../support/postgrest.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs'] });
let postgrest: PostgrestStandIn;
let routes: JobRoutes;

beforeAll(async () => {
  postgrest = await startPostgrest({ databaseUrl: db.url, jwtSecret: JWT_SECRET });
  const serviceKey = await signJwt(JWT_SECRET, { role: 'service_role' });
  const stores = storesFromEnv({ SUPABASE_URL: postgrest.url, SUPABASE_SERVICE_ROLE_KEY: serviceKey, SUPABASE_JWT_SECRET: JWT_SECRET, DATABASE_URL: 'postgres://unused' });
  expect(stores.adapter).toBe('supabase-js');
  routes = createJobRoutes({ registry, stores, auth: createAuthenticator({ jwtSecret: JWT_SECRET, guestSecret: GUEST_SECRET }) });
});
afterAll(async () => {
  await postgrest?.stop();
});

const enqueue = (headers: Record<string, string>, type = 'report.generate', input: unknown = { title: 'x', rows: [1] }) =>
  routes.enqueue(request('POST', '/api/jobs', { json: { type, input }, headers }));

describe('routes on the supabase-js store', () => {
  it('enqueues as the signed-in user (owner from the JWT) and hides the job from others', async () => {
    const sub = randomUUID();
    const token = await userToken(sub);
    const response = await enqueue(bearer(token), 'billing.sync', { account: 'a' });
    expect(response.status).toBe(202);
    const { id } = await response.json();
    expect((await db.sql`select owner_id from edgejobs.jobs where id = ${id}`)[0]!.owner_id).toBe(sub);
    expect((await routes.status(request('GET', `/api/jobs/${id}`, { headers: bearer(token) }), params(id))).status).toBe(200);
    expect((await routes.status(request('GET', `/api/jobs/${id}`, { headers: bearer(await userToken(randomUUID())) }), params(id))).status).toBe(404);
  });

  it('serves guests with a minted token: own jobs visible, other guests get 404', async () => {
    const response = await enqueue({});
    expect(response.status).toBe(202);
    const { id } = await response.json();
    const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
    expect((await routes.status(request('GET', `/api/jobs/${id}`, { headers: { cookie } }), params(id))).status).toBe(200);
    const other = (await enqueue({})).headers.get('set-cookie')!.split(';')[0]!;
    expect((await routes.status(request('GET', `/api/jobs/${id}`, { headers: { cookie: other } }), params(id))).status).toBe(404);
    const list = await (await routes.list(request('GET', '/api/jobs', { headers: { cookie } }))).json();
    expect(list.jobs.map((j: { id: string }) => j.id)).toEqual([id]);
  });

  it('maps the Data API\'s errors to the same statuses: 409 on a replayed key with new input, 409 on a finished job', async () => {
    const headers = { ...bearer(await userToken(randomUUID())), 'idempotency-key': 'k' };
    expect((await enqueue(headers, 'billing.sync', { account: 'a' })).status).toBe(202);
    const conflict = await enqueue(headers, 'billing.sync', { account: 'b' });
    expect(conflict.status).toBe(409);
    expect((await conflict.json()).error.code).toBe('idempotency_conflict');
    const user = bearer(await userToken(randomUUID()));
    const { id } = await (await enqueue(user, 'billing.sync', { account: 'c' })).json();
    expect((await routes.cancel(request('DELETE', `/api/jobs/${id}`, { headers: user }), params(id))).status).toBe(200);
    const finished = await routes.cancel(request('DELETE', `/api/jobs/${id}`, { headers: user }), params(id));
    expect(finished.status).toBe(409);
    expect((await finished.json()).error.code).toBe('job_finished');
  });

  it('refuses guests when it cannot mint their tokens (no JWT secret), with a clear configuration error', async () => {
    const store = createSupabaseStore({ url: postgrest.url, key: await signJwt(JWT_SECRET, { role: 'service_role' }) });
    const noSecret = supabaseStores(store);
    await expect(noSecret.forUser({ kind: 'user', userId: randomUUID(), anonymous: true, claims: {}, accessToken: null })).rejects.toThrow(/SUPABASE_JWT_SECRET/);
  });
});
