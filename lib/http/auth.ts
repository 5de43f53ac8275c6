/**
 * Who is calling a route. With Supabase Auth that is the user in the JWT (the Authorization
 * header, or the session cookie `@supabase/ssr` writes), verified here with `jose` against the
 * project's JWT secret (HS256) or its JWKS (asymmetric keys), so the SQL sees the same
 * `auth.uid()` as it would through PostgREST. Server code may call with the service key.
 * Optionally, callers without an account get a signed guest cookie: a stable anonymous identity
 * that owns the jobs it enqueues, like a Supabase anonymous sign-in.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { EdgeJobsError } from '../errors.ts';
import { bearerToken, constantTimeEqual } from '../secrets.ts';

/** The caller of a route, after authentication. */
export type Caller =
  | { kind: 'service' }
  | {
    kind: 'user';
    /** auth.uid(): the JWT's `sub`, or the guest id. */
    userId: string;
    /** A Supabase anonymous sign-in, or a guest cookie: may only enqueue types with allowAnonymous. */
    anonymous: boolean;
    /** The claims the SQL sees in `request.jwt.claims`. */
    claims: Record<string, unknown>;
    /** The verified JWT, when the caller sent one (null for guests). */
    accessToken: string | null;
  }
  | { kind: 'none' };

export type UserCaller = Extract<Caller, { kind: 'user' }>;

export interface AuthOptions {
  /** The project's legacy JWT secret (HS256): SUPABASE_JWT_SECRET. */
  jwtSecret?: string;
  /** The project's JWKS URL, for asymmetric signing keys: `${SUPABASE_URL}/auth/v1/.well-known/jwks.json`. */
  jwksUrl?: string;
  /** Keys that make the caller the service (e.g. an `sb_secret_…` key, which is not a JWT). Compared in constant time. */
  serviceKeys?: string[];
  /** Enables guest identities: the secret that signs the guest cookie (32+ characters). */
  guestSecret?: string;
  /** Name of the guest cookie. Default `edgejobs-guest`. */
  guestCookie?: string;
}

export interface Authenticator {
  /** The caller of this request. Throws `unauthorized` for a token that does not verify. */
  authenticate(request: Request): Promise<Caller>;
  /** A new guest identity and its Set-Cookie header, or null when guests are off. */
  issueGuest(request: Request): Promise<{ caller: UserCaller; setCookie: string } | null>;
}

const encoder = new TextEncoder();

/**
 * Creates the authenticator for the routes. Longer than a screen because the three kinds of
 * caller (service key, user JWT, guest cookie) share the keys it prepares once; each is a short
 * block.
 * @example
 * const auth = createAuthenticator({ jwtSecret: process.env.SUPABASE_JWT_SECRET, guestSecret: process.env.EDGEJOBS_GUEST_SECRET })
 */
