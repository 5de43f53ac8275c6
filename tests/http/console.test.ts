/**
 * The operator console's route handler on the real database, request by request: who gets in
 * (the service key through the sign-in form, an operator's JWT; 401 for no one and a wrong key,
 * 403 for ordinary and anonymous users), that the key never comes back to the browser, that no
 * GET changes anything and every POST needs the CSRF token and the same origin, that each action
 * changes the database as it says and is recorded with its actor, and that values from jobs are
 * escaped. The same console in Chromium, under next start: tests/e2e/console.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, expect, it } from 'vitest';
import { createConsole } from '../../lib/console/index.ts';
import { createAuthenticator } from '../../lib/http/auth.ts';
import { useTestDb } from '../support/db.ts';
import { GUEST_SECRET, JWT_SECRET, SERVICE_KEY, userToken } from '../support/http.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs', 'edgejobs.operator_actions', 'edgejobs.queues'] });
const ORIGIN = 'http://console.test';
const auth = createAuthenticator({ jwtSecret: JWT_SECRET, serviceKeys: [SERVICE_KEY], guestSecret: GUEST_SECRET });
const ops = createConsole({ store: () => db.store, auth: () => auth, serviceKeys: () => [SERVICE_KEY] });

const get = (path: string, headers: Record<string, string> = {}) => ops.GET(new Request(`${ORIGIN}${path}`, { headers }));
const post = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
  ops.POST(new Request(`${ORIGIN}/admin/jobs/action`, { method: 'POST', headers: { origin: ORIGIN, ...headers }, body: new URLSearchParams(fields) }));

let cookie = '';
beforeEach(async () => {
  const signedIn = await post({ action: 'sign_in', key: SERVICE_KEY });
  cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
});
/** What a redirect after an action says (?done= or ?error=). */
const said = (response: Response) => {
  const url = new URL(response.headers.get('location')!, ORIGIN);
  return url.searchParams.get('done') ?? url.searchParams.get('error') ?? '';
};
/** The CSRF token of the page at `path`, as its forms carry it. */
const csrf = async (path = '/admin/jobs/jobs') => /name="csrf" value="([^"]+)"/.exec(await (await get(path, { cookie })).text())![1]!;

it('lets in the service key (as a session cookie) and operators; refuses everyone else', async () => {
  const none = await get('/admin/jobs');
  expect(none.status).toBe(401);
  expect(await none.text()).toContain('Sign in to the jobs console');
  const wrong = await post({ action: 'sign_in', key: 'sb_secret_guess' });
  expect(wrong.status).toBe(401);
  expect(await wrong.text()).toContain('That is not the service key.');

  const signedIn = await post({ action: 'sign_in', key: SERVICE_KEY });
  expect(signedIn.status).toBe(303);
  const setCookie = signedIn.headers.get('set-cookie')!;
  expect(setCookie).toMatch(/HttpOnly; SameSite=Strict/);
  expect(setCookie).not.toContain(SERVICE_KEY);
  const page = await get('/admin/jobs', { cookie: setCookie.split(';')[0]! });
  expect(page.status).toBe(200);
  const body = await page.text();
  expect(body).toContain('<h1>Queues</h1>');
  expect(body).not.toContain(SERVICE_KEY);
  expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");

  // A forged or expired cookie is no session.
  const [expires, signature] = setCookie.split(';')[0]!.split('=')[1]!.split('.');
  expect((await get('/admin/jobs', { cookie: `edgejobs_console=${Number(expires) + 1}.${signature}` })).status).toBe(401);

  const operator = await userToken(randomUUID(), { app_metadata: { edgejobs_operator: true }, email: 'ops@acme.test' });
  const asOperator = await get('/admin/jobs', { authorization: `Bearer ${operator}` });
  expect(asOperator.status).toBe(200);
  expect(await asOperator.text()).toContain('ops@acme.test');
  // user_metadata is the user's to edit: it does not count.
  expect((await get('/admin/jobs', { authorization: `Bearer ${await userToken(randomUUID(), { user_metadata: { edgejobs_operator: true } })}` })).status).toBe(403);
  expect((await get('/admin/jobs', { authorization: `Bearer ${await userToken(randomUUID())}` })).status).toBe(403);
  expect((await get('/admin/jobs', { authorization: `Bearer ${await userToken(randomUUID(), { is_anonymous: true, app_metadata: { edgejobs_operator: true } })}` })).status).toBe(403);
  expect((await get('/admin/jobs', { authorization: 'Bearer not-a-jwt' })).status).toBe(401);

  const out = await post({ action: 'sign_out' }, { cookie });
  expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
});

