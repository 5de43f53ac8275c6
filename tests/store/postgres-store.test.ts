import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useTestDb, userClaims } from '../support/db.ts';
import { storeConformance } from './conformance.ts';

const db = useTestDb();

storeConformance('postgres.js', () => ({
  service: () => db.store,
  asUser: async (id) => db.store.withAuth({ role: 'authenticated', claims: userClaims(id) }),
  asAnon: async () => db.store.withAuth({ role: 'anon', claims: { role: 'anon' } }),
  rows: (query, params = []) => db.sql.unsafe(query, params as never[]),
}));

describe('postgres.js store acting as a user', () => {
  it('leaves the pooled connection clean after a failed and a successful call (no role, claims or open transaction)', async () => {
    const { createPostgresStore } = await import('../../lib/postgres-store.ts');
    const single = createPostgresStore({ url: db.url, max: 1 });
    try {
      const user = single.withAuth({ role: 'authenticated', claims: userClaims(randomUUID()) });
      await expect(user.cancelJob(randomUUID())).rejects.toMatchObject({ code: 'job_not_found' });
      await expect(user.enqueueJobs([{ type: 'x', priority: 1e9 }])).rejects.toMatchObject({ code: 'invalid_argument' });
      const [job] = await user.enqueueJobs([{ type: 'clean.after' }]);
      expect(job!.status).toBe('queued');
      // Local settings revert only when the transaction ends: these prove it ended.
      const [state] = await single.sql`select current_user as who, current_setting('role') as role,
        coalesce(current_setting('request.jwt.claims', true), '') as claims`;
      expect(state).toEqual({ who: 'postgres', role: 'none', claims: '' });
      // And it was committed: another connection sees the job.
      expect(await db.sql`select 1 from edgejobs.jobs where id = ${job!.id}`).toHaveLength(1);
    } finally {
      await single.stop();
    }
  });
});

describe('errors of values the database cannot read', () => {
  it('are the caller\'s fault (invalid_argument), for every SQLSTATE Postgres raises for them', async () => {
    const { fromDatabaseError } = await import('../../lib/sql-errors.ts');
    // Sent as JSON text, as supabase.rpc() or a hand-written call would: Postgres refuses it while
    // reading the argument, before any edgejobs function runs.
    const bodies: Array<[string, string]> = [
      ['22P05', '[{"type":"a","input":{"t":"a\\u0000b"}}]'],
      ['22003', '[{"type":"a","input":{"n":1e200000}}]'],
      ['22P02', '[{"type":"a","input":{"n":1e}}]'],
      ['54001', `[{"type":"a","input":${'['.repeat(200_000)}${']'.repeat(200_000)}}]`],
    ];
    for (const [sqlstate, body] of bodies) {
      const error = await db.as('authenticated', userClaims(randomUUID()), (tx) => tx`select * from public.enqueue_jobs(${body}::text::jsonb)`)
        .then(() => null, (e: unknown) => e);
      expect({ sqlstate, got: (error as { code?: string })?.code, message: (error as Error).message }).toEqual({ sqlstate, got: sqlstate, message: expect.any(String) });
      expect({ sqlstate, mapped: fromDatabaseError(error, 'enqueue_jobs').code }).toEqual({ sqlstate, mapped: 'invalid_argument' });
    }
    expect(await db.sql`select count(*)::int as n from edgejobs.jobs where type = 'a'`).toEqual([{ n: 0 }]);
  });
});

describe('prepared statements', () => {
  it('prepares none when told not to (Supabase transaction pooler), and reuses them otherwise', async () => {
    const { createPostgresStore } = await import('../../lib/postgres-store.ts');
    const count = async (prepare: boolean) => {
      const store = createPostgresStore({ url: db.url, max: 1, prepare });
      try {
        await store.getQueueHealth();
        await store.enqueueJobs([{ type: 'prepared.check' }]);
        await store.getQueueHealth();
        return Number((await store.sql`select count(*) as n from pg_prepared_statements`)[0]!.n);
      } finally {
        await store.stop();
      }
    };
    expect(await count(false)).toBe(0);
    expect(await count(true)).toBeGreaterThanOrEqual(2);
  });
});
