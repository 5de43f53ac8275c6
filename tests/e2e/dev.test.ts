/**
 * `npm run dev` as a new user runs it: embedded Postgres (in a temporary data folder here),
 * migrations, `next dev` on $PORT, and the local drain loop; a job submitted over HTTP runs to
 * its result; Ctrl-C (SIGINT) stops everything and exits 0.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { ROOT, freePort } from '../../scripts/embedded-db.ts';
import { waitForJob } from '../../lib/client/http-client.ts';

const data = mkdtempSync(join(tmpdir(), 'edgejobs-dev-'));
afterAll(() => rmSync(data, { recursive: true, force: true }));

const portOpen = (port: number) => new Promise<boolean>((resolve) => {
  const socket = connect(port, '127.0.0.1');
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
});

it('starts the whole stack, runs a submitted job, and stops cleanly on Ctrl-C', async () => {
  const port = await freePort();
  // What `npm run dev` runs (npm itself only adds a process in between).
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), EDGEJOBS_DEV_DATA: data, EDGEJOBS_NEXT_DIST_DIR: '.next-devtest' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
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
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('edgejobs');
  } finally {
    child.kill('SIGINT');
  }
  expect(await exited, output).toBe(0);
  expect(output).toContain('[dev] stopping');
  expect(await portOpen(port)).toBe(false);
  const pgPort = Number(/port (\d+)\)/.exec(output)?.[1]);
  expect(pgPort).toBeGreaterThan(0);
  expect(await portOpen(pgPort)).toBe(false);
}, 240_000);
