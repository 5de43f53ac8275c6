/** Builds the app with `next build` and serves it with `next start` on a free port, for tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, freePort } from '../../scripts/embedded-db.ts';

export interface NextApp {
  base: string;
  log: string[];
  stop(): Promise<void>;
}

/** `distDir` keeps builds of different test files apart (they may run at the same time). */
export async function buildAndStartNext(env: Record<string, string>, distDir = '.next'): Promise<NextApp> {
  const log: string[] = [];
  const next = join(ROOT, 'node_modules', '.bin', 'next');
  const run = (args: string[]): ChildProcess => {
    const child = spawn(next, args, { cwd: ROOT, env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', EDGEJOBS_NEXT_DIST_DIR: distDir, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d) => log.push(String(d)));
    child.stderr?.on('data', (d) => log.push(String(d)));
    return child;
  };
  const build = run(['build']);
  const code = await new Promise<number | null>((resolve) => build.once('exit', resolve));
  if (code !== 0) throw new Error(`next build failed (${code}):\n${log.join('')}`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = run(['start', '--port', String(port), '--hostname', '127.0.0.1']);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const up = await fetch(`${base}/api/jobs/health`).then((r) => r.status > 0, () => false);
    if (up) break;
    if (Date.now() > deadline || server.exitCode !== null) {
      server.kill('SIGKILL'); // never leave a half-started server behind on a shared machine
      throw new Error(`next start did not come up:\n${log.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    base, log,
    async stop() {
      if (server.exitCode !== null) return;
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    },
  };
}
