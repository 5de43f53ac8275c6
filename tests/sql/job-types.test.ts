/**
 * The registry in the database and the rules enqueue applies to every caller: probed as an
 * attacker would, through the SQL API a signed-in user reaches with supabase.rpc() (a
 * transaction with the role and claims PostgREST sets), on the real database.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, defineJob } from '../../lib/job.ts';
import { registerJobTypes } from '../../lib/job-types.ts';
import { createQueue } from '../../lib/queue.ts';
import { useTestDb, userClaims, type Sql } from '../support/db.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs', 'edgejobs.job_types', 'edgejobs.worker_runs'] });

const alice = randomUUID();
const anonymousClaims = (sub: string) => ({ ...userClaims(sub), is_anonymous: true });
const asUser = <T>(fn: (tx: Sql) => Promise<T>, claims = userClaims(alice)) => db.as('authenticated', claims, fn);
const jobCount = async () => Number((await db.sql`select count(*) as n from edgejobs.jobs`)[0]!.n);
const codeOf = (promise: Promise<unknown>) => promise.then(() => 'stored', (e: { code?: string }) => e.code);
const errorOf = (promise: Promise<unknown>) => promise.then(() => null, (e: { code?: string; message?: string }) => e);

const report = defineJob({
  type: 'report.generate',
  input: z.object({ title: z.string().min(1), rows: z.array(z.number()).max(1000) }),
  queue: 'reports',
  priority: 5,
  retry: { maxAttempts: 7, baseDelayMs: 2_000, maxDelayMs: 60_000 },
  keepForMs: 3_600_000,
  handler: () => null,
});
const preview = defineJob({ type: 'preview.render', input: z.object({ url: z.string() }), allowAnonymous: true, handler: () => null });
const payout = defineJob({ type: 'billing.payout', input: z.object({ amount: z.number() }), allowUsers: false, handler: () => null });
const registry = createRegistry([report, preview, payout]);

/** The probe that found the hole: every server-only option, an unregistered type. */
const PROBE = [{ type: 'no.such.type', input: {}, queue: 'vip', priority: 1_000_000, max_attempts: 1000, keep_for_seconds: 315_360_000 }];

describe('registering job types', () => {
  it('writes each definition once; registering again changes nothing', async () => {
    expect(await registerJobTypes(db.store, registry, { workerName: 'worker@a' })).toBe(3);
    const first = await db.sql`select type, queue, priority, max_attempts, backoff_base_seconds, backoff_max_seconds,
      extract(epoch from keep_for)::integer as keep_for, users_may_enqueue, anonymous_may_enqueue, input_schema, xmin::text as version
      from edgejobs.job_types order by type`;
    expect(first.map(({ version: _v, input_schema: _s, ...row }) => row)).toEqual([
      { type: 'billing.payout', queue: null, priority: null, max_attempts: null, backoff_base_seconds: null, backoff_max_seconds: null, keep_for: null, users_may_enqueue: false, anonymous_may_enqueue: false },
      { type: 'preview.render', queue: null, priority: null, max_attempts: null, backoff_base_seconds: null, backoff_max_seconds: null, keep_for: null, users_may_enqueue: true, anonymous_may_enqueue: true },
      { type: 'report.generate', queue: 'reports', priority: 5, max_attempts: 7, backoff_base_seconds: 2, backoff_max_seconds: 60, keep_for: 3600, users_may_enqueue: true, anonymous_may_enqueue: false },
    ]);
    expect(first[2]!.input_schema).toMatchObject({ type: 'object', required: ['title', 'rows'] });
    await registerJobTypes(db.store, registry, { workerName: 'worker@a' });
    const again = await db.sql`select xmin::text as version from edgejobs.job_types order by type`;
    expect(again.map((r) => r.version)).toEqual(first.map((r) => r.version));
    expect(await db.sql`select type, worker_name from edgejobs.job_type_workers order by type`).toEqual(
      registry.types().sort().map((type) => ({ type, worker_name: 'worker@a' })));
  });

  it('makes a worker run exactly the types it registered last', async () => {
    await registerJobTypes(db.store, registry, { workerName: 'worker@b' });
    await registerJobTypes(db.store, createRegistry([preview]), { workerName: 'worker@b' });
    expect(await db.sql`select type from edgejobs.job_type_workers where worker_name = 'worker@b'`).toEqual([{ type: 'preview.render' }]);
    // The app registers without a worker name: it runs nothing.
    await registerJobTypes(db.store, registry);
    expect(await db.sql`select count(*)::int as n from edgejobs.job_type_workers where worker_name = 'worker@b'`).toEqual([{ n: 1 }]);
  });

  it('refuses a malformed registration, naming the element, and stores none of it', async () => {
    const call = (types: unknown) => errorOf(db.sql`select public.register_job_types(${db.sql.json(types as never)}::jsonb)`);
    expect(await call([{ type: 'ok.one' }, { type: 'bad', queue: 'no spaces' }])).toMatchObject({ code: 'EJ001', message: expect.stringContaining('types[1] queue') });
    expect(await call([{ type: 'a', anonymous_may_enqueue: true, users_may_enqueue: false }])).toMatchObject({ code: 'EJ001', message: expect.stringContaining('needs users_may_enqueue') });
    expect(await call([{ type: 'a' }, { type: 'a' }])).toMatchObject({ code: 'EJ001', message: expect.stringContaining('more than once') });
    expect(await call([{ type: 'a', owner: 'me' }])).toMatchObject({ code: 'EJ001', message: expect.stringContaining('unknown field') });
    expect(await call([])).toMatchObject({ code: 'EJ001' });
    expect(await db.sql`select type from edgejobs.job_types`).toEqual([]);
  });

  it('is the service role\'s alone', async () => {
    expect(await codeOf(asUser((tx) => tx`select public.register_job_types('[{"type":"mine"}]'::jsonb)`))).toBe('42501');
  });
});

