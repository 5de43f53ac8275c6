/**
 * RLS, grants and definer hygiene, checked the way PostgREST calls us: a transaction with
 * set_config('role', ...) and request.jwt.claims.
 */
import { describe, expect, it } from 'vitest';
import { SQL_API } from '../../lib/sql-api.ts';
import { useTestDb, userClaims, type TestDb } from '../support/db.ts';

const alice = crypto.randomUUID();
const bob = crypto.randomUUID();
const db = useTestDb();

/** The only functions a signed-in user may call, written out; every other one is the service role's. */
const CLIENT_FUNCTIONS = ['enqueue_jobs', 'enqueue_job', 'get_job', 'list_jobs', 'cancel_job'];

/**
 * Every function the migrations define, read from the catalog (not a hand-written list, so a new
 * function cannot escape these checks): those in `edgejobs`, and those in `public` that no
 * extension owns.
 */
const catalog = () => db.sql`
  select n.nspname as schema, p.proname as name, p.oid::regprocedure::text as signature, p.prosecdef as definer, p.proconfig as config,
    has_function_privilege('anon', p.oid, 'execute') as anon,
    has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
    has_function_privilege('service_role', p.oid, 'execute') as service_role,
    obj_description(p.oid, 'pg_proc') as comment
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname in ('public', 'edgejobs')
    and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
  order by 1, 2`;

const enqueueAs = (user: string, input: unknown) =>
  db.as('authenticated', userClaims(user), (tx) => tx`select * from public.enqueue_job('owned', ${tx.json(input as never)}::jsonb)`);

describe('ownership from auth.uid()', () => {
  it('records the signed-in user as owner; the service role enqueues ownerless jobs', async () => {
    const [mine] = await enqueueAs(alice, { a: 1 });
    const [server] = await db.as('service_role', { role: 'service_role' }, (tx) => tx`select * from public.enqueue_job('owned')`);
    const rows = await db.sql`select id, owner_id from edgejobs.jobs where id in (${mine!.id}, ${server!.id})`;
    expect(Object.fromEntries(rows.map((r) => [r.id, r.owner_id]))).toEqual({ [mine!.id]: alice, [server!.id]: null });
  });

  it('lets a user see, list and cancel only their own jobs; others look like they do not exist', async () => {
    const [a] = await enqueueAs(alice, { who: 'alice' });
    const [b] = await enqueueAs(bob, { who: 'bob' });
    const asAlice = <T>(fn: (tx: TestDb['sql']) => Promise<T>) => db.as('authenticated', userClaims(alice), fn);
    expect(await asAlice((tx) => tx`select id from public.get_job(${a!.id})`)).toHaveLength(1);
    expect(await asAlice((tx) => tx`select id from public.get_job(${b!.id})`)).toHaveLength(0);
    const listed = await asAlice((tx) => tx`select id, input from public.list_jobs()`);
    expect(listed.every((r) => (r.input as { who?: string }).who !== 'bob')).toBe(true);
    expect(listed.map((r) => r.id)).toContain(a!.id);
    await expect(asAlice((tx) => tx`select * from public.cancel_job(${b!.id})`)).rejects.toMatchObject({ code: 'EJ004' });
    const [bobs] = await db.sql`select status from edgejobs.jobs where id = ${b!.id}`;
    expect(bobs!.status).toBe('queued');
    await expect(asAlice((tx) => tx`select status from public.cancel_job(${a!.id})`)).resolves.toEqual([{ status: 'cancelled' }]);
  });

  it('pages through a user\'s jobs with the (created_at, id) cursor', async () => {
    const user = crypto.randomUUID();
    for (let i = 0; i < 5; i++) await enqueueAs(user, { i });
    const as = <T>(fn: (tx: TestDb['sql']) => Promise<T>) => db.as('authenticated', userClaims(user), fn);
    const page1 = await as((tx) => tx`select id, created_at from public.list_jobs(max_rows => 3)`);
    const last = page1[2]!;
    const page2 = await as((tx) => tx`select id from public.list_jobs(before_created_at => ${last.created_at}, before_id => ${last.id}, max_rows => 3)`);
    expect(page1).toHaveLength(3);
    expect(page2).toHaveLength(2);
    expect(new Set([...page1, ...page2].map((r) => r.id)).size).toBe(5);
    await expect(as((tx) => tx`select * from public.list_jobs(status => 'done')`)).rejects.toMatchObject({ code: 'EJ001' });
  });

  it('refuses an authenticated call without a user id (42501)', async () => {
    await expect(db.as('authenticated', { role: 'authenticated' }, (tx) => tx`select * from public.enqueue_job('x')`)).rejects.toMatchObject({ code: '42501' });
  });
});

