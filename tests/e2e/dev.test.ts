/**
 * `npm run dev` as a new user runs it: embedded Postgres (in a temporary data folder here),
 * migrations, `next dev` on $PORT, and the local drain loop; a job submitted over HTTP runs to
 * its result; Ctrl-C stops everything and exits 0. Ctrl-C is sent as a terminal sends it: SIGINT
 * to the whole foreground process group. A job running at that moment is handed back (queued,
 * attempt not counted, checkpoint kept), which needs Postgres to outlive the drain: the database
 * is read afterwards to see it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { waitFor } from '../support/wait.ts';
import { afterAll, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import postgres from 'postgres';
import { ROOT, freePort, startEmbeddedPostgres } from '../../scripts/embedded-db.ts';
import { waitForJob } from '../../lib/client/http-client.ts';

const data = mkdtempSync(join(tmpdir(), 'edgejobs-dev-'));
afterAll(() => rmSync(data, { recursive: true, force: true }));

const portOpen = (port: number) => new Promise<boolean>((resolve) => {
  const socket = connect(port, '127.0.0.1');
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
});

it('starts the whole stack, runs a submitted job, and on Ctrl-C hands the running job back before stopping', async () => {
  const port = await freePort();
  // What `npm run dev` runs (npm itself only adds a process in between), as the foreground
  // process group of a terminal.
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts'], {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, PORT: String(port), EDGEJOBS_DEV_DATA: data, EDGEJOBS_NEXT_DIST_DIR: '.next-devtest' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let longId = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 120_000;
    while (!output.includes(`ready: http://localhost:${port}`)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`npm run dev did not print its URL:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const base = `http://localhost:${port}`;
    const response = await fetch(`${base}/api/jobs`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'report.generate', input: { title: 'dev', rows: [1, 2, 3, 4], stepMs: 0 } }),
    });
    expect(response.status).toBe(202);
    const { id } = await response.json();
    const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
    const done = await waitForJob(id, { baseUrl: `${base}/api/jobs`, headers: { cookie }, timeoutMs: 60_000 });
    expect(done).toMatchObject({ status: 'completed', result: { sum: 10, count: 4 } });
    // A quiet log: the polls above are not in it (the enqueue is).
    expect(output).not.toMatch(new RegExp(`GET /api/jobs/${id}`));
    expect((await fetch(`${base}/favicon.ico`)).status).toBe(200);
    // The console: its URL and key are printed, and the key signs in.
    await waitFor(async () => /operator console: http:\/\/localhost:\d+\/admin\/jobs/.test(output), 'the console URL to be printed');
    const key = /sign in with the service key (\S+)\)/.exec(output)![1]!;
    expect((await fetch(`${base}/admin/jobs`)).status).toBe(401);
    const signIn = await fetch(`${base}/admin/jobs/action`, { method: 'POST', redirect: 'manual', headers: { origin: base }, body: new URLSearchParams({ action: 'sign_in', key }) });
    expect(signIn.status).toBe(303);
    const consolePage = await fetch(`${base}/admin/jobs/jobs`, { headers: { cookie: signIn.headers.get('set-cookie')!.split(';')[0]! } });
    expect(consolePage.status).toBe(200);
    expect(await consolePage.text()).toContain(id.slice(0, 8));
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('edgejobs');

    // A long job (10 steps of 2 s), running when Ctrl-C comes.
    const long = await fetch(`${base}/api/jobs`, {
      method: 'POST', headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ type: 'report.generate', input: { title: 'long', rows: [1, 2, 3], stepMs: 2_000 } }),
    });
    longId = (await long.json()).id;
    const started = Date.now();
    for (;;) {
      const status = await (await fetch(`${base}/api/jobs/${longId}`, { headers: { cookie } })).json();
      if (status.status === 'processing' && status.progress) break;
      if (Date.now() - started > 30_000) throw new Error(`the long job did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    // The terminal's Ctrl-C goes to the whole foreground group; pressed twice, as impatient
    // people do, it must still hand the job back before anything stops.
    process.kill(-child.pid!, 'SIGINT');
    setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGINT');
      } catch {
        // already gone
      }
    }, 150);
  }
  expect(await exited, output).toBe(0);
  expect(output).toContain('[dev] stopping');
  expect(output).toContain('1 running job(s) handed back');
  expect(await portOpen(port)).toBe(false);
  const pgPort = Number(/port (\d+)\)/.exec(output)?.[1]);
  expect(pgPort).toBeGreaterThan(0);
  expect(await portOpen(pgPort)).toBe(false);
  expect(existsSync(join(data, 'pg', 'postmaster.pid'))).toBe(false); // Postgres shut down cleanly

  // Read the database the runner left: the job is back in the queue, not `processing`.
  const db = await startEmbeddedPostgres({ dataDir: join(data, 'pg'), port: await freePort(), persistent: true, initialise: false });
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select status, attempts, checkpoint, locked_by from edgejobs.jobs where id = ${longId}`;
    expect(row).toMatchObject({ status: 'queued', attempts: 0, locked_by: null });
    expect((row!.checkpoint as { step: number }).step).toBeGreaterThanOrEqual(1);
    expect((await sql`select count(*)::int as n from edgejobs.jobs where status = 'processing'`)[0]!.n).toBe(0);
  } finally {
    await sql.end();
    await db.stop();
  }
}, 240_000);