describe('enqueue through rpc() applies the routes\' rules', () => {
  it('refuses the probe\'s server-only options to a signed-in user, named, whether or not types are registered', async () => {
    const before = await errorOf(asUser((tx) => tx`select * from public.enqueue_jobs(${tx.json(PROBE)}::jsonb)`));
    expect(before).toMatchObject({ code: '42501', message: 'edgejobs: only the server may set keep_for_seconds, max_attempts, priority, queue (jobs[0])' });
    await registerJobTypes(db.store, registry);
    for (const claims of [userClaims(alice), anonymousClaims(randomUUID())]) {
      expect(await codeOf(asUser((tx) => tx`select * from public.enqueue_jobs(${tx.json(PROBE)}::jsonb)`, claims))).toBe('42501');
    }
    expect(await codeOf(asUser((tx) => tx`select * from public.enqueue_job('report.generate', '{"title":"x","rows":[]}', queue => 'vip')`))).toBe('42501');
    expect(await codeOf(asUser((tx) => tx`select * from public.enqueue_job('report.generate', '{"title":"x","rows":[]}', backoff_base_seconds => 0.001)`))).toBe('42501');
    expect(await jobCount()).toBe(0);
  });

  it('refuses unknown types once types are registered (EJ006), to users and the server; accepts any type before', async () => {
    expect(await codeOf(asUser((tx) => tx`select * from public.enqueue_job('anything.goes')`))).toBe('stored');
    await registerJobTypes(db.store, registry);
    const refused = await errorOf(asUser((tx) => tx`select * from public.enqueue_job('no.such.type')`));
    expect(refused).toMatchObject({ code: 'EJ006', message: 'edgejobs: unknown job type "no.such.type" (jobs[0])' });
    expect(await codeOf(db.sql`select * from public.enqueue_job('no.such.type')`)).toBe('EJ006');
    expect(await jobCount()).toBe(1);
  });

  it('lets an end user schedule for later, but not jump the queue with a past run_at', async () => {
    const [past] = await asUser((tx) => tx`select id from public.enqueue_job('anything', '{}', run_at => '0001-01-01T00:00:00Z')`);
    const [later] = await asUser((tx) => tx`select id from public.enqueue_job('anything', '{}', run_at => now() + interval '1 hour')`);
    const [server] = await db.sql`select id from public.enqueue_job('anything', '{}', run_at => '2000-01-01T00:00:00Z')`;
    const rows = await db.sql`select id, run_at > now() - interval '1 minute' as recent, run_at > now() as future from edgejobs.jobs`;
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(byId[past!.id]).toMatchObject({ recent: true, future: false });
    expect(byId[later!.id]).toMatchObject({ future: true });
    expect(byId[server!.id]).toMatchObject({ recent: false }); // the server may backdate
  });

  it('keeps who may enqueue a type the app\'s to say: a worker\'s registration cannot reopen it', async () => {
    await registerJobTypes(db.store, registry); // the app: billing.payout is server-only
    const reopened = createRegistry([defineJob({ type: 'billing.payout', input: z.object({ amount: z.number() }), handler: () => null })]);
    await registerJobTypes(db.store, reopened, { workerName: 'old-worker' }); // older code: allowUsers by default
    expect(await db.sql`select users_may_enqueue from edgejobs.job_types where type = 'billing.payout'`).toEqual([{ users_may_enqueue: false }]);
    expect(await codeOf(asUser((tx) => tx`select * from public.enqueue_job('billing.payout', '{"amount":1}')`))).toBe('42501');
    // The app may change it.
    await registerJobTypes(db.store, reopened);
    expect(await db.sql`select users_may_enqueue from edgejobs.job_types where type = 'billing.payout'`).toEqual([{ users_may_enqueue: true }]);
  });

  it('opens each type to whom its definition says: users, anonymous users, or the server only', async () => {
    await registerJobTypes(db.store, registry);
    const enqueue = (type: string, input: unknown, claims: Record<string, unknown>) =>
      codeOf(asUser((tx) => tx`select * from public.enqueue_job(${type}, ${tx.json(input as never)}::jsonb)`, claims));
    const guest = anonymousClaims(randomUUID());
    expect(await enqueue('report.generate', { title: 'q', rows: [] }, userClaims(alice))).toBe('stored');
    expect(await enqueue('report.generate', { title: 'q', rows: [] }, guest)).toBe('42501');
    expect(await enqueue('preview.render', { url: 'x' }, guest)).toBe('stored');
    expect(await enqueue('billing.payout', { amount: 1 }, userClaims(alice))).toBe('42501');
    const message = await errorOf(asUser((tx) => tx`select * from public.enqueue_job('billing.payout', '{"amount":1}')`));
    expect(message).toMatchObject({ message: 'edgejobs: "billing.payout" can only be enqueued by the server (jobs[0])' });
    expect(await codeOf(db.sql`select * from public.enqueue_job('billing.payout', '{"amount":1}')`)).toBe('stored');
    expect((await db.sql`select type from edgejobs.jobs order by type`).map((r) => r.type)).toEqual(['billing.payout', 'preview.render', 'report.generate']);
  });

  it('stores nothing when any element of a batch is refused', async () => {
    await registerJobTypes(db.store, registry);
    const good = { type: 'report.generate', input: { title: 'q', rows: [] } };
    const cases: Array<[unknown, string]> = [[{ type: 'no.such.type' }, 'EJ006'], [{ type: 'billing.payout', input: { amount: 1 } }, '42501'], [{ ...good, priority: 9 }, '42501']];
    for (const [bad, code] of cases) {
      expect(await codeOf(asUser((tx) => tx`select * from public.enqueue_jobs(${tx.json([good, good, bad] as never)}::jsonb)`))).toBe(code);
    }
    // The service role's unknown type is refused inside the INSERT itself, rows before it included;
    // so is a reused idempotency key.
    expect(await codeOf(db.sql`select * from public.enqueue_jobs(${db.sql.json([good, good, { type: 'no.such.type' }])}::jsonb)`)).toBe('EJ006');
    await db.sql`select * from public.enqueue_job('report.generate', '{"title":"k","rows":[]}', idempotency_key => 'k-1')`;
    const keyed = [{ ...good, idempotency_key: 'k-2' }, { type: 'report.generate', input: { title: 'other', rows: [] }, idempotency_key: 'k-1' }];
    expect(await codeOf(db.sql`select * from public.enqueue_jobs(${db.sql.json(keyed)}::jsonb)`)).toBe('EJ003');
    expect(await jobCount()).toBe(1);
  });

  it('fills in each type\'s defaults, for users and for the server (whose own options win)', async () => {
    await registerJobTypes(db.store, registry);
    const [mine] = await asUser((tx) => tx`select id from public.enqueue_job('report.generate', '{"title":"q","rows":[]}')`);
    const [server] = await db.sql`select id from public.enqueue_job('report.generate', '{"title":"q","rows":[]}', priority => -3)`;
    const [plain] = await db.sql`select id from public.enqueue_job('preview.render', '{"url":"u"}')`;
    const rows = await db.sql`select id, queue, priority, max_attempts, backoff_base_seconds, backoff_max_seconds,
      extract(epoch from keep_for)::integer as keep_for from edgejobs.jobs`;
    const byId = Object.fromEntries(rows.map(({ id, ...r }) => [id, r]));
    expect(byId[mine!.id]).toEqual({ queue: 'reports', priority: 5, max_attempts: 7, backoff_base_seconds: 2, backoff_max_seconds: 60, keep_for: 3600 });
    expect(byId[server!.id]).toMatchObject({ queue: 'reports', priority: -3, max_attempts: 7 });
    expect(byId[plain!.id]).toEqual({ queue: 'default', priority: 0, max_attempts: 3, backoff_base_seconds: 1, backoff_max_seconds: 3600, keep_for: 7 * 24 * 3600 });
    // A server's own backoff base above the type's cap: refused with the reason, nothing stored.
    const clash = await errorOf(db.sql`select id from public.enqueue_jobs('[{"type":"preview.render","input":{}},{"type":"report.generate","input":{},"backoff_base_seconds":100}]'::jsonb)`);
    expect(clash).toMatchObject({ code: 'EJ001', message: expect.stringContaining('backoff_max_seconds is below its backoff_base_seconds') });
    expect(await jobCount()).toBe(3);
  });

  it('lets the TypeScript API on a user\'s store send what the database allows, and refuse the rest itself', async () => {
    await registerJobTypes(db.store, registry);
    const user = db.store.withAuth({ role: 'authenticated', claims: userClaims(alice) });
    const queue = createQueue({ store: user, registry });
    const job = await queue.enqueue('report.generate', { title: 'q', rows: [1] }, { idempotencyKey: 'k-1' });
    expect(job).toMatchObject({ queue: 'reports', priority: 5 });
    await expect(queue.enqueue('report.generate', { title: 'q', rows: [1] }, { priority: 9 })).rejects.toMatchObject({ code: 'forbidden', message: 'only the server may set options.priority' });
    await expect(queue.enqueue('billing.payout', { amount: 1 })).rejects.toMatchObject({ code: 'forbidden' });
    // The database's own answer, mapped by the store, when the client-side check is bypassed.
    await expect(user.enqueueJobs([{ type: 'report.generate', input: {}, queue: 'vip' }])).rejects.toMatchObject({ code: 'forbidden' });
    await expect(user.enqueueJobs([{ type: 'no.such.type', input: {} }])).rejects.toMatchObject({ code: 'unknown_job_type' });
    expect(await jobCount()).toBe(1);
  });
});

