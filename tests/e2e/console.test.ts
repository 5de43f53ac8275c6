/**
 * The operator console as an operator uses it: `next build && next start` with the demo's
 * console route, real Chromium, the real database and a drain loop. Each view is opened and read
 * (a screenshot of each goes to test-results/); each action is done through the page (link,
 * confirmation, button) and the database is read after it; anonymous and ordinary users are
 * refused; at a phone width nothing is wider than the screen.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from '../../scripts/embedded-db.ts';
import { buildAndStartNext, type NextApp } from '../support/next-app.ts';
import { createPostgresStore, type PostgresStore } from '../../lib/postgres-store.ts';
import { runDrainLoop } from '../../lib/drain-loop.ts';
import { demoRegistry } from '../../app/_server/demo-jobs.ts';
import { useTestDb } from '../support/db.ts';
import { waitFor } from '../support/wait.ts';
import { GUEST_SECRET, JWT_SECRET, userToken } from '../support/http.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(ROOT, 'test-results');
const KEY = 'sb_secret_console_e2e_0123456789abcdef';
const present = existsSync(CHROMIUM);
if (!present) {
  const message = `${CHROMIUM} is missing (apt-get install chromium): the console cannot be tested in a browser`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n!!! SKIPPING the console browser test: ${message}\n`);
}

const db = useTestDb();
let app: NextApp;
let base = '';
let store: PostgresStore;
let browser: Browser;
const stopDrains = new AbortController();
let drains: Promise<void>;

beforeAll(async () => {
  app = await buildAndStartNext({ DATABASE_URL: db.url, EDGEJOBS_GUEST_SECRET: GUEST_SECRET, SUPABASE_JWT_SECRET: JWT_SECRET, SUPABASE_SECRET_KEY: KEY }, '.next-console');
  base = app.base;
  store = createPostgresStore({ url: db.url, max: 4 });
  drains = runDrainLoop({ store, registry: demoRegistry, signal: stopDrains.signal, roundMs: 3_000, handBackMarginMs: 500, idleMs: 50, trigger: 'test' });
  if (present) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  mkdirSync(OUT, { recursive: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  stopDrains.abort();
  await drains?.catch(() => {});
  await store?.stop();
  await app?.stop();
});

async function signedIn(width = 1200): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.goto(`${base}/admin/jobs`);
  await page.getByLabel('Service key').fill(KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Queues' }).waitFor();
  return page;
}

/** Follows an action's link, reads the confirmation, confirms; answers the message shown after. */
async function confirm(page: Page, link: { name: string; within?: string }, expectWhat: RegExp): Promise<string> {
  const scope = link.within ? page.locator(link.within) : page;
  await scope.getByRole('link', { name: link.name, exact: true }).click();
  const box = page.locator('#confirm');
  await expect.poll(() => box.textContent()).toMatch(expectWhat);
  await box.getByRole('button', { name: /^Yes, / }).click();
  await page.getByRole('status').or(page.getByRole('alert')).first().waitFor();
  return (await page.getByRole('status').or(page.getByRole('alert')).first().textContent()) ?? '';
}

