/**
 * Which store a route uses for a caller: the service role for server calls and operators, the
 * user's own identity for users, so that ownership and RLS come from auth.uid() in the SQL.
 */
import { SignJWT } from 'jose';
import { EdgeJobsError } from '../errors.ts';
import { createPostgresStore, type PostgresStore } from '../postgres-store.ts';
import { createSupabaseStore, type SupabaseStore } from '../supabase-store.ts';
import type { ClientStore, Store } from '../store.ts';
import { hmacKey, type UserCaller } from './auth.ts';

export interface StoreProvider {
  /** The store acting as the service role. */
  readonly service: Store;
  /** The store acting as this user. */
  forUser(user: UserCaller): Promise<ClientStore>;
  /** Which adapter this is, for logs and health answers. */
  readonly adapter: 'postgres' | 'supabase-js';
  stop(): Promise<void>;
}

/** On the direct connection: each user call runs with the role and claims PostgREST would set. */
export function postgresStores(store: PostgresStore): StoreProvider {
  return {
    adapter: 'postgres',
    service: store,
    forUser: async (user) => store.withAuth({ role: 'authenticated', claims: user.claims }),
    stop: () => store.stop(),
  };
}

/**
 * Through the Data API: user calls carry the user's JWT. Guests (who have no JWT) get a
 * one-minute token signed with the project's JWT secret, so this needs `jwtSecret` for guests.
 */
export function supabaseStores(store: SupabaseStore, options: { jwtSecret?: string } = {}): StoreProvider {
  const secret = options.jwtSecret ? hmacKey(options.jwtSecret, 'sign') : null;
  return {
    adapter: 'supabase-js',
    service: store,
    async forUser(user) {
      if (user.accessToken) return store.withAccessToken(user.accessToken);
      if (!secret) {
        throw new EdgeJobsError('configuration', 'guest callers through the supabase-js store need SUPABASE_JWT_SECRET (or use Supabase anonymous sign-ins)');
      }
      const token = await new SignJWT(user.claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuedAt().setExpirationTime('60s').sign(await secret);
      return store.withAccessToken(token);
    },
    stop: () => store.stop(),
  };
}

/** The environment variables the routes read. */
export interface JobsEnv {
  SUPABASE_URL?: string;
  SUPABASE_SECRET_KEY?: string;
  SUPABASE_SERVICE_ROLE_KEY?: string;
  SUPABASE_JWT_SECRET?: string;
  DATABASE_URL?: string;
  [key: string]: string | undefined;
}

/**
 * Picks the adapter from the environment: `SUPABASE_URL` plus `SUPABASE_SECRET_KEY` (or the legacy
 * `SUPABASE_SERVICE_ROLE_KEY`) → supabase-js; else `DATABASE_URL` → direct Postgres (prepared
 * statements off on Supabase's transaction pooler, port 6543). Throws naming the variables.
 */
export function storesFromEnv(env: JobsEnv): StoreProvider {
  const key = env.SUPABASE_SECRET_KEY || env.SUPABASE_SERVICE_ROLE_KEY;
  if (env.SUPABASE_URL && key) {
    return supabaseStores(createSupabaseStore({ url: env.SUPABASE_URL, key }), { jwtSecret: env.SUPABASE_JWT_SECRET });
  }
  if (env.DATABASE_URL) {
    const pooled = /:6543(\/|$)/.test(env.DATABASE_URL);
    return postgresStores(createPostgresStore({ url: env.DATABASE_URL, max: 5, prepare: !pooled }));
  }
  throw new EdgeJobsError('configuration', 'set SUPABASE_URL and SUPABASE_SECRET_KEY (or SUPABASE_SERVICE_ROLE_KEY), or DATABASE_URL');
}
