/**
 * Debian's PostgreSQL 15 with `postgresql-15-cron` (installed by .ci/run), started for a test in a
 * temporary data directory with pg_cron preloaded: the one place pg_cron really runs here. As
 * root, the server runs as the `postgres` system user (Postgres refuses to run as root).
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../scripts/embedded-db.ts';

const run = promisify(execFile);
export const PG15_BIN = '/usr/lib/postgresql/15/bin';
export const PG_CRON_SO = '/usr/lib/postgresql/15/lib/pg_cron.so';

/** Why the pg_cron suite cannot run here, or null when it can. */
export function pgCronMissing(): string | null {
  if (!existsSync(join(PG15_BIN, 'pg_ctl'))) return `${PG15_BIN}/pg_ctl is missing (apt-get install postgresql-15)`;
  if (!existsSync(PG_CRON_SO)) return `${PG_CRON_SO} is missing (apt-get install postgresql-15-cron)`;
  return null;
}

export interface DebianPostgres {
  url: string;
  stop(): Promise<void>;
}

export async function startDebianPostgres(): Promise<DebianPostgres> {
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'edgejobs-pg15-'));
  const data = join(dir, 'data');
  const port = await freePort();
  let uid = process.getuid?.() ?? 0;
  let gid = process.getgid?.() ?? 0;
  if (root) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (ids.status !== 0) throw new Error('running as root needs the postgres system user (from the postgresql-15 package)');
    uid = Number(ids.stdout.trim());
    gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chmodSync(dir, 0o755);
    chownSync(dir, uid, gid);
  }
  const as = async (bin: string, args: string[]) => {
    const exe = join(PG15_BIN, bin);
    return root ? run('runuser', ['-u', 'postgres', '--', exe, ...args], { cwd: dir }) : run(exe, args, { cwd: dir });
  };
  await as('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const options = [
    `-p ${port}`, `-k ${dir}`, "-c listen_addresses='127.0.0.1'",
    '-c shared_preload_libraries=pg_cron', '-c cron.database_name=postgres', '-c wal_level=logical', '-c fsync=off',
  ].join(' ');
  await as('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', 'start']);
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
