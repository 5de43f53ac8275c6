#!/usr/bin/env node
/**
 * The `edgejobs` command: init, upgrade, worker, doctor. Arguments are parsed with node:util's
 * parseArgs (strict: an unknown option is an error). Every failure is one line on stderr and exit
 * code 1; --help prints a command's usage.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CliError, loadRegistry, packageVersion } from './common.ts';

const USAGE = `Usage: edgejobs <command> [options]

Commands:
  init      add edgejobs to this Next.js + Supabase project (migrations, Edge Function, routes,
            a starter job registry, .env.example lines, the function's config)
  upgrade   add the migrations of a newer edgejobs that the project does not have yet
  worker    run the long-running worker (drains until SIGTERM/SIGINT)
  doctor    check a database's setup and print what is missing with the command that fixes it

Options: --help (for any command), --version`;

const HELP: Record<string, string> = {
  init: `Usage: edgejobs init [--dry-run] [--force] [--console-path <path>] [--cwd <dir>]

Run in a Next.js (App Router) project that has a supabase/ folder (npx supabase init). Writes:
  supabase/migrations/<timestamp>_edgejobs_*.sql   edgejobs' schema (fresh timestamps; by name, once)
  supabase/functions/process-jobs/                 the worker Edge Function (index.ts, jobs.ts, deno.json)
  app/api/jobs/...                                 the routes: enqueue, list, status, cancel, health, stats, bulk, cron drain
  app/admin/jobs/[[...path]]/route.ts              the operator console (--console-path moves it)
  jobs/index.ts                                    your job registry, with one example type
  .env.example, supabase/config.toml               the variables; verify_jwt = false for process-jobs
(src/app and src/jobs when the project uses src/.) Running it again writes nothing new.

Options:
  --dry-run     print what would be written, write nothing
  --force       overwrite files of yours that differ from edgejobs' (never migrations)
  --console-path <path>  where the operator console is mounted (default /admin/jobs)
  --cwd <dir>   the project folder (default: the current one)`,
  upgrade: `Usage: edgejobs upgrade [--dry-run] [--cwd <dir>]

After updating the edgejobs package: copies the migrations the project does not have yet (compared
by name) with fresh timestamps. Never edits a migration that is already there. Then apply them:
npx supabase db push --remote (or --db-url <url>).`,
  worker: `Usage: edgejobs worker [jobs-module] [--env <file>]

Drains the queue until SIGTERM or SIGINT; then claims nothing more, lets running jobs finish for
EDGEJOBS_SHUTDOWN_GRACE_MS and hands the rest back; a second signal hands them back at once.
jobs-module exports \`registry\` (default: EDGEJOBS_JOBS_MODULE, else jobs/index.ts or
src/jobs/index.ts). --env reads variables from a dotenv file (.env.local), under those
already set. Under a process manager, exec it so that it gets the signal itself:
  exec node_modules/.bin/edgejobs worker jobs/index.ts

`,
  doctor: `Usage: edgejobs doctor [--db-url <url>] [--jobs <module>] [--env <file>]

Checks the database (default: DATABASE_URL, else SUPABASE_DB_URL): edgejobs migrations applied
and current, job types registered (all of the registry's with --jobs), pg_cron and pg_net, the
Vault secrets, the function answering at the URL in Vault (its /health), the edgejobs-drain
schedule, a worker seen in the last 10 minutes. Read-only.
Exits 1 when something is missing.`,
};

type Options = Record<string, { type: 'string' | 'boolean' }>;
type Parsed = { values: Record<string, string | boolean | undefined>; positionals: string[] };
/** Parses the command's arguments (strict: an unknown option is a CliError); --help is always known. */
type Parse = (options: Options, positionals?: boolean) => Parsed;