describe('input schemas where pg_jsonschema is installed', () => {
  // STAND-IN for pg_jsonschema's jsonb_matches_schema(json, jsonb) (the extension is not packaged
  // for this machine): the subset of JSON Schema these tests use (type, required, properties,
  // minLength, items), in the `extensions` schema where Supabase installs the extension.
  const installStandIn = () => db.sql.unsafe(`
    create function extensions.jsonb_matches_schema(schema json, instance jsonb) returns boolean
    language plpgsql immutable as $fn$
    declare
      s jsonb := schema::jsonb;
      k text;
    begin
      if s ? 'type' and s ->> 'type' <> (case jsonb_typeof(instance) when 'number' then
           (case when s ->> 'type' = 'integer' and instance::text !~ '[.eE]' then 'integer' else 'number' end)
         else jsonb_typeof(instance) end) then
        return false;
      end if;
      if s ? 'minLength' and jsonb_typeof(instance) = 'string' and length(instance #>> '{}') < (s ->> 'minLength')::int then
        return false;
      end if;
      for k in select jsonb_array_elements_text(coalesce(s -> 'required', '[]')) loop
        if not instance ? k then return false; end if;
      end loop;
      for k in select jsonb_object_keys(coalesce(s -> 'properties', '{}')) loop
        if instance ? k and not extensions.jsonb_matches_schema((s -> 'properties' -> k)::json, instance -> k) then return false; end if;
      end loop;
      if s ? 'items' and jsonb_typeof(instance) = 'array' and exists (
        select from jsonb_array_elements(instance) e where not extensions.jsonb_matches_schema((s -> 'items')::json, e)) then
        return false;
      end if;
      return true;
    end
    $fn$`);

  it('checks end users\' inputs against the registered schema (EJ007), and changes nothing without the extension', async () => {
    await registerJobTypes(db.store, registry);
    const bad = { title: '', rows: ['not a number'] };
    const enqueue = (input: unknown) => asUser((tx) => tx`select id from public.enqueue_job('report.generate', ${tx.json(input as never)}::jsonb)`);
    // Without the extension: stored as before (the routes and the TypeScript API check with zod).
    expect(await codeOf(enqueue(bad))).toBe('stored');
    await installStandIn();
    try {
      const refused = await errorOf(enqueue(bad));
      expect(refused).toMatchObject({ code: 'EJ007', message: 'edgejobs: jobs[0].input does not match the input schema of "report.generate"' });
      expect(await codeOf(enqueue({ title: 'ok', rows: [1, 2] }))).toBe('stored');
      // The store maps it to the same error the routes give for a zod failure.
      await expect(db.store.withAuth({ role: 'authenticated', claims: userClaims(alice) }).enqueueJobs([{ type: 'report.generate', input: bad }]))
        .rejects.toMatchObject({ code: 'validation_failed' });
      // The service role's enqueues were checked by the app (zod): not again here.
      expect(await codeOf(db.sql`select id from public.enqueue_job('report.generate', ${db.sql.json(bad)}::jsonb)`)).toBe('stored');
    } finally {
      await db.sql`drop function extensions.jsonb_matches_schema(json, jsonb)`;
    }
    expect(await jobCount()).toBe(3);
  });
});