it('acts only on a POST with the CSRF token from the same origin; a GET only asks to confirm', async () => {
  const [job] = await db.store.enqueueJobs([{ type: 'mail.send' }]);
  const confirm = await get(`/admin/jobs/jobs/${job!.id}?confirm=cancel&action=cancel&target=${job!.id}`, { cookie });
  expect(await confirm.text()).toContain(`<b>Confirm:</b> cancel job ${job!.id}`);
  expect((await db.store.getJob(job!.id))!.status).toBe('queued');
  expect((await post({ action: 'cancel', target: job!.id }, { cookie })).status).toBe(403);
  expect((await post({ action: 'cancel', target: job!.id, csrf: 'x' }, { cookie })).status).toBe(403);
  expect((await post({ action: 'cancel', target: job!.id, csrf: await csrf() }, { cookie, origin: 'https://evil.test' })).status).toBe(403);
  expect((await post({ action: 'cancel', target: job!.id, csrf: await csrf() })).status).toBe(401); // no session
  expect((await db.store.getJob(job!.id))!.status).toBe('queued');

  const done = await post({ action: 'cancel', target: job!.id, csrf: await csrf(), back: `/admin/jobs/jobs/${job!.id}` }, { cookie });
  expect(done.status).toBe(303);
  expect(done.headers.get('location')).toMatch(new RegExp(`^/admin/jobs/jobs/${job!.id}\\?done=`));
  expect((await db.store.getJob(job!.id))!.status).toBe('cancelled');
  // Back links go nowhere but the console, however they are spelled.
  for (const back of ['https://evil.test/', '//evil.test/admin/jobs', '/admin/jobs/../../\\evil.test', '/admin/jobs/%2e%2e/%2e%2e//evil.test', '/admin/jobs/../x']) {
    const away = await post({ action: 'redrive', target: job!.id, csrf: await csrf(), back }, { cookie });
    expect(away.headers.get('location'), back).toMatch(/^\/admin\/jobs(\/[a-z0-9/-]*)?\?(done|error)=/);
  }
});

it('retries, deletes, pauses and limits as shown, each recorded with who did it', async () => {
  const operatorId = randomUUID();
  const operator = { authorization: `Bearer ${await userToken(operatorId, { app_metadata: { edgejobs_operator: true } })}` };
  const token = /name="csrf" value="([^"]+)"/.exec(await (await get('/admin/jobs', operator)).text())![1]!;
  await db.sql`insert into edgejobs.jobs (type, status, attempts, started_at, finished_at, expires_at, error)
    values ('mail.send', 'failed', 3, now(), now(), now() + interval '1 day', '{"message": "smtp down"}')`;
  const [failed] = await db.sql<{ id: string }[]>`select id from edgejobs.jobs`;
  await post({ action: 'redrive', target: failed!.id, csrf: token }, operator);
  expect((await db.store.getJob(failed!.id))!.status).toBe('queued');
  const notAgain = await post({ action: 'redrive', target: failed!.id, csrf: token }, operator);
  expect(said(notAgain)).toContain(`job ${failed!.id} cannot be retried in its state now`);
  await post({ action: 'pause_queue', target: 'default', csrf: token }, operator);
  await post({ action: 'set_queue_concurrency', target: 'default', value: '4', csrf: token }, operator);
  const bad = await post({ action: 'set_queue_concurrency', target: 'default', value: '-1', csrf: token }, operator);
  expect(said(bad)).toContain('a concurrency limit is a whole number from 1');
  expect(await db.store.listQueues()).toEqual([expect.objectContaining({ name: 'default', paused: true, concurrencyLimit: 4 })]);
  await post({ action: 'delete', target: failed!.id, csrf: token }, operator);
  expect(await db.store.getJob(failed!.id)).toBeNull();
  const actions = await db.store.listOperatorActions();
  expect(actions.map((a) => [a.actor, a.action, a.affected])).toEqual([
    [operatorId, 'delete', 1], [operatorId, 'set_queue_concurrency', 1], [operatorId, 'pause_queue', 1],
    [operatorId, 'redrive', 0], // the second retry found nothing to do: recorded too
    [operatorId, 'redrive', 1]]);
  const audit = await (await get('/admin/jobs/audit', { cookie })).text();
  expect(audit).toContain(operatorId);
});

