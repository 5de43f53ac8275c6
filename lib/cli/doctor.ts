/**
 * `edgejobs doctor`: checks a project's database against what edgejobs needs, and prints for each
 * problem the command that fixes it. Read-only: it runs selects and nothing else.
 */
import postgres from 'postgres';
import type { AnyJobDefinition, JobRegistry } from '../job.ts';
import { CliError } from './common.ts';
import { packageMigrations } from './init.ts';

export interface Check {
  name: string;
  ok: boolean;
  /** What was found. */
  detail: string;
  /** The command or step that fixes it (problems only). */
  fix?: string;
}

/** How recently a worker must have been seen to count as reachable. */
const WORKER_SEEN_MINUTES = 10;

type Sql = postgres.Sql<Record<string, unknown>>;

export async function doctor(url: string, registry: JobRegistry<AnyJobDefinition> | null): Promise<Check[]> {
  const sql = postgres(url, { max: 1, prepare: false, onnotice: () => {}, connect_timeout: 10, idle_timeout: 1 }) as Sql;
  try {
    try {
      await sql`select 1`;
    } catch (error) {
      throw new CliError(`cannot connect to the database: ${(error as Error).message}`);
    }
    const extensions = new Set((await sql<{ extname: string }[]>`select extname from pg_extension`).map((r) => r.extname));
    const schema = await exists(sql, 'edgejobs.job_types');
    return [
      await migrationsCheck(sql),
      ...(schema ? [await jobTypesCheck(sql, registry)] : []),
      ...['pg_cron', 'pg_net'].map((ext): Check => extensions.has(ext)
        ? { name: ext, ok: true, detail: 'installed' }
        : { name: ext, ok: false, detail: 'not installed', fix: `enable ${ext} under Database → Extensions, then npx supabase db push again (or a long-running worker: npx edgejobs worker)` }),
      ...(await vaultChecks(sql)),
      ...(await functionCheck(sql)),
      await scheduleCheck(sql, extensions.has('pg_cron')),
      ...(schema ? [await workerCheck(sql)] : []),
    ];
  } finally {
    await sql.end({ timeout: 1 });
  }
}

const exists = async (sql: Sql, regclass: string) => (await sql<{ ok: boolean }[]>`select to_regclass(${regclass}) is not null as ok`)[0]!.ok;

/** Recorded by the Supabase CLI by name; without its table, the schema itself. */
async function migrationsCheck(sql: Sql): Promise<Check> {
  const ours = packageMigrations().map((m) => m.name);
  if (!(await exists(sql, 'supabase_migrations.schema_migrations'))) {
    return (await exists(sql, 'edgejobs.jobs'))
      ? { name: 'migrations', ok: true, detail: 'the edgejobs schema exists (no Supabase CLI migration history to compare by name)' }
      : { name: 'migrations', ok: false, detail: 'no edgejobs schema', fix: 'npx edgejobs init && npx supabase db push --remote (or --db-url <url>)' };
  }
  const rows = await sql<{ name: string }[]>`select coalesce(name, '') as name from supabase_migrations.schema_migrations`;
  const applied = new Set(rows.map((r) => r.name.replace(/^edgejobs_/, '')));
  const missing = ours.filter((name) => !applied.has(name));
  return missing.length === 0
    ? { name: 'migrations', ok: true, detail: `all ${ours.length} edgejobs migrations applied` }
    : { name: 'migrations', ok: false, detail: `not applied: ${missing.join(', ')}`, fix: 'npx edgejobs upgrade && npx supabase db push --remote (or --db-url <url>)' };
}

/** The registry's types (with --jobs), else any: written by the first route or worker of each deploy. */
async function jobTypesCheck(sql: Sql, registry: JobRegistry<AnyJobDefinition> | null): Promise<Check> {
  const rows = await sql<{ type: string }[]>`select type from edgejobs.job_types order by type`;
  const registered = new Set(rows.map((r) => r.type));
  if (registry) {
    const wanted = registry.types();
    const missing = wanted.filter((t) => !registered.has(t));
    return missing.length === 0
      ? { name: 'job types', ok: true, detail: `all ${wanted.length} of the registry's types registered` }
      : { name: 'job types', ok: false, detail: `not registered: ${missing.join(', ')}`, fix: 'start a worker or call a route once (each registers the registry at start), or deploy the app that has them' };
  }
  return rows.length > 0
    ? { name: 'job types', ok: true, detail: `${rows.length} registered: ${[...registered].slice(0, 10).join(', ')}${rows.length > 10 ? ', …' : ''}` }
    : { name: 'job types', ok: false, detail: 'none registered', fix: 'start a worker or call a route once: each registers its registry at start' };
}