export function createAuthenticator(options: AuthOptions = {}): Authenticator {
  if (options.guestSecret !== undefined && options.guestSecret.length < 32) {
    throw new EdgeJobsError('configuration', 'EDGEJOBS_GUEST_SECRET (guestSecret) must be at least 32 characters');
  }
  const cookieName = options.guestCookie ?? 'edgejobs-guest';
  // A CryptoKey rather than bytes: jose checks `instanceof Uint8Array`, which fails across realms (jsdom, iframes).
  const secret = options.jwtSecret ? hmacKey(options.jwtSecret, 'verify') : null;
  const jwks = options.jwksUrl ? createRemoteJWKSet(new URL(options.jwksUrl)) : null;
  const guestKey = options.guestSecret ? hmacKey(options.guestSecret, 'both') : null;

  async function verify(token: string): Promise<JWTPayload> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new EdgeJobsError('unauthorized', 'the access token is not a JWT');
    }
    const key = alg === 'HS256' ? (secret ? await secret : null) : jwks;
    if (!key) {
      throw new EdgeJobsError('unauthorized', `cannot verify a ${alg} access token: the server has no ${alg === 'HS256' ? 'SUPABASE_JWT_SECRET' : 'JWKS (SUPABASE_URL)'}`);
    }
    let payload: JWTPayload;
    try {
      // exp is required: a token that never expires is refused, as Supabase's API refuses it.
      const checks = { requiredClaims: ['exp'] };
      ({ payload } = typeof key === 'function' ? await jwtVerify(token, key, checks) : await jwtVerify(token, key, { ...checks, algorithms: ['HS256'] }));
    } catch (e) {
      throw new EdgeJobsError('unauthorized', `the access token is invalid or expired (${(e as { code?: string }).code ?? 'invalid'})`, { cause: e });
    }
    // A user's token is for this API: aud "authenticated", as Supabase Auth issues it. (The
    // project's anon and service_role keys carry no aud; one that does must say the same.)
    const audiences = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if ((payload.role === 'authenticated' || audiences.length) && !audiences.includes('authenticated')) {
      throw new EdgeJobsError('unauthorized', `the access token is for another audience (aud ${JSON.stringify(payload.aud ?? null)}; this API takes "authenticated")`);
    }
    return payload;
  }

  function guestCaller(id: string): UserCaller {
    return {
      kind: 'user', userId: id, anonymous: true, accessToken: null,
      claims: { sub: id, role: 'authenticated', aud: 'authenticated', is_anonymous: true, edgejobs_guest: true },
    };
  }

  async function sign(id: string): Promise<string> {
    const signature = await crypto.subtle.sign('HMAC', await guestKey!, encoder.encode(id));
    return base64url(new Uint8Array(signature));
  }

  return {
    async authenticate(request) {
      const cookies = parseCookies(request.headers.get('cookie'));
      const header = request.headers.get('authorization');
      const bearer = bearerToken(header);
      if (header && !bearer) throw new EdgeJobsError('unauthorized', 'the Authorization header must be "Bearer <token>"');
      const token = bearer ?? supabaseSessionToken(cookies);
      if (token) {
        if (options.serviceKeys?.some((k) => k && constantTimeEqual(k, token))) return { kind: 'service' };
        const claims = await verify(token);
        if (claims.role === 'service_role') return { kind: 'service' };
        if (claims.role === 'authenticated' && typeof claims.sub === 'string' && claims.sub) {
          return { kind: 'user', userId: claims.sub, anonymous: claims.is_anonymous === true, claims: { ...claims }, accessToken: token };
        }
        // The anon key (role anon) says "no user": fall through to a guest cookie, if any.
        if (claims.role !== 'anon') throw new EdgeJobsError('unauthorized', `the access token's role "${String(claims.role)}" cannot call this API`);
      }
      const guest = cookies.get(cookieName);
      if (guest && guestKey) {
        const [id, signature] = guest.split('.');
        if (id && signature && UUID.test(id)) {
          const ok = await crypto.subtle.verify('HMAC', await guestKey, fromBase64url(signature), encoder.encode(id)).catch(() => false);
          if (ok) return guestCaller(id);
        }
      }
      return { kind: 'none' };
    },

    async issueGuest(request) {
      if (!guestKey) return null;
      const id = crypto.randomUUID();
      const secure = new URL(request.url).protocol === 'https:' ? '; Secure' : '';
      const setCookie = `${cookieName}=${id}.${await sign(id)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000${secure}`;
      return { caller: guestCaller(id), setCookie };
    },
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An HMAC-SHA-256 CryptoKey for a shared secret (JWT secret, guest cookie secret). */
export function hmacKey(secret: string, usage: 'sign' | 'verify' | 'both'): Promise<CryptoKey> {
  const usages: KeyUsage[] = usage === 'both' ? ['sign', 'verify'] : [usage];
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, usages);
}

/**
 * Whether a signed-in user is an operator: not anonymous, a real access token, and
 * `app_metadata[claim] === true` (user_metadata is the user's own to edit: it never counts).
 * `claim` false: no user is (the service key only). Shared by the operator routes and the console.
 */
export function isOperator(caller: UserCaller, claim: string | false): boolean {
  const meta = caller.claims.app_metadata as Record<string, unknown> | undefined;
  return claim !== false && !caller.anonymous && Boolean(caller.accessToken) && meta?.[claim] === true;
}

/** Cookie header → map (first value wins). */
export function parseCookies(header: string | null): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=');
    if (eq < 1) continue;
    const name = part.slice(0, eq).trim();
    if (!map.has(name)) {
      const raw = part.slice(eq + 1).trim();
      try {
        map.set(name, decodeURIComponent(raw));
      } catch {
        map.set(name, raw);
      }
    }
  }
  return map;
}

/**
 * The access token in the session cookie `@supabase/ssr` writes: `sb-<project ref>-auth-token`,
 * split into `.0`, `.1`, … chunks when long, holding the session JSON, optionally as
 * `base64-<base64url>`.
 */
export function supabaseSessionToken(cookies: Map<string, string>): string | undefined {
  const groups = new Map<string, Array<{ index: number; value: string }>>();
  for (const [name, value] of cookies) {
    const m = /^(sb-[^.]+-auth-token)(?:\.(\d+))?$/.exec(name);
    if (!m) continue;
    const list = groups.get(m[1]!) ?? [];
    list.push({ index: m[2] === undefined ? -1 : Number(m[2]), value });
    groups.set(m[1]!, list);
  }
  for (const parts of groups.values()) {
    let text = parts.sort((a, b) => a.index - b.index).map((p) => p.value).join('');
    try {
      if (text.startsWith('base64-')) text = new TextDecoder().decode(fromBase64url(text.slice(7)));
      const session = JSON.parse(text) as unknown;
      const token = Array.isArray(session) ? session[0] : (session as { access_token?: unknown })?.access_token;
      if (typeof token === 'string' && token) return token;
    } catch {
      // Not a session we can read: treated as no cookie.
    }
  }
  return undefined;
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