const COMMANDS: Record<string, (parse: Parse, command: string) => Promise<number>> = {
  init: initOrUpgrade,
  upgrade: initOrUpgrade,
  worker,
  doctor,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command === '--version' || command === '-v') {
    console.log(packageVersion());
    return 0;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) throw new CliError(`unknown command "${command}" (edgejobs --help lists them)`);
  return run((options, positionals = false) => {
    try {
      return parseArgs({ args: rest, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: positionals, strict: true });
    } catch (error) {
      throw new CliError(`${(error as Error).message.replace(/\. To specify a positional.*$/s, '')} (edgejobs ${command} --help)`);
    }
  }, command);
}

async function initOrUpgrade(parse: Parse, command: string): Promise<number> {
  const { values } = parse({ 'dry-run': { type: 'boolean' }, force: { type: 'boolean' }, cwd: { type: 'string' }, ...(command === 'init' ? { 'console-path': { type: 'string' } } : {}) });
  if (values.help) return usage(command);
  if (command === 'upgrade' && values.force) throw new CliError('upgrade has no --force: it never rewrites a migration');
  const { init, upgrade } = await import('./init.ts');
  const options = { cwd: typeof values.cwd === 'string' ? values.cwd : process.cwd(), dryRun: Boolean(values['dry-run']), force: Boolean(values.force), out: (line: string) => console.log(line),
    ...(typeof values['console-path'] === 'string' ? { consolePath: values['console-path'] } : {}) };
  (command === 'init' ? init : upgrade)(options);
  return 0;
}

async function worker(parse: Parse): Promise<number> {
  const { values, positionals } = parse({ env: { type: 'string' } }, true);
  const { WORKER_ENV, runWorker } = await import('./worker.ts');
  if (values.help) {
    console.log(HELP.worker + WORKER_ENV);
    return 0;
  }
  if (positionals.length > 1) throw new CliError('worker takes one jobs module (edgejobs worker --help)');
  loadEnvFile(values.env);
  await runWorker(positionals[0]);
  return 0;
}

async function doctor(parse: Parse, command: string): Promise<number> {
  const { values } = parse({ 'db-url': { type: 'string' }, jobs: { type: 'string' }, env: { type: 'string' } });
  if (values.help) return usage(command);
  loadEnvFile(values.env);
  const url = (typeof values['db-url'] === 'string' && values['db-url']) || process.env.DATABASE_URL || process.env.SUPABASE_DB_URL;
  if (!url) throw new CliError('no database: pass --db-url <postgres url> or set DATABASE_URL');
  const registry = typeof values.jobs === 'string' ? await loadRegistry(values.jobs) : null;
  const checks = await (await import('./doctor.ts')).doctor(url, registry);
  for (const c of checks) {
    console.log(`${c.ok ? 'ok     ' : 'MISSING'} ${c.name}: ${c.detail}`);
    if (!c.ok && c.fix) console.log(`        fix: ${c.fix}`);
  }
  const problems = checks.filter((c) => !c.ok).length;
  if (problems > 0) throw new CliError(`${problems} problem${problems === 1 ? '' : 's'} found (see above)`);
  console.log('edgejobs doctor: everything edgejobs needs is in place');
  return 0;
}

/** --env: variables from a dotenv file (Node's own parser); the environment wins. */
function loadEnvFile(path: string | boolean | undefined) {
  if (typeof path !== 'string') return;
  // Node 20 ends the process itself on a missing file: look first.
  if (!existsSync(path)) throw new CliError(`cannot read --env ${path}: no such file`);
  try {
    process.loadEnvFile(path);
  } catch (error) {
    throw new CliError(`cannot read --env ${path}: ${(error as Error).message}`);
  }
}

function usage(name: string): number {
  console.log(HELP[name]);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const command = process.argv[2] && Object.hasOwn(COMMANDS, process.argv[2]) ? ` ${process.argv[2]}` : '';
    if (error instanceof CliError) console.error(`edgejobs${command}: ${error.message}`);
    else console.error(`edgejobs${command}: ${(error as Error)?.message ?? String(error)}`);
    process.exit(1);
  },
);
