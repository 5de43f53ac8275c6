/**
 * A fresh database per test file, cloned from the migrated template, with helpers to call the
 * SQL API as a given role (like PostgREST: set_config('role'), request.jwt.claims).
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { createDatabase } from '../../scripts/embedded-db.ts';
import { createPostgresStore, type PostgresStore } from '../../lib/postgres-store.ts';

export type Sql = postgres.Sql<Record<string, never>>;

export interface TestDb {
  name: string;
  url: string;
  /** Superuser connection (like the dashboard / a worker on the direct connection). */
  sql: Sql;
  /** The direct store on `sql`. */
  store: PostgresStore;
  /** A new, separate connection pool (a second worker). Closed by `drop()`. */
  connect(max?: number): Sql;
  /** Runs `fn` in a transaction acting as `role` with these claims (as PostgREST does). */
  as<T>(role: 'anon' | 'authenticated' | 'service_role', claims: Record<string, unknown>, fn: (tx: Sql) => Promise<T>): Promise<T>;
  drop(): Promise<void>;
}

export async function createTestDb(): Promise<TestDb> {
  const adminUrl = inject('pgAdminUrl');
  const name = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  await createDatabase(adminUrl, name, inject('pgTemplate'));
  const url = adminUrl.replace(/\/[^/]*$/, `/${name}`);
  const pools: Sql[] = [];
  const connect = (max = 4) => {
    const sql = postgres(url, { max, onnotice: () => {} }) as Sql;
    pools.push(sql);
    return sql;
  };
  const sql = connect(10);
  const store = createPostgresStore({ sql });
  return {
    name, url, sql, store, connect,
    as: (role, claims, fn) => sql.begin(async (tx) => {
      await tx`select set_config('role', ${role}, true), set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
      return fn(tx as unknown as Sql);
    }) as never,
    async drop() {
      await Promise.all(pools.map((p) => p.end({ timeout: 5 })));
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** Claims for a signed-in user, as Supabase Auth puts them in the JWT. */
export function userClaims(sub: string): Record<string, unknown> {
  return { sub, role: 'authenticated', aud: 'authenticated' };
}

/**
 * Gives a test file its own database for its lifetime (beforeAll/afterAll), optionally emptying
 * the given tables before each test. The returned object forwards to the live TestDb.
 * @example const db = useTestDb({ truncate: ['edgejobs.jobs'] })
 */
export function useTestDb(options: { truncate?: string[] } = {}): TestDb {
  let current: TestDb | undefined;
  beforeAll(async () => {
    current = await createTestDb();
  });
  afterAll(async () => {
    await current?.drop();
  });
  if (options.truncate?.length) {
    beforeEach(async () => {
      await current!.sql.unsafe(options.truncate!.map((t) => `delete from ${t};`).join(' '));
    });
  }
  return new Proxy({} as TestDb, {
    get: (_target, key) => {
      if (!current) throw new Error('useTestDb: the database is not ready yet (use it inside tests and hooks)');
      return current[key as keyof TestDb];
    },
  });
}
