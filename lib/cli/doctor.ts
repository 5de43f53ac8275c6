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

export async function doctor(url: string, registry: JobRegistry<AnyJobDefinition> | null): Promise<Check[]> {
  const sql = postgres(url, { max: 1, prepare: false, onnotice: () => {}, connect_timeout: 10, idle_timeout: 1 });
  try {
    try {
      await sql`select 1`;
    } catch (error) {
      throw new CliError(`cannot connect to the database: ${(error as Error).message}`);
    }
    const checks: Check[] = [];
    const exists = async (regclass: string) => (await sql<{ ok: boolean }[]>`select to_regclass(${regclass}) is not null as ok`)[0]!.ok;

    // Migrations: recorded by the Supabase CLI by name; without its table, the schema itself.
    const ours = packageMigrations().map((m) => m.name);
    if (await exists('supabase_migrations.schema_migrations')) {
      const rows = await sql<{ name: string }[]>`select coalesce(name, '') as name from supabase_migrations.schema_migrations`;
      const applied = new Set(rows.map((r) => r.name.replace(/^edgejobs_/, '')));
      const missing = ours.filter((name) => !applied.has(name));
      checks.push(missing.length === 0
        ? { name: 'migrations', ok: true, detail: `all ${ours.length} edgejobs migrations applied` }
        : { name: 'migrations', ok: false, detail: `not applied: ${missing.join(', ')}`, fix: 'npx edgejobs upgrade && npx supabase db push --remote (or --db-url <url>)' });
    } else {
      const ok = await exists('edgejobs.jobs');
      checks.push(ok
        ? { name: 'migrations', ok: true, detail: 'the edgejobs schema exists (no Supabase CLI migration history to compare by name)' }
        : { name: 'migrations', ok: false, detail: 'no edgejobs schema', fix: 'npx edgejobs init && npx supabase db push --remote (or --db-url <url>)' });
    }
    const schema = await exists('edgejobs.job_types');

    // Job types: the registry's, written by the first route or worker of each deploy.
    if (schema) {
      const rows = await sql<{ type: string }[]>`select type from edgejobs.job_types order by type`;
      const registered = new Set(rows.map((r) => r.type));
      const wanted = registry?.types() ?? [];
      const missing = wanted.filter((t) => !registered.has(t));
      checks.push(registry
        ? missing.length === 0
          ? { name: 'job types', ok: true, detail: `all ${wanted.length} of the registry's types registered` }
          : { name: 'job types', ok: false, detail: `not registered: ${missing.join(', ')}`, fix: 'start a worker or call a route once (each registers the registry at start), or deploy the app that has them' }
        : rows.length > 0
          ? { name: 'job types', ok: true, detail: `${rows.length} registered: ${[...registered].slice(0, 10).join(', ')}${rows.length > 10 ? ', …' : ''}` }
          : { name: 'job types', ok: false, detail: 'none registered', fix: 'start a worker or call a route once: each registers its registry at start' });
    }

    // Extensions.
    const extensions = new Set((await sql<{ extname: string }[]>`select extname from pg_extension`).map((r) => r.extname));
    for (const ext of ['pg_cron', 'pg_net']) {
      checks.push(extensions.has(ext)
        ? { name: ext, ok: true, detail: 'installed' }
        : { name: ext, ok: false, detail: 'not installed', fix: `enable ${ext} under Database → Extensions, then npx supabase db push again (or a long-running worker: npx edgejobs worker)` });
    }

    // Vault secrets (names only: the values are never read).
    if (await exists('vault.secrets')) {
      const names = new Set((await sql<{ name: string }[]>`select name from vault.secrets where name in ('edgejobs_worker_url', 'edgejobs_worker_secret')`).map((r) => r.name));
      for (const name of ['edgejobs_worker_url', 'edgejobs_worker_secret']) {
        checks.push(names.has(name)
          ? { name: `vault ${name}`, ok: true, detail: 'present' }
          : { name: `vault ${name}`, ok: false, detail: 'missing', fix: `select vault.create_secret('<${name === 'edgejobs_worker_url' ? 'https://<ref>.supabase.co/functions/v1/process-jobs' : 'the worker secret'}>', '${name}');` });
      }
    } else {
      checks.push({ name: 'vault', ok: false, detail: 'no Vault (supabase_vault) in this database', fix: 'on Supabase Vault is built in; elsewhere run a long-running worker (npx edgejobs worker) instead of pg_cron' });
    }

    // The schedule.
    if (extensions.has('pg_cron') && (await exists('cron.job'))) {
      const jobs = await sql<{ jobname: string; schedule: string; active: boolean }[]>`select jobname, schedule, active from cron.job where jobname = 'edgejobs-drain'`;
      const job = jobs[0];
      checks.push(job?.active
        ? { name: 'schedule', ok: true, detail: `edgejobs-drain active (${job.schedule})` }
        : { name: 'schedule', ok: false, detail: job ? 'edgejobs-drain is paused' : 'no edgejobs-drain schedule', fix: 'select * from public.schedule_worker(5);' });
    } else {
      checks.push({ name: 'schedule', ok: false, detail: 'no pg_cron, so no schedule', fix: 'enable pg_cron, then: select * from public.schedule_worker(5);' });
    }

    // A worker seen lately: a run recorded, an empty look, or a registration.
    if (schema) {
      const [seen] = await sql<{ at: Date | null }[]>`
        select greatest(
          (select max(coalesce(finished_at, started_at)) from edgejobs.worker_runs),
          (select last_look_at from edgejobs.worker_liveness),
          (select max(last_seen_at) from edgejobs.job_type_workers)) as at`;
      const at = seen?.at ?? null;
      const fresh = at !== null && Date.now() - at.getTime() < WORKER_SEEN_MINUTES * 60_000;
      checks.push(fresh
        ? { name: 'worker', ok: true, detail: `seen ${Math.round((Date.now() - (at as Date).getTime()) / 1000)} s ago` }
        : { name: 'worker', ok: false, detail: at ? `last seen ${at.toISOString()}` : 'never seen', fix: 'deploy process-jobs and schedule it (above), or run npx edgejobs worker' });
    }
    return checks;
  } finally {
    await sql.end({ timeout: 1 });
  }
}
