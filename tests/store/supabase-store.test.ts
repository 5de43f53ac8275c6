/**
 * The supabase-js adapter through the PostgREST stand-in (tests/support/postgrest.ts): real
 * supabase-js, real HTTP, the real database; only PostgREST itself is stood in for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSupabaseStore, type SupabaseStore } from '../../lib/supabase-store.ts';
import { EdgeJobsError } from '../../lib/errors.ts';
import { useTestDb, userClaims } from '../support/db.ts';
import { signJwt, startPostgrest, type PostgrestStandIn } from '../support/postgrest.ts';
import { storeConformance } from './conformance.ts';

const JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';
const db = useTestDb();
let postgrest: PostgrestStandIn;
let service: SupabaseStore;
let anonKey: string;

beforeAll(async () => {
  postgrest = await startPostgrest({ databaseUrl: db.url, jwtSecret: JWT_SECRET });
  anonKey = await signJwt(JWT_SECRET, { role: 'anon' });
  service = createSupabaseStore({ url: postgrest.url, key: await signJwt(JWT_SECRET, { role: 'service_role' }) });
});
afterAll(async () => {
  await postgrest?.stop();
});

storeConformance('supabase-js', () => ({
  service: () => service,
  asUser: async (id) => createSupabaseStore({ url: postgrest.url, key: anonKey })
    .withAccessToken(await signJwt(JWT_SECRET, userClaims(id))),
  asAnon: async () => createSupabaseStore({ url: postgrest.url, key: anonKey }),
  rows: (query, params = []) => db.sql.unsafe(query, params as never[]),
}));

describe('supabase-js store', () => {
  it('makes exactly one rpc per store call', async () => {
    const before = postgrest.calls.length;
    await service.enqueueJobs(Array.from({ length: 50 }, (_, i) => ({ type: 'one.call', input: { i } })));
    expect(postgrest.calls.slice(before)).toEqual(['enqueue_jobs']);
  });

  it('reports an unreachable Data API as database_unavailable (retryable)', async () => {
    const store = createSupabaseStore({ url: 'http://127.0.0.1:1', key: anonKey });
    const error = await store.getJob('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EdgeJobsError);
    expect(error).toMatchObject({ code: 'database_unavailable', retryable: true });
  });

  it('refuses construction without url and key, naming the variables', () => {
    expect(() => createSupabaseStore({ url: 'http://x' })).toThrow(/SUPABASE_SERVICE_ROLE_KEY/);
  });
});
