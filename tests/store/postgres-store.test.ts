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
