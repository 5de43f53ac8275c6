/**
 * The real thing: `next build && next start` serving the routes over HTTP, the real database, a
 * drain loop running the demo's jobs, and the demo page in real Chromium (Debian's `chromium`
 * driven by playwright-core). A screenshot of the finished demo goes to test-results/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { ROOT } from '../../scripts/embedded-db.ts';
import { buildAndStartNext, type NextApp } from '../support/next-app.ts';
import { createPostgresStore, type PostgresStore } from '../../lib/postgres-store.ts';
import { runDrainLoop } from '../../lib/drain-loop.ts';
import { waitForJob } from '../../lib/client/http-client.ts';
import { demoRegistry } from '../../app/_server/demo-jobs.ts';
import { useTestDb } from '../support/db.ts';
import { waitFor } from '../support/wait.ts';
import { GUEST_SECRET, JWT_SECRET, userToken } from '../support/http.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(ROOT, 'test-results');
if (!existsSync(CHROMIUM)) {
  const message = `${CHROMIUM} is missing (apt-get install chromium): the demo page cannot be tested in a browser`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n!!! SKIPPING the browser test: ${message}\n`);
}

const db = useTestDb();
let app: NextApp;
let base = '';
let store: PostgresStore;
const stopDrains = new AbortController();
let drains: Promise<void>;

beforeAll(async () => {
  app = await buildAndStartNext({ DATABASE_URL: db.url, EDGEJOBS_GUEST_SECRET: GUEST_SECRET, SUPABASE_JWT_SECRET: JWT_SECRET, CRON_SECRET: 'cron-secret-for-the-e2e-test-0123456789' });
  base = app.base;
  store = createPostgresStore({ url: db.url, max: 4 });
  // Three-second rounds, so a long import visibly spans several worker runs.
  drains = runDrainLoop({ store, registry: demoRegistry, signal: stopDrains.signal, roundMs: 3_000, handBackMarginMs: 500, idleMs: 50, trigger: 'test' });
}, 300_000);

afterAll(async () => {
  stopDrains.abort();
  await drains?.catch(() => {});
  await store?.stop();
  await app?.stop();
});

const post = (path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(`${base}${path}`, { method: 'POST', headers, body });

describe('next start: the HTTP API', () => {
  it('answers 202 with Location and Retry-After, then the status with ETag and 304', async () => {
    const response = await post('/api/jobs', JSON.stringify({ type: 'report.generate', input: { title: 'HTTP', rows: [4, 5, 6], stepMs: 0 } }));
    expect(response.status).toBe(202);
    const accepted = await response.json();
    expect(response.headers.get('location')).toBe(`/api/jobs/${accepted.id}`);
    expect(response.headers.get('retry-after')).toBe('1');
    const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
    const done = await waitForJob(accepted.id, { baseUrl: `${base}/api/jobs`, headers: { cookie }, timeoutMs: 20_000 });
    expect(done).toMatchObject({ status: 'completed', result: { sum: 15, median: 5 } });
    const status = await fetch(`${base}/api/jobs/${accepted.id}`, { headers: { cookie } });
    expect(status.status).toBe(200);
    const etag = status.headers.get('etag')!;
    const again = await fetch(`${base}/api/jobs/${accepted.id}`, { headers: { cookie, 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect((await fetch(`${base}/api/jobs/${accepted.id}`)).status).toBe(404);
  });

  it('refuses bad requests with their status codes and stores nothing', async () => {
    const before = (await db.sql`select count(*)::int as n from edgejobs.jobs`)[0]!.n;
    expect((await post('/api/jobs', 'type=x', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post('/api/jobs', '{"type":')).status).toBe(400);
    expect((await post('/api/jobs', JSON.stringify({ type: 'report.generate', input: { title: 'x'.repeat(1_200_000), rows: [1] } }))).status).toBe(413);
    expect((await post('/api/jobs', JSON.stringify({ type: 'nope', input: {} }))).status).toBe(422);
    const invalid = await post('/api/jobs', JSON.stringify({ type: 'report.generate', input: { title: '', rows: [] } }));
    expect(invalid.status).toBe(422);
    expect((await invalid.json()).error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['input.rows', 'input.title']);
    expect((await post('/api/jobs', JSON.stringify({ type: 'flaky.task', input: { failTimes: 0 } }), { 'content-type': 'application/json', authorization: 'Bearer not.a.jwt' })).status).toBe(401);
    expect((await fetch(`${base}/api/jobs/not-a-uuid`)).status).toBe(404);
    expect((await db.sql`select count(*)::int as n from edgejobs.jobs`)[0]!.n).toBe(before);
  });

  it('serves the typed route, cancel, list, health, stats and bulk', async () => {
    const headers = { authorization: `Bearer ${await userToken(randomUUID())}` };
    const typed = await post('/api/reports', JSON.stringify({ title: 'Typed', rows: [1], stepMs: 2_000 }), { ...headers, 'content-type': 'application/json' });
    expect(typed.status).toBe(202);
    const { id } = await typed.json();
    await new Promise((r) => setTimeout(r, 300));
    const cancel = await fetch(`${base}/api/jobs/${id}`, { method: 'DELETE', headers });
    expect([200, 202]).toContain(cancel.status); // queued: cancelled now; running: cancel requested
    const list = await (await fetch(`${base}/api/jobs?type=report.generate`, { headers })).json();
    expect(list.jobs.map((j: { id: string }) => j.id)).toEqual([id]);
    expect((await fetch(`${base}/api/jobs/drain`)).status).toBe(401);
    const health = await fetch(`${base}/api/jobs/health`);
    expect(health.status).toBe(200);
    expect((await health.json()).lastRun).not.toBeNull();
    // Stats, for operators only: a user's JWT is refused, an operator's answered.
    expect((await fetch(`${base}/api/jobs/stats`, { headers })).status).toBe(403);
    const operator = { authorization: `Bearer ${await userToken(randomUUID(), { app_metadata: { edgejobs_operator: true } })}` };
    const stats = await fetch(`${base}/api/jobs/stats`, { headers: operator });
    expect(stats.status).toBe(200);
    expect((await stats.json()).queues.some((q: { type: string }) => q.type === 'report.generate')).toBe(true);
    // A bulk action, counted (the default) through the real route, once the cancelled job has ended.
    await waitForJob(id, { baseUrl: `${base}/api/jobs`, headers, timeoutMs: 30_000 });
    const counted = await post('/api/jobs/bulk', JSON.stringify({ action: 'delete', filter: { ids: [id] } }), { ...operator, 'content-type': 'application/json' });
    expect(await counted.json()).toEqual({ dryRun: true, matched: 1 });
  });

  it('runs a CSV import over several worker runs through its checkpoints, and retries a flaky job', async () => {
    const csv = ['sku,qty', ...Array.from({ length: 60 }, (_, i) => `S${i},${i + 1}`)].join('\n');
    const flaky = await post('/api/jobs', JSON.stringify({ type: 'flaky.task', input: { failTimes: 1 } }));
    const cookie = flaky.headers.get('set-cookie')!.split(';')[0]!;
    const flakyJob = await flaky.json();
    const imp = await (await post('/api/jobs', JSON.stringify({ type: 'csv.import', input: { csv, chunkSize: 6, chunkMs: 300 } }), { 'content-type': 'application/json', cookie })).json();
    const options = { baseUrl: `${base}/api/jobs`, headers: { cookie }, timeoutMs: 30_000 };
    const importDone = await waitForJob(imp.id, options);
    expect(importDone).toMatchObject({ status: 'completed', result: { rows: 60, imported: 60, rejected: 0, totals: { qty: 1830 } } });
    expect((importDone.result as { workerRuns: number }).workerRuns).toBeGreaterThan(1);
    const flakyDone = await waitForJob(flakyJob.id, options);
    expect(flakyDone).toMatchObject({ status: 'completed', attempts: 2, result: { succeededOnAttempt: 2 } });
  });
});

describe.runIf(existsSync(CHROMIUM))('the demo page in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('submits a report, shows the progress bar moving and then the result', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(base);
    await page.getByTestId('type-report.generate').click();
    await page.getByTestId('report-title').fill('Browser report');
    await page.getByTestId('report-rows').fill('3, 1, 4, 1, 5, 9, 2, 6');
    await page.getByTestId('submit').click();
    await page.getByTestId('job').waitFor();
    // The demo report takes ten 300 ms steps: the bar is seen part-way before the end.
    await page.waitForFunction(() => {
      const v = Number(document.querySelector('[data-testid="progress"]')?.getAttribute('aria-valuenow'));
      return v > 0 && v < 100;
    }, undefined, { timeout: 20_000 });
    await page.getByTestId('job-status').and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
    // The result as a table, its fields by name; the panel names the type.
    const cell = (key: string) => page.locator(`[data-testid="job-result"] tr[data-key="${key}"] td`).innerText();
    expect(await Promise.all(['title', 'count', 'sum', 'min', 'max'].map(cell))).toEqual(['Browser report', '8', '31', '1', '9']);
    expect(await page.getByTestId('job-type').innerText()).toBe('Report');
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'demo-report-completed.png'), fullPage: true });

    // A reload keeps the job (its id is in the address) and lists it under "Your jobs".
    const id = new URL(page.url()).searchParams.get('job')!;
    await page.reload();
    await page.getByTestId('job-status').and(page.locator('[data-status="completed"]')).waitFor({ timeout: 10_000 });
    await page.locator(`[data-testid="my-job"][data-id="${id}"]`).waitFor();
    expect(await page.locator(`[data-testid="my-job"][data-id="${id}"] .status`).innerText()).toMatch(/completed/i);
    expect(errors).toEqual([]);
  });

  it('at a phone width: nothing wider than the screen', async () => {
    const page = await browser.newPage({ viewport: { width: 375, height: 800 } });
    await page.goto(base);
    await page.getByTestId('submit').click();
    await page.getByTestId('job-status').and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
    await page.getByTestId('my-jobs').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: join(OUT, 'demo-phone.png'), fullPage: true });
  });

  it('says why a job waits and until when; once it completes, no error from the failed attempt', async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.getByTestId('type-flaky.task').click();
    await page.getByTestId('flaky-fail-times').fill('1');
    await page.getByTestId('submit').click();
    await page.getByTestId('job').waitFor();
    const id = await waitFor(async () => new URL(page.url()).searchParams.get('job'), 'the job id in the address');
    // Hold the retry a minute away once the first attempt has failed, so the page can show it.
    await waitFor(async () => (await db.sql`select 1 from edgejobs.jobs where id = ${id} and status = 'queued' and attempts = 1`).length === 1, 'the first failure', { intervalMs: 20 });
    await db.sql`update edgejobs.jobs set run_at = now() + interval '60 seconds' where id = ${id} and status = 'queued'`;
    const retry = page.getByTestId('job-retry');
    await retry.waitFor({ timeout: 15_000 });
    expect(await retry.innerText()).toMatch(/Attempt 1 failed \(planned failure on attempt 1 of 1\); the next one is due at \d/);
    expect(await page.getByTestId('job-error').count()).toBe(0);
    await db.sql`update edgejobs.jobs set run_at = now() where id = ${id}`;
    await page.reload(); // the page waits for the run_at it was told; a reload looks now
    await page.getByTestId('job-status').and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('job-error').count()).toBe(0);
    expect(await page.getByTestId('job-retry').count()).toBe(0);
  });

  it('names a word that is not a number, and forgets the error when another job is picked', async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.getByTestId('report-rows').fill('1, two, 3');
    await page.getByTestId('submit').click();
    const alert = page.getByTestId('submit-error');
    await alert.waitFor();
    expect(await alert.innerText()).toContain('“two” is not a number');
    await page.getByTestId('type-csv.import').click();
    expect(await page.getByTestId('submit-error').count()).toBe(0);
  });

  it('shows every schema issue when the input is invalid, and a failing job\'s error after its retries', async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.getByTestId('report-title').fill('');
    await page.getByTestId('report-rows').fill('');
    await page.getByTestId('submit').click();
    const alert = page.getByTestId('submit-error');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/input\.title[\s\S]*input\.rows|input\.rows[\s\S]*input\.title/);
    await page.getByTestId('type-flaky.task').click();
    await page.getByTestId('flaky-fail-times').fill('5');
    await page.getByTestId('submit').click();
    await page.getByTestId('job-status').and(page.locator('[data-status="failed"]')).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('job-error').innerText()).toMatch(/permanent/);
  });

  it('cancels a running job', async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.getByTestId('type-csv.import').click();
    await page.getByTestId('submit').click();
    // Running, not merely queued: the cancel must reach a handler that is working.
    await page.getByTestId('job-status').and(page.locator('[data-status="processing"]')).waitFor({ timeout: 30_000 });
    await page.getByTestId('cancel').click();
    await page.getByTestId('job-status').and(page.locator('[data-status="cancelled"]')).waitFor({ timeout: 30_000 });
  });
});
