/**
 * Broadcast from the database. Realtime itself cannot run here: the bootstrap stands in
 * realtime.messages / realtime.send() / realtime.topic() with Supabase's signatures, and these
 * tests check what Realtime would do with them (the rows it would broadcast, and the RLS check it
 * runs as the joining user with `realtime.topic` set).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useTestDb, userClaims } from '../support/db.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs', 'realtime.messages'] });

async function enqueueAs(userId: string, type = 'rt.job') {
  const [job] = await db.store.withAuth({ role: 'authenticated', claims: userClaims(userId) }).enqueueJobs([{ type, input: {} }]);
  return job!;
}

/** What a user may receive on a topic: Realtime's authorisation query, as that user. */
async function visible(userId: string, topic: string) {
  return db.as('authenticated', userClaims(userId), async (tx) => {
    await tx`select set_config('realtime.topic', ${topic}, true)`;
    return tx`select event, payload from realtime.messages where topic = ${topic} order by inserted_at, id`;
  });
}

describe('job broadcasts', () => {
  it('broadcasts each status and progress change of an owned job on its private topic', async () => {
    const alice = randomUUID();
    const job = await enqueueAs(alice);
    const [claimed] = await db.store.claimJobs({ workerId: 'w', types: ['rt.job'], limit: 1, leaseMs: 30_000 });
    await db.store.heartbeatJobs([claimed!], 30_000);
    await db.store.saveJobProgress([{ id: job.id, leaseToken: claimed!.leaseToken, progress: { pct: 40 } }]);
    await db.store.completeJobs([{ id: job.id, leaseToken: claimed!.leaseToken, result: { ok: 1 } }]);
    const topic = `edgejobs:${alice}:job:${job.id}`;
    const rows = await db.sql`select topic, event, private, payload from realtime.messages order by inserted_at, id`;
    expect(rows.map((r) => [r.topic, r.event, r.private])).toEqual(Array(3).fill([topic, 'job_changed', true]));
    expect(rows.map((r) => [r.payload.status, r.payload.progress])).toEqual([['processing', null], ['processing', { pct: 40 }], ['completed', { pct: 40 }]]);
    expect(rows[2]!.payload).not.toHaveProperty('result');
  });

  it('lets only the owner join the topic (RLS on realtime.messages)', async () => {
    const alice = randomUUID();
    const job = await enqueueAs(alice);
    await db.store.withAuth({ role: 'authenticated', claims: userClaims(alice) }).cancelJob(job.id);
    const topic = `edgejobs:${alice}:job:${job.id}`;
    expect(await visible(alice, topic)).toHaveLength(1);
    expect(await visible(randomUUID(), topic)).toHaveLength(0);
    const anon = await db.as('anon', { role: 'anon' }, async (tx) => {
      await tx`select set_config('realtime.topic', ${topic}, true)`;
      return tx`select 1 from realtime.messages where topic = ${topic}`;
    });
    expect(anon).toHaveLength(0);
  });

  it('shows a user none of another user\'s broadcasts, whatever topic setting they choose', async () => {
    const alice = randomUUID();
    const bob = randomUUID();
    const ownerOf = new Map<string, string>();
    for (const user of [alice, alice, bob]) {
      const job = await enqueueAs(user);
      ownerOf.set(job.id, user);
      await db.store.withAuth({ role: 'authenticated', claims: userClaims(user) }).cancelJob(job.id);
    }
    // The probe: Bob sets the topic to one of his own and reads every row the policy lets through.
    const bobsJob = [...ownerOf].find(([, user]) => user === bob)![0];
    const seen = await db.as('authenticated', userClaims(bob), async (tx) => {
      await tx`select set_config('realtime.topic', ${`edgejobs:${bob}:job:${bobsJob}`}, true)`;
      return tx`select topic from realtime.messages`;
    });
    expect(await db.sql`select count(*)::int as n from realtime.messages`).toEqual([{ n: 3 }]);
    expect(seen.map((r) => r.topic)).toEqual([`edgejobs:${bob}:job:${bobsJob}`]);
  });

  it('sends nothing for ownerless jobs or when broadcasts are switched off', async () => {
    const [serverJob] = await db.store.enqueueJobs([{ type: 'rt.server' }]);
    await db.store.cancelJob(serverJob!.id);
    await db.sql`update edgejobs.settings set broadcast_changes = false`;
    try {
      const job = await enqueueAs(randomUUID(), 'rt.quiet');
      await db.store.cancelJob(job.id);
    } finally {
      await db.sql`update edgejobs.settings set broadcast_changes = true`;
    }
    expect(await db.sql`select 1 from realtime.messages`).toHaveLength(0);
  });

  it('pages through jobs enqueued in the same millisecond without skipping any', async () => {
    const user = db.store.withAuth({ role: 'authenticated', claims: userClaims(randomUUID()) });
    const jobs = await user.enqueueJobs(Array.from({ length: 7 }, (_, n) => ({ type: 'rt.page', input: { n } })));
    const seen: string[] = [];
    let before: { createdAt: Date; id: string } | undefined;
    for (;;) {
      const page = await user.listJobs({ limit: 3, before });
      if (page.length === 0) break;
      seen.push(...page.map((j) => j.id));
      const last = page[page.length - 1]!;
      before = { createdAt: last.createdAt, id: last.id };
    }
    expect(seen.sort()).toEqual(jobs.map((j) => j.id).sort());
  });
});
