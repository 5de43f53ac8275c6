/**
 * `edgejobs init` and `edgejobs upgrade`: write edgejobs into an existing Next.js + Supabase
 * project. Migrations are copied with fresh timestamps under names that say where they come from
 * (`<timestamp>_edgejobs_<name>.sql`) and are compared by name, so running either twice writes
 * nothing new and an applied migration is never edited. Every other file is written only where
 * none exists (or with --force); --dry-run shows what would be written.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { CliError, PACKAGE_ROOT, packageVersion } from './common.ts';

export interface InitOptions {
  cwd: string;
  /** Where the operator console is mounted. Default /admin/jobs. */
  consolePath?: string;
  dryRun: boolean;
  force: boolean;
  out: (line: string) => void;
}

interface Layout {
  /** The App Router folder: app/ or src/app/. */
  appDir: string;
  /** Where the job registry goes: jobs/ or src/jobs/. */
  jobsDir: string;
  /** The operator console's URL path (its route file: <appDir><consolePath>/[[...path]]/route.ts). */
  consolePath?: string;
}

/** The project's layout, or a CliError naming what is missing. */
export function detectProject(cwd: string): Layout {
  if (!existsSync(join(cwd, 'package.json'))) throw new CliError(`no package.json in ${cwd}: run this in your Next.js app's folder`);
  if (!existsSync(join(cwd, 'supabase'))) throw new CliError('no supabase/ folder: run `npx supabase init` first (edgejobs adds its migrations and Edge Function there)');
  const appDir = existsSync(join(cwd, 'app')) ? 'app' : existsSync(join(cwd, 'src', 'app')) ? 'src/app' : null;
  if (!appDir) throw new CliError('no app/ or src/app/ folder: edgejobs needs a Next.js App Router project');
  return { appDir, jobsDir: appDir === 'src/app' ? 'src/jobs' : 'jobs' };
}

/** Our migrations, in order: `name` is the part after the timestamp. */
export function packageMigrations(): Array<{ file: string; name: string; sql: string }> {
  const dir = join(PACKAGE_ROOT, 'supabase', 'migrations');
  return readdirSync(dir).filter((f) => /^\d{14}_.+\.sql$/.test(f)).sort().map((file) => ({
    file,
    name: file.replace(/^\d{14}_/, '').replace(/\.sql$/, ''),
    sql: readFileSync(join(dir, file), 'utf8'),
  }));
}

/** The edgejobs migrations a project has, by name (`<timestamp>_edgejobs_<name>.sql`). */
export function projectMigrations(cwd: string): Map<string, string> {
  const dir = join(cwd, 'supabase', 'migrations');
  const found = new Map<string, string>();
  if (!existsSync(dir)) return found;
  for (const file of readdirSync(dir)) {
    const m = /^\d+_edgejobs_(.+)\.sql$/.exec(file);
    if (m) found.set(m[1] as string, file);
  }
  return found;
}

/** UTC `YYYYMMDDHHMMSS`, as `supabase migration new` names migrations. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** The migrations the project does not have yet, with timestamps after every migration it has. */
function missingMigrations(cwd: string) {
  const have = projectMigrations(cwd);
  const dir = join(cwd, 'supabase', 'migrations');
  const latest = existsSync(dir)
    ? Math.max(0, ...readdirSync(dir).map((f) => /^(\d{14})_/.exec(f)?.[1]).filter((s): s is string => Boolean(s)).map(parseStamp))
    : 0;
  let at = Math.max(Math.floor(Date.now() / 1000) * 1000, latest + 1000);
  const version = packageVersion();
  return packageMigrations().filter((m) => !have.has(m.name)).map((m) => {
    const file = `supabase/migrations/${stamp(at)}_edgejobs_${m.name}.sql`;
    at += 1000;
    return { path: file, content: `-- From edgejobs ${version} (${m.file}). Do not edit: \`npx edgejobs upgrade\` adds newer migrations.\n${m.sql}` };
  });
}

function parseStamp(s: string): number {
  return Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14));
}

type Change = { path: string; content: string; kind: 'create' | 'append' | 'overwrite' | 'edit'; note?: string };

