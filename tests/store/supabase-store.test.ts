/**
 * The supabase-js adapter through the PostgREST stand-in (tests/support/postgrest.ts): real
 * supabase-js, real HTTP, the real database; only PostgREST itself is stood in for. The store
 * uses the project's new keys (`sb_secret_…`, `sb_publishable_…`), as the README recommends;
 * one test keeps the legacy JWT keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSupabaseStore, type SupabaseStore } from '../../lib/supabase-store.ts';
import { EdgeJobsError } from '../../lib/errors.ts';
import { useTestDb, userClaims } from '../support/db.ts';
import { PUBLISHABLE_KEY, SECRET_KEY, signJwt, startPostgrest, type PostgrestStandIn } from '../support/postgrest.ts';
import { storeConformance } from './conformance.ts';

const JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';
const db = useTestDb();
let postgrest: PostgrestStandIn;
let service: SupabaseStore;

beforeAll(async () => {
  postgrest = await startPostgrest({ databaseUrl: db.url, jwtSecret: JWT_SECRET });
  service = createSupabaseStore({ url: postgrest.url, key: SECRET_KEY });
});
afterAll(async () => {
  await postgrest?.stop();
});

storeConformance('supabase-js', () => ({
  service: () => service,
  asUser: async (id) => createSupabaseStore({ url: postgrest.url, key: PUBLISHABLE_KEY })
    .withAccessToken(await signJwt(JWT_SECRET, userClaims(id))),
  asAnon: async () => createSupabaseStore({ url: postgrest.url, key: PUBLISHABLE_KEY }),
  rows: (query, params = []) => db.sql.unsafe(query, params as never[]),
}));

describe('supabase-js store', () => {
  it('makes exactly one rpc per store call', async () => {
    const before = postgrest.calls.length;
    await service.enqueueJobs(Array.from({ length: 50 }, (_, i) => ({ type: 'one.call', input: { i } })));
    expect(postgrest.calls.slice(before)).toEqual(['enqueue_jobs']);
  });

  it('works with the legacy JWT keys too (service_role and anon)', async () => {
    const legacyService = createSupabaseStore({ url: postgrest.url, key: await signJwt(JWT_SECRET, { role: 'service_role' }) });
    const legacyAnon = createSupabaseStore({ url: postgrest.url, key: await signJwt(JWT_SECRET, { role: 'anon' }) });
    expect([legacyService.actsAs, legacyAnon.actsAs]).toEqual(['service', 'user']);
    const [job] = await legacyService.enqueueJobs([{ type: 'legacy.key', input: {}, priority: 3 }]);
    expect(await legacyService.getJob(job!.id)).toMatchObject({ priority: 3 });
    await expect(legacyAnon.getJob(job!.id)).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('acts as the role each key stands for, and a wrong sb_ key gets nothing', async () => {
    expect([service.actsAs, createSupabaseStore({ url: postgrest.url, key: PUBLISHABLE_KEY }).actsAs]).toEqual(['service', 'user']);
    const wrong = createSupabaseStore({ url: postgrest.url, key: 'sb_secret_not-this-project' });
    await expect(wrong.getQueueHealth()).rejects.toMatchObject({ code: 'configuration', message: expect.stringContaining('SUPABASE_SECRET_KEY') });
    await expect(createSupabaseStore({ url: postgrest.url, key: PUBLISHABLE_KEY }).getQueueHealth()).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('reports an unreachable Data API as database_unavailable (retryable)', async () => {
    const store = createSupabaseStore({ url: 'http://127.0.0.1:1', key: PUBLISHABLE_KEY });
    const error = await store.getJob('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EdgeJobsError);
    expect(error).toMatchObject({ code: 'database_unavailable', retryable: true });
  });

  it('refuses construction without url and key, naming the variables', () => {
    expect(() => createSupabaseStore({ url: 'http://x' })).toThrow(/SUPABASE_SERVICE_ROLE_KEY/);
  });
});
