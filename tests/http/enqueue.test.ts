import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.ts';
import { SERVICE_KEY, bearer, makeRoutes, registry, report, request, userToken } from '../support/http.ts';
import { signJwt } from '../support/postgrest.ts';
import type { JobRoutes } from '../../lib/http/routes.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs'] });
let routes: JobRoutes;
beforeAll(() => {
  routes = makeRoutes(db.store);
});

const rows = async () => db.sql`select id, type, input, owner_id, priority, idempotency_key from edgejobs.jobs order by created_at`;
const goodReport = { title: 'Q3', rows: [1, 2, 3] };

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = await response.json();
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(await rows()).toEqual([]);
  return body.error;
}

describe('POST /api/jobs', () => {
  it('answers 202 with id, statusUrl, Location and Retry-After, and stores one row owned by the user', async () => {
    const user = randomUUID();
    const response = await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input: { account: 'acme' } }, headers: bearer(await userToken(user)) }));
    expect(response.status).toBe(202);
    const body = await response.json();
    expect(body).toEqual({ id: expect.any(String), type: 'billing.sync', status: 'queued', statusUrl: `/api/jobs/${body.id}`, createdAt: expect.any(String), replayed: false });
    expect(response.headers.get('location')).toBe(body.statusUrl);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await rows()).toEqual([expect.objectContaining({ id: body.id, type: 'billing.sync', input: { account: 'acme' }, owner_id: user })]);
  });

  it('replays an Idempotency-Key: the same job, no new row, marked as a replay; a different input is 409', async () => {
    const headers = { ...bearer(await userToken(randomUUID())), 'idempotency-key': 'order-42' };
    const first = await (await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input: { account: 'a' } }, headers }))).json();
    const again = await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input: { account: 'a' } }, headers }));
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toMatchObject({ id: first.id, replayed: true });
    const conflict = await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input: { account: 'b' } }, headers }));
    expect(conflict.status).toBe(409);
    const { error } = await conflict.json();
    expect(error.code).toBe('idempotency_conflict');
    // One job, no batch index: the database's "jobs[0] reuses …" is not the single API's wording.
    expect(error.message).toMatch(/^reuses idempotency key "order-42" of job /);
    expect(await rows()).toHaveLength(1);
  });

  it('names an unknown option by its path (options.bogus), every one of them', async () => {
    const response = await routes.enqueue(request('POST', '/api/jobs', {
      json: { type: 'billing.sync', input: { account: 'a' }, options: { bogus: 1, other: 2 } }, headers: bearer(await userToken(randomUUID())),
    }));
    const error = await expectError(response, 422, 'validation_failed');
    expect(error.issues.map((i: { path: string }) => i.path)).toEqual(['options.bogus', 'options.other']);
  });

  it('takes the idempotency key from options.idempotencyKey too', async () => {
    const headers = bearer(await userToken(randomUUID()));
    const json = { type: 'billing.sync', input: { account: 'a' }, options: { idempotencyKey: 'k-1' } };
    const a = await (await routes.enqueue(request('POST', '/api/jobs', { json, headers }))).json();
    const b = await (await routes.enqueue(request('POST', '/api/jobs', { json, headers }))).json();
    expect(b).toMatchObject({ id: a.id, replayed: true });
    expect(await rows()).toHaveLength(1);
  });

  it('refuses a body that is not JSON with 415', async () => {
    await expectError(await routes.enqueue(request('POST', '/api/jobs', { body: 'type=report', headers: { 'content-type': 'application/x-www-form-urlencoded' } })), 415, 'unsupported_media_type');
    await expectError(await routes.enqueue(request('POST', '/api/jobs', { body: '{}' })), 415, 'unsupported_media_type');
  });

  it('refuses malformed and empty JSON with 400', async () => {
    const headers = { 'content-type': 'application/json' };
    const error = await expectError(await routes.enqueue(request('POST', '/api/jobs', { body: '{"type": "report.generate",', headers })), 400, 'malformed_json');
    expect(error.message).toMatch(/not valid JSON/);
    await expectError(await routes.enqueue(request('POST', '/api/jobs', { body: '', headers })), 400, 'malformed_json');
  });

  it('refuses a body over the limit with 413, by Content-Length and while streaming', async () => {
    const big = JSON.stringify({ type: 'report.generate', input: { title: 'x'.repeat(2_000_000), rows: [] } });
    await expectError(await routes.enqueue(request('POST', '/api/jobs', { body: big, headers: { 'content-type': 'application/json' } })), 413, 'payload_too_large');
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 65_536) controller.enqueue(bytes.subarray(i, i + 65_536));
        controller.close();
      },
    });
    await expectError(await routes.enqueue(request('POST', '/api/jobs', { body: stream, headers: { 'content-type': 'application/json' } })), 413, 'payload_too_large');
  });

  it('refuses an unknown type with 422 unknown_job_type', async () => {
    await expectError(await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'nope', input: {} } })), 422, 'unknown_job_type');
  });

  it('refuses schema violations with 422 listing every issue and its path', async () => {
    const error = await expectError(await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'report.generate', input: { title: '', rows: [1, 'two', 3, null] } } })), 422, 'validation_failed');
    expect(error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['input.rows.1', 'input.rows.3', 'input.title']);
    const envelope = await expectError(await routes.enqueue(request('POST', '/api/jobs', { json: { kind: 'x' } })), 422, 'validation_failed');
    expect(envelope.issues.map((i: { path: string }) => i.path)).toEqual(expect.arrayContaining(['type']));
    const options = await expectError(await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'report.generate', input: goodReport, options: { delayMs: -1, colour: 'red' } } })), 422, 'validation_failed');
    expect(options.issues.length).toBe(2);
  });

  it('needs credentials for types that do not allow anonymous callers: 401 without or with a bad token', async () => {
    const json = { type: 'billing.sync', input: { account: 'a' } };
    await expectError(await routes.enqueue(request('POST', '/api/jobs', { json })), 401, 'unauthorized');
    const forged = await signJwt('another-secret-that-is-at-least-32-characters!', { sub: randomUUID(), role: 'authenticated' });
    await expectError(await routes.enqueue(request('POST', '/api/jobs', { json, headers: bearer(forged) })), 401, 'unauthorized');
    const expired = await userToken(randomUUID(), {}, Math.floor(Date.now() / 1000) - 60);
    await expectError(await routes.enqueue(request('POST', '/api/jobs', { json, headers: bearer(expired) })), 401, 'unauthorized');
    await expectError(await routes.enqueue(request('POST', '/api/jobs', { json, headers: { authorization: 'Basic abc' } })), 401, 'unauthorized');
  });

  it('forbids (403) anonymous users on signed-in types, and server-only options to users', async () => {
    const anonymous = await userToken(randomUUID(), { is_anonymous: true });
    await expectError(await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input: { account: 'a' } }, headers: bearer(anonymous) })), 403, 'forbidden');
    const user = await userToken(randomUUID());
    const error = await expectError(await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input: { account: 'a' }, options: { priority: 100 } }, headers: bearer(user) })), 403, 'forbidden');
    expect(error.message).toMatch(/options\.priority/);
  });

  it('gives anonymous callers of an allowAnonymous type a guest identity that owns the job', async () => {
    const response = await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'report.generate', input: goodReport } }));
    expect(response.status).toBe(202);
    const cookie = response.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^edgejobs-guest=[0-9a-f-]{36}\.[\w-]+; Path=\/; HttpOnly; SameSite=Lax/);
    const [row] = await rows();
    expect(row!.owner_id).toBe(cookie.slice('edgejobs-guest='.length, cookie.indexOf('.')));
    const again = await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'report.generate', input: goodReport }, headers: { cookie: cookie.split(';')[0]! } }));
    expect(again.headers.get('set-cookie')).toBeNull();
    expect(new Set((await rows()).map((r) => r.owner_id)).size).toBe(1);
  });

  it('lets the server (service key) enqueue any type with server-only options, without an owner', async () => {
    const response = await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input: { account: 'a' }, options: { priority: 50 } }, headers: bearer(SERVICE_KEY) }));
    expect(response.status).toBe(202);
    expect(await rows()).toEqual([expect.objectContaining({ owner_id: null, priority: 50 })]);
  });

  it('reads the user from the @supabase/ssr session cookie (chunked, base64-)', async () => {
    const user = randomUUID();
    const session = JSON.stringify({ access_token: await userToken(user), refresh_token: 'r', token_type: 'bearer' });
    const encoded = `base64-${Buffer.from(session).toString('base64url')}`;
    const cookie = `sb-abcdefgh-auth-token.0=${encoded.slice(0, 100)}; sb-abcdefgh-auth-token.1=${encoded.slice(100)}`;
    const response = await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input: { account: 'a' } }, headers: { cookie } }));
    expect(response.status).toBe(202);
    expect((await rows())[0]!.owner_id).toBe(user);
  });

  it('refuses (403) users on a type only the server enqueues; the server may', async () => {
    const json = { type: 'billing.payout', input: { amount: 5 } };
    const error = await expectError(await routes.enqueue(request('POST', '/api/jobs', { json, headers: bearer(await userToken(randomUUID())) })), 403, 'forbidden');
    expect(error.message).toBe('"billing.payout" can only be enqueued by the server');
    expect((await routes.enqueue(request('POST', '/api/jobs', { json, headers: bearer(SERVICE_KEY) }))).status).toBe(202);
  });

  it('refuses with 400, naming the place, what Postgres cannot store, before it reaches the database', async () => {
    const headers = bearer(await userToken(randomUUID()));
    const post = (body: string) => routes.enqueue(request('POST', '/api/jobs', { body, headers: { ...headers, 'content-type': 'application/json' } }));
    const cases: Array<[string, RegExp]> = [
      ['{"type":"report.generate","input":{"title":"a\\u0000b","rows":[]}}', /^input\.title holds the NUL character/],
      ['{"type":"report.generate","input":{"title":"t","rows":[1e200000]}}', /^input\.rows\.0 is Infinity: JSON numbers must be finite/],
      ['{"type":"report.generate","input":{"title":"\\ud800","rows":[]}}', /^input\.title holds a lone UTF-16 surrogate/],
      [`{"type":"report.generate","input":{"title":"t","rows":[],"deep":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`, /^input\.deep(\.0)+ is nested more than 64 levels deep/],
      ['{"type":"report.generate","input":{"title":"t","rows":[]},"options":{"idempotencyKey":"k\\u0000"}}', /^options\.idempotencyKey holds the NUL character/],
    ];
    for (const [body, message] of cases) {
      const error = await expectError(await post(body), 400, 'invalid_argument');
      expect(error.message).toMatch(message);
    }
  });

  it('writes the registry into the database, so that rpc() callers meet the same rules', async () => {
    await routes.enqueue(request('POST', '/api/jobs', { json: { type: 'billing.sync', input: { account: 'a' } }, headers: bearer(await userToken(randomUUID())) }));
    const types = await db.sql`select type, users_may_enqueue, anonymous_may_enqueue from edgejobs.job_types order by type`;
    expect(types).toEqual([
      { type: 'billing.payout', users_may_enqueue: false, anonymous_may_enqueue: false },
      { type: 'billing.sync', users_may_enqueue: true, anonymous_may_enqueue: false },
      { type: 'report.generate', users_may_enqueue: true, anonymous_may_enqueue: true },
    ]);
    // The same user, straight to the SQL API as supabase.rpc() would call it: the route's answers.
    const claims = { sub: randomUUID(), role: 'authenticated', aud: 'authenticated' };
    const rpc = (jobs: unknown) => db.as('authenticated', claims, (tx) => tx`select * from public.enqueue_jobs(${tx.json(jobs as never)}::jsonb)`)
      .then(() => 'stored', (e: { code: string }) => e.code);
    expect(await rpc([{ type: 'no.such.type', input: {} }])).toBe('EJ006');
    expect(await rpc([{ type: 'billing.payout', input: { amount: 1 } }])).toBe('42501');
    expect(await rpc([{ type: 'billing.sync', input: { account: 'a' }, priority: 1_000_000 }])).toBe('42501');
    expect(await rpc([{ type: 'billing.sync', input: { account: 'a' } }])).toBe('stored');
  });

  it('answers 503 with Retry-After when the database is unreachable', async () => {
    const { createPostgresStore } = await import('../../lib/postgres-store.ts');
    const down = createPostgresStore({ url: 'postgres://postgres@127.0.0.1:1/none', max: 1 });
    try {
      const response = await makeRoutes(down).enqueue(request('POST', '/api/jobs', { json: { type: 'report.generate', input: goodReport }, headers: bearer(SERVICE_KEY) }));
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect((await response.json()).error.code).toBe('database_unavailable');
    } finally {
      await down.stop();
    }
  });
});

describe('a typed enqueue route (enqueueRoute)', () => {
  it('takes the job input as the body and answers 202; issues have paths inside the input', async () => {
    const post = routes.enqueueRoute(report);
    const ok = await post(request('POST', '/api/reports', { json: goodReport, headers: bearer(await userToken(randomUUID())) }));
    expect(ok.status).toBe(202);
    expect(await ok.json()).toMatchObject({ type: 'report.generate', status: 'queued' });
    await db.sql`delete from edgejobs.jobs`;
    const bad = await post(request('POST', '/api/reports', { json: { title: 'x', rows: 'no' }, headers: bearer(await userToken(randomUUID())) }));
    const error = await expectError(bad, 422, 'validation_failed');
    expect(error.issues).toEqual([expect.objectContaining({ path: 'rows' })]);
  });

  it('refuses a definition that is not in the registry, at construction', () => {
    expect(() => routes.enqueueRoute({ ...report })).toThrow(/not in the registry/);
    expect(registry.types()).toContain('report.generate');
  });
});