function plan(cwd: string, layout: Layout, force: boolean): { changes: Change[]; kept: string[] } {
  const changes: Change[] = [];
  const kept: string[] = [];
  for (const m of missingMigrations(cwd)) changes.push({ ...m, kind: 'create' });
  for (const [path, content] of Object.entries(projectFiles(layout))) {
    if (!existsSync(join(cwd, path))) changes.push({ path, content, kind: 'create' });
    else if (readFileSync(join(cwd, path), 'utf8') === content) continue;
    else if (force) changes.push({ path, content, kind: 'overwrite' });
    else kept.push(path);
  }
  // Lines added to files the project already has (or creates): env names, the function's JWT rule.
  const env = join(cwd, '.env.example');
  if (!existsSync(env) || !readFileSync(env, 'utf8').includes('EDGEJOBS_WORKER_SECRET')) {
    changes.push({ path: '.env.example', content: ENV_LINES, kind: existsSync(env) ? 'append' : 'create' });
  }
  const config = join(cwd, 'supabase', 'config.toml');
  if (!existsSync(config) || !/^\[functions\.process-jobs\]/m.test(readFileSync(config, 'utf8'))) {
    changes.push({ path: 'supabase/config.toml', content: FUNCTION_CONFIG, kind: existsSync(config) ? 'append' : 'create' });
  }
  const tsconfig = tsconfigChange(cwd);
  if (typeof tsconfig === 'string') kept.push(tsconfig);
  else if (tsconfig) changes.push(tsconfig);
  return { changes, kept };
}

/**
 * The Edge Function is Deno code (its imports end in .ts), which Next.js's type check refuses:
 * tsconfig.json's `exclude` gets `supabase/functions`. A tsconfig that is not plain JSON (comments)
 * is left alone, with the line to add (a string: reported as kept).
 */
function tsconfigChange(cwd: string): Change | string | null {
  const file = join(cwd, 'tsconfig.json');
  if (!existsSync(file)) return null;
  let config: { exclude?: unknown };
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as { exclude?: unknown };
  } catch {
    return 'tsconfig.json (not plain JSON: add "supabase/functions" to its "exclude" yourself)';
  }
  const exclude = Array.isArray(config.exclude) ? (config.exclude as unknown[]) : ['node_modules'];
  if (exclude.some((e) => typeof e === 'string' && /^(\.\/)?supabase(\/functions)?\/?(\*\*(\/\*)?)?$/.test(e))) return null;
  return {
    path: 'tsconfig.json', kind: 'edit', note: 'exclude supabase/functions (Deno code)',
    content: `${JSON.stringify({ ...config, exclude: [...exclude, 'supabase/functions'] }, null, 2)}\n`,
  };
}

function apply(cwd: string, changes: Change[]): void {
  for (const change of changes) {
    const file = join(cwd, change.path);
    mkdirSync(dirname(file), { recursive: true });
    if (change.kind === 'append') {
      const before = readFileSync(file, 'utf8');
      writeFileSync(file, `${before}${before.endsWith('\n') || before === '' ? '' : '\n'}\n${change.content}`);
    } else {
      writeFileSync(file, change.content);
    }
  }
}

function report(changes: Change[], kept: string[], o: InitOptions): void {
  const verb = o.dryRun ? 'would ' : '';
  for (const c of changes) o.out(`  ${verb}${c.kind === 'append' ? 'append to' : c.kind} ${c.path}${c.note ? `: ${c.note}` : ''}`);
  for (const path of kept) o.out(`  kept ${path}${path.includes(' ') ? '' : " (yours differs from edgejobs'; --force overwrites it)"}`);
}

