/**
 * The store on supabase-js: every method is exactly one `supabase.rpc()` (PostgREST), so it works
 * wherever only the Data API is reachable (Vercel route handlers, Edge Functions). Calls act as
 * whoever the client's key or access token says: the service key for workers and operators, a
 * user's JWT for client calls (ownership from auth.uid(), RLS as PostgREST applies it).
 */
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { EdgeJobsError } from './errors.ts';
import { fromDatabaseError } from './sql-errors.ts';
import { storeFromCalls } from './sql-api.ts';
import type { Store } from './store.ts';

type Row = Record<string, unknown>;
// The generated Database types describe `public`; rpc() is called with checked names below, so
// the client is used untyped here to keep this file independent of the generated file's shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyClient = SupabaseClient<any, any, any>;

export interface SupabaseStoreOptions {
  /** A supabase-js client to use. Give this, or `url` and `key`. */
  client?: AnyClient;
  /** The project URL (SUPABASE_URL). */
  url?: string;
  /** An API key: the service key for workers and servers, the anon/publishable key for users. */
  key?: string;
  /** A user's access token (JWT): calls act as that user, as PostgREST would. */
  accessToken?: string;
  /** Passed to supabase-js; tests use it to reach a stand-in. */
  fetch?: typeof fetch;
  /**
   * Whom a given `client` acts as (with `url` and `key` it is read from the key and token):
   * 'user' for a client signed in as an end user, so that enqueue sends no server-only options.
   * Default 'service'.
   */
  actsAs?: 'service' | 'user';
}

/** A {@link Store} on supabase-js, plus `withAccessToken()`. */
export interface SupabaseStore extends Store {
  /** The same project and key, acting as the user whose JWT this is. */
  withAccessToken(accessToken: string): SupabaseStore;
  readonly client: AnyClient;
  /** Nothing to release (HTTP only); here so both adapters can be stopped alike. */
  stop(): Promise<void>;
}

/**
 * Creates the supabase-js store.
 * @example
 * const store = createSupabaseStore({ url: process.env.SUPABASE_URL, key: process.env.SUPABASE_SERVICE_ROLE_KEY })
 * const [job] = await store.enqueueJobs([{ type: 'email.send', input: { to } }])
 */
export function createSupabaseStore(options: SupabaseStoreOptions): SupabaseStore {
  if (!options.client && !(options.url && options.key)) {
    throw new EdgeJobsError('configuration', 'createSupabaseStore: give `client`, or `url` (SUPABASE_URL) and `key` (SUPABASE_SERVICE_ROLE_KEY or a secret key)');
  }
  const client = options.client ?? makeClient(options.url as string, options.key as string, options.accessToken, options.fetch);
  const withAccessToken = (token: string) => {
    if (!options.url || !options.key) {
      throw new EdgeJobsError('configuration', 'createSupabaseStore: withAccessToken() needs the store to be made from `url` and `key`');
    }
    return createSupabaseStore({ ...options, client: undefined, accessToken: token });
  };
  const actsAs = options.accessToken ? 'user' : options.client ? options.actsAs : options.key ? keyActsAs(options.key) : options.actsAs;
  return makeStore(client, withAccessToken, actsAs);
}

/**
 * Whom an API key acts as, as Supabase's gateway maps it: `sb_secret_…` and a legacy JWT with
 * role service_role act as the service; `sb_publishable_…` and the legacy anon JWT as a user.
 */
function keyActsAs(key: string): 'service' | 'user' | undefined {
  if (key.startsWith('sb_secret_')) return 'service';
  if (key.startsWith('sb_publishable_')) return 'user';
  try {
    const payload = JSON.parse(atob((key.split('.')[1] ?? '').replaceAll('-', '+').replaceAll('_', '/'))) as { role?: unknown };
    return payload.role === 'service_role' ? 'service' : 'user';
  } catch {
    return undefined;
  }
}

function makeClient(url: string, key: string, accessToken: string | undefined, customFetch: typeof fetch | undefined): AnyClient {
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    // The store never opens Realtime. On runtimes without a global WebSocket (Node 20),
    // realtime-js refuses to construct at all, so give it a transport that fails only if used.
    ...(typeof globalThis.WebSocket === 'undefined' ? { realtime: { transport: NoWebSocket as never } } : {}),
    global: {
      ...(accessToken ? { headers: { Authorization: `Bearer ${accessToken}` } } : {}),
      ...(customFetch ? { fetch: customFetch } : {}),
    },
  });
}

class NoWebSocket {
  constructor() {
    throw new EdgeJobsError('configuration', 'this runtime has no WebSocket; pass your own supabase-js client to use Realtime');
  }
}

function makeStore(client: AnyClient, withAccessToken: (token: string) => SupabaseStore, actsAs: 'service' | 'user' | undefined): SupabaseStore {
  /** One rpc; unwraps `{ data, error }` at once into data or a typed error. */
  async function scalar(name: string, args: Row): Promise<unknown> {
    let result: { data: unknown; error: { code?: string; message?: string } | null; status: number };
    try {
      result = await client.rpc(name, args);
    } catch (thrown) {
      throw new EdgeJobsError('database_unavailable', `${name}: ${(thrown as Error)?.message ?? thrown}`, { cause: thrown, retryable: true });
    }
    const { data, error, status } = result;
    if (!error) return data;
    // supabase-js reports a network failure as an error without a SQLSTATE and status 0.
    if (!error.code && (status === 0 || status >= 502)) {
      throw new EdgeJobsError('database_unavailable', `${name}: ${error.message ?? 'the Data API did not answer'}`, { cause: error, retryable: true, details: { status } });
    }
    // The gateway refused the key or token itself (no SQLSTATE): the server is misconfigured.
    if (!error.code && status === 401) {
      throw new EdgeJobsError('configuration', `${name}: the Data API refused the API key or token (401: ${error.message ?? 'unauthorized'}); check SUPABASE_SECRET_KEY and SUPABASE_URL`, { cause: error, details: { status } });
    }
    throw fromDatabaseError(error, name);
  }
  /** An rpc whose answer is rows: PostgREST sends an array for set-returning functions, an object for one composite. */
  async function rpc(name: string, args: Row): Promise<Row[]> {
    const data = await scalar(name, args);
    if (Array.isArray(data)) return data as Row[];
    return data === null || data === undefined ? [] : [data as Row];
  }

  return {
    ...storeFromCalls(async (c, values) => (c.returns === 'rows' ? rpc(c.fn, values) : scalar(c.fn, values))),
    client,
    withAccessToken,
    actsAs,
    async stop() {},
  };
}