/** The function's URL and secret in Vault (names only: the values are never read). */
async function vaultChecks(sql: Sql): Promise<Check[]> {
  if (!(await exists(sql, 'vault.secrets'))) {
    return [{ name: 'vault', ok: false, detail: 'no Vault (supabase_vault) in this database', fix: 'on Supabase Vault is built in; elsewhere run a long-running worker (npx edgejobs worker) instead of pg_cron' }];
  }
  const names = new Set((await sql<{ name: string }[]>`select name from vault.secrets where name in ('edgejobs_worker_url', 'edgejobs_worker_secret')`).map((r) => r.name));
  return ['edgejobs_worker_url', 'edgejobs_worker_secret'].map((name): Check => names.has(name)
    ? { name: `vault ${name}`, ok: true, detail: 'present' }
    : { name: `vault ${name}`, ok: false, detail: 'missing', fix: `select vault.create_secret('<${name === 'edgejobs_worker_url' ? 'https://<ref>.supabase.co/functions/v1/process-jobs' : 'the worker secret'}>', '${name}');` });
}

/**
 * The function pg_cron calls, reached at the URL in Vault: its health route (which needs no
 * secret) answers 200. Reads the URL, never the secret.
 */
async function functionCheck(sql: Sql): Promise<Check[]> {
  if (!(await exists(sql, 'vault.decrypted_secrets'))) return [];
  const [row] = await sql<{ url: string }[]>`select decrypted_secret as url from vault.decrypted_secrets where name = 'edgejobs_worker_url'`;
  if (!row?.url) return [];
  const health = `${row.url.replace(/\/+$/, '')}/health`;
  const fix = 'npx supabase functions deploy process-jobs --use-api (and check the URL in the Vault secret edgejobs_worker_url)';
  try {
    const response = await fetch(health, { signal: AbortSignal.timeout(10_000) });
    const body = (await response.json().catch(() => null)) as { ok?: unknown; runningDrains?: unknown } | null;
    return [response.ok && body?.ok === true
      ? { name: 'function', ok: true, detail: `${health} answers (${String(body.runningDrains)} drains running)` }
      : { name: 'function', ok: false, detail: `${health} answered ${response.status}${body ? '' : ' (not the process-jobs function)'}`, fix }];
  } catch (error) {
    return [{ name: 'function', ok: false, detail: `${health} cannot be reached: ${(error as Error).message}`, fix }];
  }
}

async function scheduleCheck(sql: Sql, pgCron: boolean): Promise<Check> {
  if (!pgCron || !(await exists(sql, 'cron.job'))) {
    return { name: 'schedule', ok: false, detail: 'no pg_cron, so no schedule', fix: 'enable pg_cron, then: select * from public.schedule_worker(5);' };
  }
  const [job] = await sql<{ schedule: string; active: boolean }[]>`select schedule, active from cron.job where jobname = 'edgejobs-drain'`;
  return job?.active
    ? { name: 'schedule', ok: true, detail: `edgejobs-drain active (${job.schedule})` }
    : { name: 'schedule', ok: false, detail: job ? 'edgejobs-drain is paused' : 'no edgejobs-drain schedule', fix: 'select * from public.schedule_worker(5);' };
}

/** A worker seen lately: a run recorded, an empty look, or a registration. */
async function workerCheck(sql: Sql): Promise<Check> {
  const [seen] = await sql<{ at: Date | null }[]>`
    select greatest(
      (select max(coalesce(finished_at, started_at)) from edgejobs.worker_runs),
      (select last_look_at from edgejobs.worker_liveness),
      (select max(last_seen_at) from edgejobs.job_type_workers)) as at`;
  const at = seen?.at ?? null;
  return at !== null && Date.now() - at.getTime() < WORKER_SEEN_MINUTES * 60_000
    ? { name: 'worker', ok: true, detail: `seen ${Math.round((Date.now() - at.getTime()) / 1000)} s ago` }
    : { name: 'worker', ok: false, detail: at ? `last seen ${at.toISOString()}` : 'never seen', fix: 'deploy process-jobs and schedule it (above), or run npx edgejobs worker' };
}