describe.runIf(present)('the console in Chromium', () => {
  it('refuses anonymous and ordinary users, and never shows the key', async () => {
    expect((await fetch(`${base}/admin/jobs`)).status).toBe(401);
    expect((await fetch(`${base}/admin/jobs/jobs`, { headers: { authorization: `Bearer ${await userToken(randomUUID())}` } })).status).toBe(403);
    const guest = await fetch(`${base}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'report.generate', input: { title: 'g', rows: [1], stepMs: 0 } }) });
    const guestCookie = guest.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${base}/admin/jobs`, { headers: { cookie: guestCookie } })).status).toBe(403);
    const page = await browser.newPage();
    await page.goto(`${base}/admin/jobs/runs`);
    await page.getByLabel('Service key').fill('sb_secret_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('That is not the service key.');
    await page.getByLabel('Service key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Queues' }).waitFor();
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'edgejobs_console')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(JSON.stringify(cookies)).not.toContain(KEY);
    expect(await page.content()).not.toContain(KEY);
    await page.close();
  });

  it('shows the queues, the last hour and health as the database has them; pauses, limits and resumes a queue', async () => {
    await store.enqueueJobs(Array.from({ length: 4 }, (_, i) => ({ type: 'report.generate', input: { title: `q${i}`, rows: [i], stepMs: 0 } })));
    await store.enqueueJobs([{ type: 'report.generate', queue: 'bulk-imports', input: { title: 'later', rows: [1], stepMs: 0 }, delayMs: 3_600_000 }]);
    await waitFor(async () => (await db.sql`select count(*)::int as n from edgejobs.jobs where queue = 'default' and status in ('queued', 'processing')`)[0]!.n === 0
      && (await db.sql`select count(*)::int as n from edgejobs.jobs where status = 'completed'`)[0]!.n >= 4, 'the reports to complete');
    const page = await signedIn();
    await page.reload();
    const row = page.locator('tr[data-queue="bulk-imports"]');
    await expect.poll(() => row.locator('td').nth(2).textContent()).toBe('1'); // scheduled
    expect(await page.locator('svg.chart').getAttribute('aria-label')).toMatch(/Jobs ended per minute over the last hour: \d+ in all/);
    const completed = (await db.sql`select count(*)::int as n from edgejobs.jobs where queue = 'default' and status = 'completed'`)[0]!.n;
    expect(await page.locator('tr[data-queue="default"] td').nth(4).textContent()).toBe(String(completed));
    await page.screenshot({ path: join(OUT, 'console-queues.png'), fullPage: true });

    expect(await confirm(page, { name: 'Pause', within: 'tr[data-queue="bulk-imports"]' }, /pause queue bulk-imports/)).toContain('Done');
    expect(await db.sql`select paused from edgejobs.queues where name = 'bulk-imports'`).toEqual([{ paused: true }]);
    await page.locator('tr[data-queue="bulk-imports"]').getByLabel('Concurrency limit of bulk-imports').fill('2');
    await page.locator('tr[data-queue="bulk-imports"]').getByRole('button', { name: 'Set limit' }).click();
    await expect.poll(() => page.locator('#confirm').textContent()).toMatch(/at most 2 jobs of queue bulk-imports/);
    await page.locator('#confirm').getByRole('button', { name: /^Yes, / }).click();
    await page.getByRole('status').waitFor();
    expect(await db.sql`select concurrency_limit from edgejobs.queues where name = 'bulk-imports'`).toEqual([{ concurrency_limit: 2 }]);
    await confirm(page, { name: 'Resume', within: 'tr[data-queue="bulk-imports"]' }, /resume queue bulk-imports/);
    expect(await db.sql`select paused from edgejobs.queues where name = 'bulk-imports'`).toEqual([{ paused: false }]);
    const audit = await db.sql<{ actor: string; action: string }[]>`select actor, action from edgejobs.operator_actions order by id`;
    expect(audit.map((a) => a.action)).toEqual(['pause_queue', 'set_queue_concurrency', 'resume_queue']);
    expect(new Set(audit.map((a) => a.actor))).toEqual(new Set(['service']));
    await page.close();
  });

  it('filters, searches and pages the jobs; shows one job whole; retries and deletes it', async () => {
    await db.sql`insert into edgejobs.jobs (type, status, attempts, max_attempts, started_at, finished_at, expires_at, input, error, errors, idempotency_key, created_at)
      select 'legacy.sync', 'failed', 2, 2, now(), now(), now() + interval '1 day', ${db.sql.json({ file: 'a.csv' })},
        '{"name": "Error", "code": "handler_error", "message": "row 7 is not a number"}',
        ${db.sql.json([{ name: 'Error', code: 'handler_error', message: 'timeout', attempt: 1, at: new Date(Date.now() - 60_000).toISOString() },
          { name: 'Error', code: 'handler_error', message: 'row 7 is not a number', attempt: 2, at: new Date().toISOString() }])},
        'import-' || g, now() - make_interval(secs => g)
      from generate_series(1, 70) g`;
    const page = await signedIn();
    await page.goto(`${base}/admin/jobs/jobs`);
    await page.getByLabel('Status').selectOption('failed');
    await page.getByLabel('Type').fill('legacy.sync');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('tr[data-job]').count()).toBe(50);
    await page.screenshot({ path: join(OUT, 'console-jobs.png'), fullPage: true });
    const firstPage = await page.locator('tr[data-job]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job')));
    await page.getByRole('link', { name: /Older jobs/ }).click();
    await expect.poll(() => page.locator('tr[data-job]').count()).toBe(20);
    const secondPage = await page.locator('tr[data-job]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job')));
    expect(new Set([...firstPage, ...secondPage]).size).toBe(70);
    await page.goto(`${base}/admin/jobs/jobs`);
    await page.getByLabel('Job id or idempotency key').fill('import-7');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('tr[data-job]').count()).toBe(1);

    await page.locator('tr[data-job] a').first().click();
    await page.getByRole('heading', { name: /legacy\.sync/ }).waitFor();
    const text = await page.locator('main').textContent();
    expect(text).toContain('"file": "a.csv"');
    expect(text).toContain('attempt 1 failed: timeout');
    expect(text).toContain('attempt 2 failed: row 7 is not a number');
    await page.screenshot({ path: join(OUT, 'console-job.png'), fullPage: true });
    const id = page.url().split('/').pop()!.split('?')[0]!;
    expect(await confirm(page, { name: 'Retry' }, /retry job/)).toContain('queued again');
    // legacy.sync is not a demo type: the drain cannot run it, so it is still there to delete.
    const [after] = await db.sql`select status, attempts from edgejobs.jobs where id = ${id}`;
    expect(after).toMatchObject({ attempts: 0 });
    await page.reload();
    expect(await confirm(page, { name: 'Delete' }, /delete job/)).toContain('deleted');
    expect(await db.sql`select id from edgejobs.jobs where id = ${id}`).toEqual([]);
    const actors = await db.sql`select action, actor, affected from edgejobs.operator_actions where filter -> 'ids' ? ${id}`;
    expect(actors.map((a) => [a.action, a.actor, a.affected])).toEqual([['redrive', 'service', 1], ['delete', 'service', 1]]);
    // Cancel: a job waiting for its time.
    const [later] = await store.enqueueJobs([{ type: 'report.generate', input: { title: 'later', rows: [1], stepMs: 0 }, delayMs: 3_600_000 }]);
    await page.goto(`${base}/admin/jobs/jobs/${later!.id}`);
    expect(await confirm(page, { name: 'Cancel' }, /cancel job/)).toContain('cancelled');
    expect(await db.sql`select status from edgejobs.jobs where id = ${later!.id}`).toEqual([{ status: 'cancelled' }]);
    await page.close();
  });

  it('counts a bulk redrive first, then runs it; the audit shows it', async () => {
    const page = await signedIn();
    await page.goto(`${base}/admin/jobs/bulk`);
    await page.getByLabel('Action').selectOption('delete');
    await page.getByLabel('Status').selectOption('failed');
    await page.getByLabel('Type').fill('legacy.sync');
    await page.getByRole('button', { name: 'Count (dry run)' }).click();
    const n = (await db.sql`select count(*)::int as n from edgejobs.jobs where type = 'legacy.sync' and status = 'failed'`)[0]!.n;
    expect(n).toBeGreaterThan(0);
    await expect.poll(() => page.locator('[data-matched]').getAttribute('data-matched')).toBe(String(n));
    await page.screenshot({ path: join(OUT, 'console-bulk.png'), fullPage: true });
    await page.getByRole('button', { name: `Yes, delete ${n} job(s)` }).click();
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').textContent()).toContain(`delete: ${n} job(s)`);
    expect((await db.sql`select count(*)::int as n from edgejobs.jobs where type = 'legacy.sync' and status = 'failed'`)[0]!.n).toBe(0);
    await page.goto(`${base}/admin/jobs/audit`);
    expect(await page.locator('tr[data-action]').first().textContent()).toContain('delete');
    await page.screenshot({ path: join(OUT, 'console-audit.png'), fullPage: true });
    await page.close();
  });

  it('lists schedules and worker runs; pauses a schedule and runs one now', async () => {
    await store.registerSchedules([{ name: 'nightly-report', cron: '0 3 * * *', type: 'report.generate', input: { title: 'nightly', rows: [1, 2], stepMs: 0 } } as never]);
    const page = await signedIn();
    await page.goto(`${base}/admin/jobs/schedules`);
    expect(await page.locator('tr[data-schedule="nightly-report"]').textContent()).toContain('0 3 * * *');
    expect(await confirm(page, { name: 'Pause', within: 'tr[data-schedule="nightly-report"]' }, /pause schedule nightly-report/)).toContain('Done');
    expect(await db.sql`select paused from edgejobs.schedules where name = 'nightly-report'`).toEqual([{ paused: true }]);
    await confirm(page, { name: 'Resume', within: 'tr[data-schedule="nightly-report"]' }, /resume schedule nightly-report/);
    expect(await db.sql`select paused from edgejobs.schedules where name = 'nightly-report'`).toEqual([{ paused: false }]);
    expect(await confirm(page, { name: 'Run now', within: 'tr[data-schedule="nightly-report"]' }, /run schedule nightly-report now/)).toMatch(/started job [0-9a-f-]{36}/);
    await waitFor(async () => (await db.sql`select status from edgejobs.jobs where schedule_name = 'nightly-report'`)[0]?.status === 'completed', 'the triggered run to complete');
    await page.screenshot({ path: join(OUT, 'console-schedules.png'), fullPage: true });
    await page.goto(`${base}/admin/jobs/runs`);
    await expect.poll(() => page.locator('tr[data-run]').count()).toBeGreaterThan(0);
    // A finished run (a running one that ends with nothing done leaves no row: it may vanish).
    const [latest] = await db.sql<{ id: string }[]>`select id from edgejobs.worker_runs where status <> 'running' order by started_at desc limit 1`;
    await page.reload();
    expect(await page.locator('tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')))).toContain(latest!.id);
    await page.screenshot({ path: join(OUT, 'console-runs.png'), fullPage: true });
    await page.close();
  });

  it('is usable at a phone width: nothing wider than the screen but the scrolling tables', async () => {
    const page = await signedIn(375);
    for (const path of ['', '/jobs', '/schedules', '/runs', '/bulk', '/audit']) {
      await page.goto(`${base}/admin/jobs${path}`);
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), path).toBe(true);
    }
    await page.screenshot({ path: join(OUT, 'console-phone.png'), fullPage: true });
    await page.close();
  });
});
