/**
 * The store on a direct Postgres connection (postgres.js): for the long-running worker, the
 * local dev runner, tests and benchmarks, and the Edge Function on SUPABASE_DB_URL. Each method
 * is one statement calling one SQL API function.
 */
import postgres from 'postgres';
import { EdgeJobsError } from './errors.ts';
import { fromDatabaseError } from './sql-errors.ts';
import { storeFromCalls, type RunCall } from './sql-api.ts';
import type { Store } from './store.ts';

type Sql = postgres.Sql<Record<string, never>>;
type Row = Record<string, unknown>;

/** Who the calls act as, like PostgREST does: a role and the JWT claims (auth.uid() = sub). */
export interface StoreAuth {
  role: 'anon' | 'authenticated' | 'service_role';
  claims: Record<string, unknown>;
}

export interface PostgresStoreOptions {
  /** A postgres.js client to use (not closed by `stop()`). Give this or `url`. */
  sql?: Sql;
  /** A connection string; the store makes (and `stop()` closes) its own client. */
  url?: string;
  /** Pool size when the store makes its client. Default 10. */
  max?: number;
  /**
   * Prepared statements. Default true; set false behind Supabase's transaction pooler
   * (port 6543), which does not support them.
   */
  prepare?: boolean;
  /** Act as this role and claims (RLS, auth.uid()); default: the connection's own role. */
  auth?: StoreAuth;
  /** The connections' name in pg_stat_activity when the store makes its client. Default 'edgejobs'. */
  applicationName?: string;
}

/** A {@link Store} on postgres.js, plus `withAuth()` and `stop()`. */
export interface PostgresStore extends Store {
  /** The same store acting as a user (or anon/service_role), as PostgREST would. */
  withAuth(auth: StoreAuth): PostgresStore;
  /** The underlying postgres.js client. */
  readonly sql: Sql;
  /**
   * Closes the client if the store created it: waits up to `timeoutMs` (default 5,000) for
   * queries in flight, then closes the connections anyway (after a Postgres restart, postgres.js
   * can hold a half-closed connection that would otherwise take the whole timeout).
   */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Creates the direct Postgres store.
 * @example
 * const store = createPostgresStore({ url: process.env.DATABASE_URL })
 * await store.enqueueJobs([{ type: 'email.send', input: { to } }])
 * await store.stop()
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresStore {
  if (!options.sql && !options.url) {
    throw new EdgeJobsError('configuration', 'createPostgresStore: give `sql` (a postgres.js client) or `url` (e.g. DATABASE_URL)');
  }
  const owned = !options.sql;
  const sql: Sql = options.sql ?? postgres(options.url as string, {
    max: options.max ?? 10,
    prepare: options.prepare ?? true,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'edgejobs' },
    backoff: reconnectDelaySeconds,
  });
  return makeStore(sql, owned, options.auth);
}

/**
 * Seconds before postgres.js tries to connect again after a failed connection: doubling from
 * 50 ms, never over a second. postgres.js's own default grows as 3^failures / 100 s up to 20 s, and
 * counts every failure of the pool: a worker that kept retrying through a 3.5 s Postgres restart
 * then waited 13 s longer than the outage for its next connection (measured in
 * tests/drain/outage.test.ts).
 */
export function reconnectDelaySeconds(failures: number): number {
  return Math.min(1, 0.05 * 2 ** failures) * (0.5 + Math.random() / 2);
}

function makeStore(sql: Sql, owned: boolean, auth: StoreAuth | undefined): PostgresStore {
  if (auth && !['anon', 'authenticated', 'service_role'].includes(auth.role)) {
    throw new EdgeJobsError('configuration', `createPostgresStore: auth.role must be anon, authenticated or service_role, not "${auth.role}"`);
  }

  /** Runs one SQL API call; with `auth`, inside a transaction that sets role and claims first. */
  async function call(name: string, run: (q: Sql) => Promise<Row[]>): Promise<Row[]> {
    try {
      if (!auth) return await run(sql);
      // As PostgREST does it: one transaction that sets the role and claims, then the call. The
      // four statements are pipelined on one connection, so a user's call costs one round trip
      // like a service call (COMMIT after a failed call just ends the aborted transaction).
      const c = await sql.reserve();
      try {
        const [begin, claims, rows, commit] = await Promise.allSettled([
          c`begin`,
          c`select set_config('role', ${auth.role}, true), set_config('request.jwt.claims', ${JSON.stringify(auth.claims)}, true)`,
          run(c as unknown as Sql),
          c`commit`,
        ]);
        for (const step of [begin, claims, rows, commit]) if (step.status === 'rejected') throw step.reason;
        return (rows as PromiseFulfilledResult<Row[]>).value;
      } finally {
        c.release();
      }
    } catch (thrown) {
      throw fromDatabaseError(thrown, name);
    }
  }
  // The server types these parameters as jsonb; postgres.js then serializes the value itself.
  const json = (value: unknown) => sql.json(value as postgres.JSONValue);
  const prepare = (sql as unknown as { options?: { prepare?: boolean } }).options?.prepare ?? true;

  /** One SQL API call as one statement: named arguments cast to their SQL types. */
  const run: RunCall = async (c, values) => {
    const names = Object.keys(c.args);
    const named = names.map((name, i) => `${name} => $${i + 1}::${c.args[name]}`).join(', ');
    const text = c.returns === 'rows' ? `select * from public.${c.fn}(${named})` : `select public.${c.fn}(${named}) as value`;
    const rows = await call(c.fn, (q) => q.unsafe(text, names.map((name) => {
      const value = values[name];
      if (value === null || value === undefined) return null;
      return c.args[name] === 'jsonb' ? json(value) : c.args[name]!.endsWith('[]') ? q.array(value as string[]) : value;
    }) as never[], { prepare }) as unknown as Promise<Row[]>);
    return c.returns === 'rows' ? rows : rows[0]?.value;
  };

  const store: PostgresStore = {
    ...storeFromCalls(run),
    sql,
    actsAs: auth && auth.role !== 'service_role' ? 'user' : 'service',
    withAuth: (next) => makeStore(sql, false, next),
    async stop(timeoutMs = 5_000) {
      if (owned) await sql.end({ timeout: timeoutMs / 1000 });
    },
  };
  return store;
}
