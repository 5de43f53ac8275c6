/**
 * edgejobs as a team adopts it, end to end: a fresh Next.js app (App Router, TypeScript; its files
 * written here, no template downloaded) installs the packed tarball of this repository (`npm pack`)
 * and its peers from the registry, runs `npx edgejobs init`, adds one job type, applies the
 * migrations with `supabase db push` to the real database, passes `deno check` of its Edge
 * Function (edgejobs through its `npm:` specifier, resolved from node_modules), builds with
 * `next build`, starts with `next start`, and runs the worker with the package's bin. In Chromium,
 * a signed-in user submits a job from a page that uses `useJob` with live updates on, and watches
 * its progress arrive by broadcast from the Realtime stand-in (tests/support/realtime.ts: the RLS
 * policy of `realtime.messages` admits the owner in the real database), not by polling, then its
 * result; a second user's join to that job's topic is refused.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { ROOT, applyBootstrap, createDatabase, freePort } from '../../scripts/embedded-db.ts';
import { JWT_SECRET, userToken } from '../support/http.ts';
import { packPackage } from '../support/pack.ts';
import { signJwt } from '../support/postgrest.ts';
import { startRealtime, type RealtimeStandIn } from '../support/realtime.ts';
import { waitFor } from '../support/wait.ts';

const CHROMIUM = '/usr/bin/chromium';
const FIXTURE = join(ROOT, 'tests/support/consumer-app');
const OUT = join(ROOT, 'test-results');
if (!existsSync(CHROMIUM)) {
  const message = `${CHROMIUM} is missing (apt-get install chromium): the consumer app cannot be tested in a browser`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n!!! SKIPPING the consumer app test: ${message}\n`);
}

const version = (name: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
const processes: ChildProcess[] = [];
const logs: Record<string, string> = {};
let app = '';
let dbUrl = '';
let sql: postgres.Sql;
let realtime: RealtimeStandIn;
let base = '';
let worker: ChildProcess;
let browser: Browser | undefined;

/** Runs a command in the app to its end; throws with its output when it fails. */
function run(name: string, command: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(command, args, { cwd: app, env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', ...env }, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  logs[name] = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`${name} failed (${r.status ?? r.signal}):\n${logs[name]}`);
  return logs[name];
}

/** Starts a long-running command in the app, in a process group of its own. */
function start(name: string, command: string, args: string[], env: Record<string, string>) {
  const child = spawn(command, args, { cwd: app, detached: true, env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  logs[name] = '';
  child.stdout!.on('data', (d) => (logs[name] += d));
  child.stderr!.on('data', (d) => (logs[name] += d));
  processes.push(child);
  return child;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  app = mkdtempSync(join(tmpdir(), 'edgejobs-consumer-'));
  const { tarball } = packPackage(mkdtempSync(join(tmpdir(), 'edgejobs-pack-')));

  // What create-next-app and supabase init leave, and the app's own page.
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({
    name: 'consumer-app', private: true,
    scripts: { build: 'next build', start: 'next start' },
    dependencies: Object.fromEntries([['edgejobs', `file:${tarball}`], ...['next', 'react', 'react-dom', 'zod', '@supabase/supabase-js'].map((p) => [p, version(p)])]),
    devDependencies: Object.fromEntries(['typescript', '@types/react', '@types/react-dom', '@types/node'].map((p) => [p, version(p)])),
  }, null, 2)}\n`);
  for (const [from, to] of [['tsconfig.json', 'tsconfig.json'], ['layout.tsx', 'app/layout.tsx'], ['page.tsx', 'app/page.tsx']] as const) {
    mkdirSync(dirname(join(app, to)), { recursive: true });
    copyFileSync(join(FIXTURE, from), join(app, to));
  }
  mkdirSync(join(app, 'supabase'));
  writeFileSync(join(app, 'supabase/config.toml'), 'project_id = "consumer-app"\n\n[api]\nenabled = true\nport = 54321\n');

  run('npm install', 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error']);
  run('edgejobs init', join(app, 'node_modules/.bin/edgejobs'), ['init']);

  // The app adds its own job type to the registry init wrote.
  const registry = join(app, 'jobs/index.ts');
  const starter = readFileSync(registry, 'utf8');
  expect(starter).toContain('export const registry = createRegistry([hello]);');
  writeFileSync(registry, starter.replace('export const registry = createRegistry([hello]);', `/** Counts in steps, reporting each one. */
export const count = defineJob({
  type: 'report.count',
  input: z.object({ steps: z.number().int().min(1).max(20), stepMs: z.number().int().min(0).max(5_000) }),
  allowUsers: true,
  async handler({ steps, stepMs }, ctx) {
    for (let step = 1; step <= steps; step++) {
      await new Promise((resolve) => setTimeout(resolve, stepMs));
      ctx.progress({ step, of: steps });
    }
    return { counted: steps };
  },
});

export const registry = createRegistry([hello, count]);`)
    // ... and a schedule, which the worker registers and fires (its first run at once).
    .replace('export const schedules: ReturnType<typeof defineSchedule>[] = [];',
      "export const schedules = [defineSchedule({ name: 'count-hourly', cron: '0 * * * *', job: count, input: { steps: 1, stepMs: 0 }, runOnCreate: true })];"));
  expect(readFileSync(registry, 'utf8')).toContain("name: 'count-hourly'");

  // A database like a Supabase project's, with the migrations init wrote, applied as users apply them.
  const name = `consumer_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  await createDatabase(inject('pgAdminUrl'), name);
  dbUrl = inject('pgAdminUrl').replace(/\/[^/]*$/, `/${name}`);
  await applyBootstrap(dbUrl);
  run('supabase db push', join(ROOT, 'node_modules/.bin/supabase'), ['db', 'push', '--db-url', dbUrl, '--yes', '--workdir', app]);
  sql = postgres(dbUrl, { max: 2, onnotice: () => {} });

  // The Edge Function type-checks against the installed package, imported as npm:edgejobs.
  run('deno check', join(ROOT, 'node_modules/.bin/deno'), ['check', '--node-modules-dir=manual', '--config', 'supabase/functions/process-jobs/deno.json', 'supabase/functions/process-jobs/index.ts']);

  realtime = await startRealtime({ databaseUrl: dbUrl, jwtSecret: JWT_SECRET });
  const publishable = await signJwt(JWT_SECRET, { role: 'anon' }, '1h');
  run('next build', join(app, 'node_modules/.bin/next'), ['build'], { NEXT_PUBLIC_SUPABASE_URL: realtime.url, NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY: publishable });

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const server = start('next start', join(app, 'node_modules/.bin/next'), ['start', '--port', String(port), '--hostname', '127.0.0.1'], { DATABASE_URL: dbUrl, SUPABASE_JWT_SECRET: JWT_SECRET });
  await waitFor(async () => server.exitCode !== null || (await fetch(`${base}/api/jobs/health`).then((r) => r.status > 0, () => false)), 'next start', { timeoutMs: 60_000, intervalMs: 200, context: () => logs['next start']! });
  if (server.exitCode !== null) throw new Error(`next start exited:\n${logs['next start']}`);

  // The worker, as the docs give it: the package's bin, the registry found at jobs/index.ts.
  worker = start('edgejobs worker', join(app, 'node_modules/.bin/edgejobs'), ['worker'], { DATABASE_URL: dbUrl });
  await waitFor(async () => worker.exitCode !== null || logs['edgejobs worker']!.includes('woken by LISTEN'), 'the worker', { timeoutMs: 30_000, intervalMs: 100, context: () => logs['edgejobs worker']! });
  if (worker.exitCode !== null) throw new Error(`the worker exited:\n${logs['edgejobs worker']}`);
}, 900_000);

afterAll(async () => {
  await browser?.close();
  for (const child of processes) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch { /* already gone */ }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  }
  await realtime?.stop();
  await sql?.end({ timeout: 1 });
  if (app) rmSync(app, { recursive: true, force: true });
}, 60_000);

it.runIf(existsSync(CHROMIUM))('a fresh Next.js app with the packed package: init, migrations, build, worker; in Chromium a job moves by broadcast to its result, and another user cannot join its topic', async () => {
  // Every entry point loads in plain Node from the app (ESM, through the package's exports).
  const entries = ['edgejobs', 'edgejobs/postgres', 'edgejobs/supabase', 'edgejobs/next', 'edgejobs/react', 'edgejobs/client', 'edgejobs/edge'];
  const loaded = run('node import', process.execPath, ['--input-type=module', '-e',
    `const out = {}; for (const e of ${JSON.stringify(entries)}) out[e] = Object.keys(await import(e)).length; console.log(JSON.stringify(out));`]);
  const counts = JSON.parse(loaded) as Record<string, number>;
  expect(Object.keys(counts)).toEqual(entries);
  expect(Object.values(counts).every((n) => n > 0)).toBe(true);

  // What init wrote is what the app runs: the routes answer, the registry is registered.
  expect(readFileSync(join(app, 'app/api/jobs/route.ts'), 'utf8')).toContain("from 'edgejobs/next'");
  expect((await fetch(`${base}/api/jobs/health`)).status).toBe(200);
  expect((await fetch(`${base}/api/jobs/stats`)).status).toBe(401); // operators only

  const owner = randomUUID();
  const ownerToken = await userToken(owner);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const page = await browser.newPage();
  await page.addInitScript((token) => window.localStorage.setItem('token', token), ownerToken);
  const statusReads: string[] = [];
  page.on('request', (request) => {
    if (request.method() === 'GET' && /\/api\/jobs\/[0-9a-f-]{36}$/.test(request.url())) statusReads.push(request.url());
  });
  await page.goto(base);
  await page.getByRole('button', { name: 'Count to six' }).click();
  // Live while it runs (the channel is left when the job ends).
  await page.waitForFunction(() => document.querySelector('[data-testid=live]')?.textContent === 'yes', undefined, { timeout: 30_000 });
  expect(await page.getByTestId('status').innerText()).not.toBe('completed');
  await page.getByTestId('result').waitFor({ timeout: 60_000 });

  expect(JSON.parse(await page.getByTestId('result').innerText())).toEqual({ counted: 6 });
  expect(await page.getByTestId('status').innerText()).toBe('completed');
  // The progress moved on the page, step by step, while the job ran.
  const history = await page.getByTestId('history').locator('li').allInnerTexts();
  expect(history.length).toBeGreaterThanOrEqual(4);
  expect(history.at(-1)).toBe('6/6');

  // By broadcast, not by polling: the page's channel was admitted and got each step; the page
  // read the job over HTTP only at the start, after the join and at the end.
  const [job] = await sql<{ id: string; status: string; result: unknown; topic: string }[]>`
    select id, status, result, edgejobs.job_topic(owner_id, id) as topic from edgejobs.jobs where owner_id = ${owner}`;
  expect(job).toMatchObject({ status: 'completed', result: { counted: 6 } });
  expect(realtime.joins).toContainEqual({ topic: job!.topic, sub: owner, role: 'authenticated', private: true, admitted: true });
  // (The worker may claim the job, its first broadcast, before the page has joined.)
  const broadcasts = realtime.deliveries.filter((d) => d.topic === job!.topic && (d.payload as { status: string }).status === 'processing');
  expect(broadcasts.filter((d) => d.sockets === 1).length).toBeGreaterThanOrEqual(4);
  expect(broadcasts.every((d) => d.sockets <= 1)).toBe(true);
  expect(statusReads.filter((url) => url.endsWith(job!.id)).length).toBeLessThanOrEqual(3);

  // The worker from the bin ran it, and registered and fired the app's schedule.
  const runs = await sql<{ trigger: string }[]>`select distinct trigger from edgejobs.worker_runs`;
  expect(runs.map((r) => r.trigger)).toEqual(['worker']);
  await waitFor(async () => (await sql`select 1 from edgejobs.jobs where schedule_name = 'count-hourly' and status = 'completed'`).length === 1,
    'the scheduled run', { timeoutMs: 20_000, intervalMs: 100, context: () => logs['edgejobs worker']! });
  expect(await sql`select name, state from public.list_schedules()`).toEqual([{ name: 'count-hourly', state: 'active' }]);

  // Another signed-in user cannot listen to it: the RLS policy refuses the join in the database.
  const other = randomUUID();
  const refused = await page.evaluate(([topic, token]) => window.consumer!.join(topic!, token!), [job!.topic, await userToken(other)]);
  expect(refused).toMatch(/^CHANNEL_ERROR: .*Unauthorized: You do not have permissions to read from this Channel topic/);
  expect(realtime.joins).toContainEqual(expect.objectContaining({ topic: job!.topic, sub: other, admitted: false }));

  mkdirSync(OUT, { recursive: true });
  await page.setViewportSize({ width: 1000, height: 600 });
  await page.screenshot({ path: join(OUT, 'consumer-app.png') });
}, 120_000);