export function init(o: InitOptions): void {
  if (o.consolePath !== undefined && !/^\/[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(o.consolePath)) {
    throw new CliError(`--console-path must be a URL path like /admin/jobs, not ${JSON.stringify(o.consolePath)}`);
  }
  const layout = { ...detectProject(o.cwd), ...(o.consolePath ? { consolePath: o.consolePath } : {}) };
  const { changes, kept } = plan(o.cwd, layout, o.force);
  if (changes.length === 0) {
    o.out('edgejobs init: nothing to write; the project has every file');
    report([], kept, o);
    return;
  }
  o.out(`edgejobs init${o.dryRun ? ' --dry-run' : ''} in ${o.cwd}:`);
  report(changes, kept, o);
  if (o.dryRun) return;
  apply(o.cwd, changes);
  o.out(nextSteps(layout));
}

export function upgrade(o: InitOptions): void {
  if (!existsSync(join(o.cwd, 'supabase'))) throw new CliError('no supabase/ folder: run this in the project `edgejobs init` set up');
  if (projectMigrations(o.cwd).size === 0) throw new CliError('no edgejobs migrations in supabase/migrations: run `npx edgejobs init` first');
  const changes: Change[] = missingMigrations(o.cwd).map((m) => ({ ...m, kind: 'create' }));
  if (changes.length === 0) {
    o.out(`edgejobs upgrade: the project has every migration of edgejobs ${packageVersion()}`);
    return;
  }
  o.out(`edgejobs upgrade${o.dryRun ? ' --dry-run' : ''}: ${changes.length} new migration${changes.length === 1 ? '' : 's'}`);
  report(changes, [], o);
  if (o.dryRun) return;
  apply(o.cwd, changes);
  o.out('\nApply them: npx supabase db push --remote (or --db-url <url>)');
}

function nextSteps(layout: Layout): string {
  return `
Next steps:
  1. Apply the migrations:           npx supabase db push --remote   (or --db-url <postgres url>)
  2. A worker secret, shared by the function, Vault and the app:
       SECRET=$(openssl rand -base64 48 | tr -d '\\n/+=')
       npx supabase secrets set EDGEJOBS_WORKER_SECRET=$SECRET
  3. Deploy the worker:              npx supabase functions deploy process-jobs --use-api
  4. In the SQL editor:
       select vault.create_secret('https://<ref>.supabase.co/functions/v1/process-jobs', 'edgejobs_worker_url');
       select vault.create_secret('<the same secret>', 'edgejobs_worker_secret');
       select * from public.schedule_worker(5);
  5. Set the variables in .env.example on your host (SUPABASE_URL, SUPABASE_SECRET_KEY, ...).
  The operator console is at ${layout.consolePath ?? '/admin/jobs'} (sign in with SUPABASE_SECRET_KEY).
  Your job types are in ${layout.jobsDir}/index.ts. Without Supabase's functions, run a worker:
       DATABASE_URL=... npx edgejobs worker ${layout.jobsDir}/index.ts
  Check the setup any time: npx edgejobs doctor --db-url <postgres url>`;
}

/** Files init writes (relative to the project), from the layout. */
export function projectFiles({ appDir, jobsDir, consolePath = '/admin/jobs' }: Layout): Record<string, string> {
  const version = packageVersion();
  // Without an extension: a Next.js tsconfig does not allow `.ts` in imports (Deno, which needs
  // them, reads the registry through the function's jobs.ts).
  const registryFrom = (fromDir: string) => {
    const rel = relative(fromDir, jobsDir).split('\\').join('/');
    return rel.startsWith('.') ? rel : `./${rel}`;
  };
  const route = (dir: string, comment: string, body: string, maxDuration = 10) => ({
    [`${appDir}/api/jobs/${dir}route.ts`.replace('//', '/')]: `// ${comment}
import { nextJobs } from 'edgejobs/next';
import { registry, schedules } from '${registryFrom(`${appDir}/api/jobs/${dir}`)}';

const jobs = nextJobs({ registry, schedules });

export const runtime = 'nodejs';
export const maxDuration = ${maxDuration};
export const dynamic = 'force-dynamic';
${body}`,
  });
  return {
    [`${jobsDir}/index.ts`]: `// Your job types and schedules. The routes, the Edge Function and \`npx edgejobs worker\` all import them.
import { createRegistry, defineJob, defineSchedule } from 'edgejobs';
import { z } from 'zod';

/** An example: replace it with your own work (an AI call, a report, an import). */
export const hello = defineJob({
  type: 'example.hello',
  input: z.object({ name: z.string().trim().min(1).max(100) }),
  // Signed-in users may enqueue it through POST /api/jobs (ownership comes from their JWT).
  allowUsers: true,
  async handler({ name }, ctx) {
    for (let step = 1; step <= 5; step++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      ctx.signal.throwIfAborted();
      ctx.progress({ percent: step * 20, message: \`step \${step} of 5\` });
    }
    return { greeting: \`Hello, \${name}!\` };
  },
});

export const registry = createRegistry([hello]);

/**
 * Recurring runs (node_modules/edgejobs/docs/schedules.md), registered by the workers; a schedule
 * removed from this list stops firing. For example:
 *   defineSchedule({ name: 'hello-hourly', cron: '0 * * * *', timezone: 'UTC', job: hello, input: { name: 'cron' } })
 */
export const schedules: ReturnType<typeof defineSchedule>[] = [];
`,
    ...route('', 'POST /api/jobs: enqueue { type, input, options? } → 202. GET /api/jobs: the caller\'s jobs.', `
export const POST = jobs.enqueue;
export const GET = jobs.list;
`),
    ...route('[id]/', 'GET /api/jobs/:id: a job\'s status. DELETE /api/jobs/:id: cancel it.', `
export const GET = jobs.status;
export const DELETE = jobs.cancel;
`),
    ...route('health/', 'GET /api/jobs/health: 200 when the queue is healthy, 503 when not.', `
export const GET = jobs.health;
`),
    ...route('stats/', 'GET /api/jobs/stats: counts per queue and type, per type history (the service key, or an operator).', `
export const GET = jobs.stats;
`),
    ...route('bulk/', 'POST /api/jobs/bulk: cancel, redrive or delete jobs by filter, a dry run first (the service key, or an operator).', `
export const POST = jobs.bulk;
`),
    ...route('drain/', 'GET /api/jobs/drain: the drain for Vercel Cron (Authorization: Bearer $CRON_SECRET).', `
export const GET = jobs.cronDrain;
`, 300),
    [`${appDir}${consolePath}/[[...path]]/route.ts`]: `// The operator console at ${consolePath}: queues, jobs, schedules, worker runs, bulk actions, audit.
// Sign in with the service key (SUPABASE_SECRET_KEY), or as a user whose JWT has app_metadata.edgejobs_operator: true.
import { nextJobs } from 'edgejobs/next';
import { registry, schedules } from '${registryFrom(`${appDir}${consolePath}/[[...path]]`)}';

const jobs = nextJobs({ registry, schedules });

export const runtime = 'nodejs';
export const maxDuration = 10;
export const dynamic = 'force-dynamic';

export const { GET, POST } = jobs.consoleAt('${consolePath}');
`,
    'supabase/functions/process-jobs/index.ts': `// The process-jobs worker: pg_cron starts it, an enqueue kicks it; it drains the queue in
// time-boxed batches and hands back what it cannot finish. Deploy: npx supabase functions deploy process-jobs --use-api
import { serveProcessJobs } from 'edgejobs/edge';
import { registry, schedules } from './jobs.ts';

serveProcessJobs({ registry, schedules });
`,
    'supabase/functions/process-jobs/jobs.ts': `// The job types this worker runs: the app's registry (bundled by --use-api from outside supabase/).
export { registry, schedules } from '${relative('supabase/functions/process-jobs', jobsDir).split('\\').join('/')}/index.ts';
`,
    'supabase/functions/process-jobs/deno.json': `${JSON.stringify({
      imports: {
        edgejobs: `npm:edgejobs@${version}`,
        'edgejobs/': `npm:/edgejobs@${version}/`,
        zod: 'npm:zod@^4.0.0',
      },
    }, null, 2)}\n`,
  };
}

const ENV_LINES = `# --- edgejobs (see node_modules/edgejobs/docs/deploying.md) ----------------------------------
# The routes' store: SUPABASE_URL + SUPABASE_SECRET_KEY (Data API), or DATABASE_URL (direct Postgres).
SUPABASE_URL=
SUPABASE_SECRET_KEY=
DATABASE_URL=
# Verifies user JWTs (HS256 projects; asymmetric keys use the project's JWKS).
SUPABASE_JWT_SECRET=
# Optional: 32+ random characters, for anonymous callers of allowAnonymous job types.
EDGEJOBS_GUEST_SECRET=
# The worker secret shared by the process-jobs function, Vault and the app (the kick after enqueue).
EDGEJOBS_WORKER_SECRET=
# Optional: Vercel Cron's bearer secret for GET /api/jobs/drain.
CRON_SECRET=
# Optional, the worker's: signs webhooks and alerts (whsec_ + base64 of 32 random bytes); see docs/webhooks.md.
EDGEJOBS_WEBHOOK_SECRET=
# Optional, the worker's: where alerts go (unhealthy, failure streaks, recovery); see docs/alerts.md.
EDGEJOBS_ALERT_URL=
`;

const FUNCTION_CONFIG = `# edgejobs: pg_cron and the kick call the worker with its own secret, not a user's JWT.
[functions.process-jobs]
verify_jwt = false
`;