describe('grants', () => {
  it('finds the whole API in the catalog', async () => {
    const names = (await catalog()).filter((f) => f.schema === 'public').map((f) => f.name);
    // A sample of each part, so that an empty or broken catalog query cannot pass the checks below.
    expect(names).toEqual(expect.arrayContaining([...CLIENT_FUNCTIONS, 'claim_jobs', 'register_job_types', 'claim_worker_kick',
      'count_running_workers', 'schedule_worker', 'unschedule_worker', 'get_queue_health']));
  });

  it('has every function the store calls, with the grants its table says', async () => {
    const fns = new Map((await catalog()).filter((f) => f.schema === 'public').map((f) => [f.name, f]));
    for (const c of Object.values(SQL_API)) {
      const f = fns.get(c.fn);
      expect({ fn: c.fn, authenticated: f?.authenticated, service: f?.service_role }).toEqual({ fn: c.fn, authenticated: c.who === 'client', service: true });
    }
  });

  it('anon can execute no edgejobs function and reads no job table', async () => {
    const open = (await catalog()).filter((f) => f.anon).map((f) => f.signature);
    expect(open).toEqual([]);
    await expect(db.as('anon', { role: 'anon' }, (tx) => tx`select * from public.get_job(${crypto.randomUUID()})`)).rejects.toMatchObject({ code: '42501' });
    await expect(db.as('anon', { role: 'anon' }, (tx) => tx`select * from edgejobs.jobs`)).rejects.toMatchObject({ code: '42501' });
  });

  it('authenticated can execute exactly the client functions; every other public function is service_role only', async () => {
    const fns = (await catalog()).filter((f) => f.schema === 'public');
    for (const f of fns) {
      expect({ fn: f.signature, service: f.service_role, authenticated: f.authenticated })
        .toEqual({ fn: f.signature, service: true, authenticated: CLIENT_FUNCTIONS.includes(f.name) });
    }
    const internal = (await catalog()).filter((f) => f.schema === 'edgejobs' && (f.authenticated || f.service_role || f.anon));
    expect(internal.map((f) => f.signature)).toEqual([]);
    await expect(db.as('authenticated', userClaims(alice), (tx) => tx`select * from public.claim_jobs('w', array['owned'], 10, 30)`)).rejects.toMatchObject({ code: '42501' });
    await expect(db.as('authenticated', userClaims(alice), (tx) => tx`select * from public.retry_failed_jobs()`)).rejects.toMatchObject({ code: '42501' });
    await expect(db.as('authenticated', userClaims(alice), (tx) => tx`select public.claim_worker_kick()`)).rejects.toMatchObject({ code: '42501' });
  });

  it('gives the API roles no privilege on any edgejobs table or view, and RLS is on every table', async () => {
    const privileges = await db.sql`select c.relname, r.rolname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      cross join (values ('anon'), ('authenticated'), ('service_role')) r(rolname)
      where n.nspname = 'edgejobs' and c.relkind in ('r', 'v')
        and (has_table_privilege(r.rolname, c.oid, 'select') or has_table_privilege(r.rolname, c.oid, 'insert')
          or has_table_privilege(r.rolname, c.oid, 'update') or has_table_privilege(r.rolname, c.oid, 'delete'))`;
    expect(privileges).toEqual([]);
    const noRls = await db.sql`select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'edgejobs' and c.relkind = 'r' and not c.relrowsecurity`;
    expect(noRls).toEqual([]);
    const [schema] = await db.sql`select has_schema_privilege('authenticated', 'edgejobs', 'usage') as a, has_schema_privilege('anon', 'edgejobs', 'usage') as b`;
    expect(schema).toEqual({ a: false, b: false });
  });
});

describe('definer hygiene and documentation', () => {
  it('every edgejobs function pins search_path to empty; only the public API runs as definer', async () => {
    const fns = await catalog();
    expect(fns.length).toBeGreaterThan(CLIENT_FUNCTIONS.length);
    for (const f of fns) {
      expect({ fn: f.signature, config: f.config }).toEqual({ fn: f.signature, config: expect.arrayContaining(['search_path=""']) });
      expect({ fn: f.signature, definer: f.definer }).toEqual({ fn: f.signature, definer: f.schema === 'public' });
    }
  });

  it('has no overloaded functions (PostgREST cannot choose between them)', async () => {
    const overloads = await db.sql`select p.proname, count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('public', 'edgejobs') group by 1 having count(*) > 1`;
    expect(overloads).toEqual([]);
  });

  it('comments every table, column, view and function so the dashboard explains the queue', async () => {
    const missingRel = await db.sql`select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'edgejobs' and c.relkind in ('r', 'v') and obj_description(c.oid, 'pg_class') is null`;
    const missingCol = await db.sql`select c.relname || '.' || a.attname as col from pg_attribute a join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'edgejobs' and c.relkind in ('r', 'v') and a.attnum > 0 and not a.attisdropped and col_description(c.oid, a.attnum) is null`;
    const missingFn = (await catalog()).filter((f) => !f.comment).map((f) => f.signature);
    expect({ missingRel, missingCol, missingFn }).toEqual({ missingRel: [], missingCol: [], missingFn: [] });
  });
});
