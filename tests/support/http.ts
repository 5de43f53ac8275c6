/** Route handlers wired to a test database, and small helpers to call them like a browser would. */
import { z } from 'zod';
import { createRegistry, defineJob } from '../../lib/job.ts';
import { createAuthenticator } from '../../lib/http/auth.ts';
import { createJobRoutes, type JobRoutesOptions } from '../../lib/http/routes.ts';
import { postgresStores } from '../../lib/http/stores.ts';
import type { PostgresStore } from '../../lib/postgres-store.ts';
import { signJwt } from './postgrest.ts';

export const JWT_SECRET = 'test-jwt-secret-that-is-at-least-32-characters';
export const GUEST_SECRET = 'test-guest-secret-that-is-at-least-32-characters';
export const SERVICE_KEY = 'sb_secret_test_service_key_0123456789';

export const report = defineJob({
  type: 'report.generate',
  input: z.object({ title: z.string().min(1), rows: z.array(z.number()).max(1000) }),
  allowAnonymous: true,
  handler: ({ rows }) => ({ total: rows.reduce((a, b) => a + b, 0) }),
});
export const billing = defineJob({
  type: 'billing.sync',
  input: z.object({ account: z.string() }),
  handler: () => ({ ok: true }),
});
/** Only server code enqueues payouts (allowUsers: false). */
export const payout = defineJob({
  type: 'billing.payout',
  input: z.object({ amount: z.number() }),
  allowUsers: false,
  handler: () => ({ paid: true }),
});
export const registry = createRegistry([report, billing, payout]);

export function makeRoutes(store: PostgresStore, overrides: Partial<JobRoutesOptions<typeof registry.definitions[number]>> = {}) {
  return createJobRoutes({
    registry,
    stores: postgresStores(store),
    auth: createAuthenticator({ jwtSecret: JWT_SECRET, guestSecret: GUEST_SECRET, serviceKeys: [SERVICE_KEY] }),
    ...overrides,
  });
}

export const userToken = (sub: string, extra: Record<string, unknown> = {}, expiresIn: string | number = '1h') =>
  signJwt(JWT_SECRET, { sub, role: 'authenticated', aud: 'authenticated', ...extra }, expiresIn);

export function request(method: string, path: string, init: { json?: unknown; body?: BodyInit; headers?: Record<string, string> } = {}): Request {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  return new Request(`http://localhost${path}`, { method, headers, body, ...(body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const params = (id: string) => ({ params: Promise.resolve({ id }) });
