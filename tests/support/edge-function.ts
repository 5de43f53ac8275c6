/**
 * Runs the process-jobs Edge Function in real Deno (the `deno` npm package), as `deno run` of its
 * index.ts with its deno.json, on a free port. Supabase's gateway is not here: the function is
 * called on its own path (/process-jobs), as Supabase forwards /functions/v1/process-jobs to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, freePort } from '../../scripts/embedded-db.ts';

export const WORKER_SECRET = 'worker-secret-for-tests-0123456789abcdef';
export const DENO = join(ROOT, 'node_modules', '.bin', 'deno');
const FUNCTION_DIR = join(ROOT, 'supabase', 'functions', 'process-jobs');

export interface RunningFunction {
  url: string;
  port: number;
  log: string[];
  process: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startEdgeFunction(env: Record<string, string>, port?: number): Promise<RunningFunction> {
  const p = port ?? (await freePort());
  const url = `http://127.0.0.1:${p}/process-jobs`;
  const log: string[] = [];
  const child = spawn(DENO, ['run', '--allow-net', '--allow-env', '--allow-read', '--config', join(FUNCTION_DIR, 'deno.json'), join(FUNCTION_DIR, 'index.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(p), EDGEJOBS_WORKER_SECRET: WORKER_SECRET, EDGEJOBS_WORKER_URL: url, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => log.push(String(d)));
  child.stderr?.on('data', (d) => log.push(String(d)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const up = await fetch(`${url}/health`).then((r) => r.status === 200, () => false);
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL'); // never leave a half-started Deno behind on a shared machine
      throw new Error(`the function did not start:\n${log.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url, port: p, log, process: child,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}

export const startDrain = (url: string, trigger = 'manual', secret = WORKER_SECRET) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` }, body: JSON.stringify({ trigger }) });