describe('health: jobs no live worker runs', () => {
  const health = async () => db.store.getQueueHealth();

  it('counts ready jobs of types no worker seen lately runs as unhandled, not as ready', async () => {
    await db.sql`delete from edgejobs.job_type_workers`;
    await registerJobTypes(db.store, registry);
    await db.sql`select * from public.enqueue_jobs('[{"type":"report.generate","input":{}},{"type":"preview.render","input":{}},{"type":"preview.render","input":{}}]'::jsonb)`;
    await db.sql`update edgejobs.jobs set run_at = now() - case when type = 'preview.render' then interval '2 hours' else interval '1 hour' end`;
    // No worker has said what it runs: nothing is unhandled (as before the registry).
    expect(await health()).toMatchObject({ ready: 3, unhandled: 0, unhandledTypes: [] });
    await registerJobTypes(db.store, createRegistry([report]), { workerName: 'worker@x' });
    const h = await health();
    expect(h).toMatchObject({ ready: 1, unhandled: 2, unhandledTypes: ['preview.render'] });
    // The oldest ready age is the handled job's (an hour), not the unhandled ones' (two hours).
    expect(h.oldestReadyAgeMs).toBeGreaterThan(3_500_000);
    expect(h.oldestReadyAgeMs).toBeLessThan(3_700_000);
    // No worker seen within the window at all: a worker outage, not an undeployed type. The jobs
    // stay ready (and old), so the health checks on ready jobs and idle workers see it.
    await db.sql`update edgejobs.job_type_workers set last_seen_at = now() - interval '11 minutes'`;
    const down = await health();
    expect(down).toMatchObject({ ready: 3, unhandled: 0, unhandledTypes: [] });
    expect(down.oldestReadyAgeMs).toBeGreaterThan(7_000_000);
  });

  it('marks a worker as seen at each drain start, for the registered types it runs', async () => {
    await registerJobTypes(db.store, registry);
    await db.store.startWorkerRun({ workerId: 'w-1', trigger: 'test', deadline: null, workerName: 'edge', types: ['report.generate', 'not.registered'] });
    expect(await db.sql`select type from edgejobs.job_type_workers where worker_name = 'edge'`).toEqual([{ type: 'report.generate' }]);
    await db.sql`update edgejobs.job_type_workers set last_seen_at = now() - interval '1 hour'`;
    await db.store.startWorkerRun({ workerId: 'w-2', trigger: 'test', deadline: null, workerName: 'edge', types: ['report.generate'] });
    const [row] = await db.sql`select now() - last_seen_at < interval '1 minute' as fresh from edgejobs.job_type_workers where worker_name = 'edge'`;
    expect(row!.fresh).toBe(true);
  });
});