it('counts a bulk action first, then runs it in batches when confirmed', async () => {
  await db.sql`insert into edgejobs.jobs (type, status, attempts, started_at, finished_at, expires_at)
    select 'sync.crm', 'failed', 1, now(), now(), now() + interval '1 day' from generate_series(1, 2500)`;
  // Counting reads rows: a POST from the page's own form (its token), never a link.
  expect((await post({ action: 'bulk_count', bulk_action: 'redrive', type: 'sync.crm', status: 'failed' }, { cookie })).status).toBe(403);
  const counted = await (await post({ action: 'bulk_count', bulk_action: 'redrive', type: 'sync.crm', status: 'failed', csrf: await csrf() }, { cookie })).text();
  expect(counted).toContain('data-matched="2500"');
  expect(await db.sql`select count(*)::int as n from edgejobs.jobs where status = 'failed'`).toEqual([{ n: 2500 }]);
  const done = await post({ action: 'bulk', bulk_action: 'redrive', type: 'sync.crm', status: 'failed', csrf: await csrf() }, { cookie });
  expect(said(done)).toContain('redrive: 2500 job(s) in 3 batch(es).');
  expect(await db.sql`select count(*)::int as n from edgejobs.jobs where status = 'queued'`).toEqual([{ n: 2500 }]);
  const refused = await post({ action: 'bulk', bulk_action: 'delete', csrf: await csrf() }, { cookie });
  expect(said(refused)).toContain('Give at least one filter field');
});

it('escapes whatever a job holds', async () => {
  const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>';
  const [job] = await db.store.enqueueJobs([{ type: 'x', input: { name: evil }, idempotencyKey: '"><svg onload=alert(3)>' }]);
  await db.sql`update edgejobs.jobs set status = 'failed', attempts = 1, started_at = now(), finished_at = now(), expires_at = now() + interval '1 day',
    error = ${db.sql.json({ name: 'Error', code: 'x', message: evil })}, errors = ${db.sql.json([{ name: 'Error', code: 'x', message: evil, attempt: 1, at: new Date().toISOString() }])} where id = ${job!.id}`;
  for (const path of [`/admin/jobs/jobs/${job!.id}`, '/admin/jobs/jobs', `/admin/jobs/jobs?q=${encodeURIComponent(evil)}`]) {
    const body = await (await get(path, { cookie })).text();
    expect(body).not.toMatch(/<script>|<img src=x|<svg onload/);
  }
  const detail = await (await get(`/admin/jobs/jobs/${job!.id}`, { cookie })).text();
  expect(detail).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
});

it('finds a job by the start of its id as the list shows it, and a delayed job it cancels says so', async () => {
  const [job] = await db.store.enqueueJobs([{ type: 'x', delayMs: 3_600_000 }]);
  const found = await (await get(`/admin/jobs/jobs?q=${job!.id.slice(0, 8)}`, { cookie })).text();
  expect(found).toContain(`data-job="${job!.id}"`);
  const done = await post({ action: 'cancel', target: job!.id, csrf: await csrf() }, { cookie });
  expect(said(done)).toBe(`Job ${job!.id} cancelled.`);
  const page = await (await get(`/admin/jobs/jobs/${job!.id}`, { cookie })).text();
  expect(page).not.toContain('due to run');
  expect(page).not.toContain('Runs at');
});

it('answers 404 for an unknown page or job', async () => {
  expect((await get(`/admin/jobs/jobs/${randomUUID()}`, { cookie })).status).toBe(404);
  expect((await get('/admin/jobs/jobs/not-a-uuid', { cookie })).status).toBe(404);
  expect((await get('/admin/jobs/elsewhere', { cookie })).status).toBe(404);
});
