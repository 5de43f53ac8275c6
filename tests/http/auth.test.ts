import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey as JoseKey } from 'jose';
import { createAuthenticator, parseCookies, supabaseSessionToken } from '../../lib/http/auth.ts';
import { GUEST_SECRET, JWT_SECRET, SERVICE_KEY, request } from '../support/http.ts';
import { signJwt } from '../support/postgrest.ts';

let jwks: Server;
let jwksUrl: string;
let privateKey: JoseKey;
let jwksHits = 0;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
  jwks = createServer((req, res) => {
    jwksHits++;
    res.writeHead(req.url === '/auth/v1/.well-known/jwks.json' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/auth/v1/.well-known/jwks.json`;
});
afterAll(() => new Promise<void>((r) => jwks.close(() => r())));

const es256 = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'key-1' })
  .setIssuedAt().setExpirationTime('5m').sign(privateKey);
const withBearer = (token: string) => request('GET', '/api/jobs', { headers: { authorization: `Bearer ${token}` } });
const codeOf = (promise: Promise<unknown>) => promise.then(() => 'ok', (e: { code?: string }) => e.code);

describe('createAuthenticator', () => {
  const auth = () => createAuthenticator({ jwtSecret: JWT_SECRET, jwksUrl, serviceKeys: [SERVICE_KEY], guestSecret: GUEST_SECRET });

  it('verifies asymmetric (ES256) user tokens against the project JWKS', async () => {
    const sub = randomUUID();
    const caller = await auth().authenticate(withBearer(await es256({ sub, role: 'authenticated', aud: 'authenticated' })));
    expect(caller).toMatchObject({ kind: 'user', userId: sub, anonymous: false });
    expect(jwksHits).toBeGreaterThan(0);
  });

  it('refuses a token signed by another key, and asymmetric tokens when no JWKS is configured', async () => {
    const other = await generateKeyPair('ES256');
    const forged = await new SignJWT({ sub: randomUUID(), role: 'authenticated' }).setProtectedHeader({ alg: 'ES256', kid: 'key-1' }).setExpirationTime('5m').sign(other.privateKey);
    expect(await codeOf(auth().authenticate(withBearer(forged)))).toBe('unauthorized');
    const hsOnly = createAuthenticator({ jwtSecret: JWT_SECRET });
    expect(await codeOf(hsOnly.authenticate(withBearer(await es256({ sub: randomUUID(), role: 'authenticated' }))))).toBe('unauthorized');
  });

  it('maps roles: service_role → service, anon key → no user, anything else → 401', async () => {
    expect(await auth().authenticate(withBearer(await signJwt(JWT_SECRET, { role: 'service_role' })))).toEqual({ kind: 'service' });
    expect(await auth().authenticate(withBearer(SERVICE_KEY))).toEqual({ kind: 'service' });
    expect(await auth().authenticate(withBearer(await signJwt(JWT_SECRET, { role: 'anon' })))).toEqual({ kind: 'none' });
    expect(await codeOf(auth().authenticate(withBearer(await signJwt(JWT_SECRET, { role: 'supabase_admin', sub: randomUUID() }))))).toBe('unauthorized');
    expect(await codeOf(auth().authenticate(withBearer(`${SERVICE_KEY}x`)))).toBe('unauthorized');
  });

  it('refuses a well-signed token without exp, or for another audience, as Supabase\'s API does', async () => {
    const sub = randomUUID();
    const key = new TextEncoder().encode(JWT_SECRET);
    const forever = await new SignJWT({ sub, role: 'authenticated', aud: 'authenticated' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(key);
    expect(await codeOf(auth().authenticate(withBearer(forever)))).toBe('unauthorized');
    for (const aud of ['other-project', ['api', 'other']]) {
      expect(await codeOf(auth().authenticate(withBearer(await signJwt(JWT_SECRET, { sub, role: 'authenticated', aud }))))).toBe('unauthorized');
    }
    // A user token must name its audience; the project's keys (anon, service_role) carry none.
    expect(await codeOf(auth().authenticate(withBearer(await signJwt(JWT_SECRET, { sub, role: 'authenticated' }))))).toBe('unauthorized');
    expect(await auth().authenticate(withBearer(await signJwt(JWT_SECRET, { sub, role: 'authenticated', aud: ['authenticated', 'x'] })))).toMatchObject({ kind: 'user', userId: sub });
    expect(await auth().authenticate(withBearer(await es256({ sub, role: 'authenticated', aud: 'authenticated' })))).toMatchObject({ kind: 'user' });
    expect(await codeOf(auth().authenticate(withBearer(await es256({ sub, role: 'authenticated', aud: 'elsewhere' }))))).toBe('unauthorized');
    expect(await auth().authenticate(withBearer(await signJwt(JWT_SECRET, { role: 'service_role' })))).toEqual({ kind: 'service' });
  });

  it('accepts its own guest cookies and ignores tampered ones', async () => {
    const issued = (await auth().issueGuest(request('POST', '/api/jobs')))!;
    const cookie = issued.setCookie.split(';')[0]!;
    expect(await auth().authenticate(request('GET', '/', { headers: { cookie } }))).toMatchObject({ kind: 'user', userId: issued.caller.userId, anonymous: true, accessToken: null });
    const [name, value] = cookie.split('=') as [string, string];
    const tampered = `${name}=${randomUUID()}.${value.split('.')[1]}`;
    expect(await auth().authenticate(request('GET', '/', { headers: { cookie: tampered } }))).toEqual({ kind: 'none' });
    const noGuests = createAuthenticator({ jwtSecret: JWT_SECRET });
    expect(await noGuests.issueGuest(request('POST', '/'))).toBeNull();
    expect(await noGuests.authenticate(request('GET', '/', { headers: { cookie } }))).toEqual({ kind: 'none' });
    expect(issued.setCookie).not.toMatch(/Secure/);
    expect((await auth().issueGuest(new Request('https://app.example/api/jobs', { method: 'POST' })))!.setCookie).toMatch(/; Secure$/);
  });

  it('refuses a guest secret shorter than 32 characters, naming the variable', () => {
    expect(() => createAuthenticator({ guestSecret: 'short' })).toThrow(/EDGEJOBS_GUEST_SECRET/);
  });
});

describe('reading the @supabase/ssr session cookie', () => {
  it('joins chunks in order, decodes base64- values, and reads plain JSON and the older array form', () => {
    const session = JSON.stringify({ access_token: 'token-abc', refresh_token: 'r' });
    const b64 = `base64-${Buffer.from(session).toString('base64url')}`;
    expect(supabaseSessionToken(parseCookies(`sb-ref-auth-token.1=${b64.slice(10)}; other=1; sb-ref-auth-token.0=${b64.slice(0, 10)}`))).toBe('token-abc');
    expect(supabaseSessionToken(parseCookies(`sb-ref-auth-token=${encodeURIComponent(session)}`))).toBe('token-abc');
    expect(supabaseSessionToken(parseCookies(`sb-ref-auth-token=${encodeURIComponent(JSON.stringify(['tok-1', 'r']))}`))).toBe('tok-1');
    expect(supabaseSessionToken(parseCookies('sb-ref-auth-token=garbage'))).toBeUndefined();
    expect(supabaseSessionToken(parseCookies(null))).toBeUndefined();
  });
});
