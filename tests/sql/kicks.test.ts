/**
 * The kick on enqueue, decided in the database: at most one per interval across every caller,
 * none while a drain runs, nothing without pg_net and the Vault secrets. pg_net and Vault are
 * stood in (tests/support/supabase-services.sql, pg-net.ts) with their SQL signatures; the
 * requests are really sent, to a small HTTP server here.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { ROOT } from '../../scripts/embedded-db.ts';
import { useTestDb, userClaims } from '../support/db.ts';
import { startPgNetWorker, type PgNetWorker } from '../support/pg-net.ts';
import { startRecorder, type Recorded } from '../support/recorder.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs', 'edgejobs.worker_runs'] });
let recorder: Awaited<ReturnType<typeof startRecorder>>;
let received: Recorded[];
let url: string;
let pgNet: PgNetWorker;

beforeAll(async () => {
  recorder = await startRecorder();
  received = recorder.received;
  url = `${recorder.origin}/functions/v1/process-jobs`;
});
afterAll(async () => {
  await pgNet?.stop();
  await recorder.stop();
});

const resetKick = () => db.sql`update edgejobs.kicks set last_kick_at = '-infinity'`;
/** Kicks claimed and committed so far: the counter moves in the same transaction as net.http_post, so it is exact at commit. */
const kicks = async () => Number((await db.sql`select kicks from edgejobs.kicks`)[0]!.kicks);

describe('kick on enqueue', () => {
  it('does nothing without pg_net and the Vault secrets, and enqueue works as before', async () => {
    await resetKick();
    const [job] = await db.store.enqueueJobs([{ type: 'k.none' }]);
    expect(job!.status).toBe('queued');
    expect((await db.sql`select kicks from edgejobs.kicks`)[0]!.kicks).toBe('0');
  });

  it('with pg_net and the secrets: one kick carrying the secret, then none within the interval', async () => {
    await db.sql.unsafe(await readFile(join(ROOT, 'tests/support/supabase-services.sql'), 'utf8'));
    await db.sql`select vault.create_secret(${url}, 'edgejobs_worker_url'), vault.create_secret('s3cret-worker-key', 'edgejobs_worker_secret')`;
    pgNet = startPgNetWorker(db.url);
    await resetKick();
    await db.store.enqueueJobs([{ type: 'k.one' }]);
    await db.store.enqueueJobs([{ type: 'k.two' }]);
    await db.store.withAuth({ role: 'authenticated', claims: userClaims(crypto.randomUUID()) }).enqueueJobs([{ type: 'k.three' }]);
    for (let i = 0; i < 100 && received.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toEqual([{ path: '/functions/v1/process-jobs', auth: 'Bearer s3cret-worker-key', body: { trigger: 'kick' } }]);
  });

  it('sends no kick for a rolled-back enqueue, nor while a drain is running', async () => {
    await resetKick();
    const before = received.length;
    const counted = await kicks();
    let inside = -1;
    await db.sql.begin(async (tx) => {
      await tx`select * from public.enqueue_jobs(${tx.json([{ type: 'k.rollback' }])}::jsonb)`;
      inside = Number((await tx`select kicks from edgejobs.kicks`)[0]!.kicks);
      throw new Error('roll back');
    }).catch(() => {});
    expect(inside).toBe(counted + 1); // the kick was claimed (and its request queued) inside...
    expect(await kicks()).toBe(counted); // ...and both went with the rollback
    await resetKick();
    await db.store.startWorkerRun({ workerId: 'busy', trigger: 'test', deadline: new Date(Date.now() + 60_000) });
    await db.store.enqueueJobs([{ type: 'k.busy' }]);
    expect(await kicks()).toBe(counted);
    await new Promise((r) => setTimeout(r, 200));
    expect(received.length).toBe(before);
  });

  it('kicks once for 20 concurrent enqueues on 10 connections', async () => {
    await db.sql`delete from edgejobs.worker_runs`;
    await resetKick();
    const before = received.length;
    const counted = await kicks();
    const pools = Array.from({ length: 10 }, () => postgres(db.url, { max: 2, onnotice: () => {} }));
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => pools[i % 10]!`select * from public.enqueue_jobs(${pools[i % 10]!.json([{ type: 'k.many', input: { i } }])}::jsonb)`));
    } finally {
      await Promise.all(pools.map((p) => p.end({ timeout: 1 })));
    }
    expect(await kicks()).toBe(counted + 1);
    for (let i = 0; i < 100 && received.length === before; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    expect(received.length - before).toBe(1);
  });

  it('claim_worker_kick: true for one caller per interval, service role only', async () => {
    await resetKick();
    const claim = (sql = db.sql) => sql`select public.claim_worker_kick() as ok`.then((r) => r[0]!.ok);
    expect(await claim()).toBe(true);
    expect(await claim()).toBe(false);
    const denied = await db.as('authenticated', userClaims(crypto.randomUUID()), (tx) => claim(tx)).catch((e: unknown) => e);
    expect((denied as { code?: string }).code).toBe('42501');
  });

  it('notifies listeners on edgejobs_jobs at commit', async () => {
    const listener = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      let heard = 0;
      await listener.listen('edgejobs_jobs', () => heard++);
      await db.store.enqueueJobs([{ type: 'k.notify' }, { type: 'k.notify' }]);
      for (let i = 0; i < 100 && heard === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(heard).toBe(1);
    } finally {
      await listener.end({ timeout: 1 });
    }
  });

  it('schedule_worker explains what is missing when pg_cron is not enabled', async () => {
    const error = await db.store.sql`select * from public.schedule_worker(5)`.catch((e: unknown) => e) as { code?: string; message?: string; hint?: string };
    expect(error.code).toBe('EJ001');
    expect(error.message).toMatch(/pg_cron is not enabled/);
    expect(error.hint).toMatch(/Database → Extensions/);
  });
});
