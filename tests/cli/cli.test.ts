/**
 * The `edgejobs` bin as a real process (node dist/cli/main.js, what npm links as
 * node_modules/.bin/edgejobs): init in a scratch Next.js + Supabase project (what it writes, twice
 * writes nothing, --dry-run writes nothing, a user's file kept without --force, refusals with one
 * line and exit 1), upgrade (adds only the migrations a project lacks, edits none), every command's
 * --help, the worker's start-up errors, and doctor against the real database.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, createDatabase } from '../../scripts/embedded-db.ts';
import { useTestDb } from '../support/db.ts';
import { registerJobTypes } from '../../lib/job-types.ts';
import { demoRegistry } from '../../app/_server/demo-jobs.ts';

const BIN = join(ROOT, 'dist/cli/main.js');
const MIGRATIONS = readdirSync(join(ROOT, 'supabase/migrations')).filter((f) => f.endsWith('.sql')).sort();
const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env: env as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `cli` without blocking this process (for tests that serve something the command calls). */
function cliAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A Next.js + Supabase project as `create-next-app` and `supabase init` leave it (the parts init looks at). */
function project(layout: { src?: boolean; supabase?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgejobs-cli-'));
  scratch.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'my-app', private: true, dependencies: { next: '16.0.0' } }));
  const app = layout.src ? 'src/app' : 'app';
  mkdirSync(join(dir, app), { recursive: true });
  writeFileSync(join(dir, app, 'page.tsx'), 'export default function Page() { return <p>hi</p>; }\n');
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify({ compilerOptions: { strict: true }, include: ['**/*.ts', '**/*.tsx'], exclude: ['node_modules'] }, null, 2)}\n`);
  if (layout.supabase !== false) {
    mkdirSync(join(dir, 'supabase/migrations'), { recursive: true });
    writeFileSync(join(dir, 'supabase/config.toml'), 'project_id = "my-app"\n\n[api]\nenabled = true\n');
    writeFileSync(join(dir, 'supabase/migrations/20250101000000_profiles.sql'), 'create table public.profiles (id uuid primary key);\n');
  }
  return dir;
}

/** Every file under dir with its content, for before/after comparisons. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out[join(entry.parentPath, entry.name).slice(dir.length + 1)] = readFileSync(join(entry.parentPath, entry.name), 'utf8');
  }
  return out;
}

const edgejobsMigrations = (dir: string) => readdirSync(join(dir, 'supabase/migrations')).filter((f) => f.includes('_edgejobs_')).sort();

describe('edgejobs init', () => {
  it('writes the migrations, the function, the routes, a registry, the env lines and the function config', () => {
    const dir = project();
    const r = cli(['init'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const files = snapshot(dir);
    // Every migration once, named `<timestamp>_edgejobs_<name>.sql`, in the package's order, after the project's own.
    const written = edgejobsMigrations(dir);
    expect(written.map((f) => f.replace(/^\d{14}_edgejobs_/, ''))).toEqual(MIGRATIONS.map((f) => f.replace(/^\d{14}_/, '')));
    expect(written.every((f) => f.slice(0, 14) > '20250101000000')).toBe(true);
    expect(new Set(written.map((f) => f.slice(0, 14))).size).toBe(written.length);
    for (const f of written) {
      const original = MIGRATIONS.find((m) => m.endsWith(f.replace(/^\d{14}_edgejobs_/, '_')))!;
      expect(files[`supabase/migrations/${f}`]).toContain(readFileSync(join(ROOT, 'supabase/migrations', original), 'utf8'));
    }
    expect(files['supabase/functions/process-jobs/index.ts']).toContain("from 'edgejobs/edge'");
    expect(files['supabase/functions/process-jobs/jobs.ts']).toContain("from '../../../jobs/index.ts'");
    const deno = JSON.parse(files['supabase/functions/process-jobs/deno.json']!) as { imports: Record<string, string> };
    expect(deno.imports.edgejobs).toMatch(/^npm:edgejobs@\d+\.\d+\.\d+/);
    expect(files['jobs/index.ts']).toContain("type: 'example.hello'");
    expect(files['app/api/jobs/route.ts']).toContain('export const POST = jobs.enqueue');
    expect(files['app/api/jobs/route.ts']).toContain("from '../../../jobs';"); // no .ts: Next.js's tsconfig refuses it
    expect(files['app/api/jobs/[id]/route.ts']).toContain('export const DELETE = jobs.cancel');
    expect(files['app/api/jobs/health/route.ts']).toContain('export const GET = jobs.health');
    expect(files['app/api/jobs/stats/route.ts']).toContain('export const GET = jobs.stats');
    expect(files['app/api/jobs/bulk/route.ts']).toContain('export const POST = jobs.bulk');
    expect(files['app/api/jobs/drain/route.ts']).toContain('export const maxDuration = 300');
    expect(files['app/admin/jobs/[[...path]]/route.ts']).toContain("export const { GET, POST } = jobs.consoleAt('/admin/jobs');");
    expect(files['app/admin/jobs/[[...path]]/route.ts']).toContain("from '../../../../jobs';");
    expect(r.stdout).toContain('The operator console is at /admin/jobs');
    expect(files['.env.example']).toContain('EDGEJOBS_WORKER_SECRET=');
    // The config keeps what it had and gains the function's entry.
    expect(files['supabase/config.toml']).toMatch(/^project_id = "my-app"\n[\s\S]*\[functions\.process-jobs\]\nverify_jwt = false\n$/);
    // Next.js's type check leaves the Deno function alone; the rest of the tsconfig is kept.
    expect(JSON.parse(files['tsconfig.json']!)).toEqual({ compilerOptions: { strict: true }, include: ['**/*.ts', '**/*.tsx'], exclude: ['node_modules', 'supabase/functions'] });
    // The next steps name the commands.
    expect(r.stdout).toContain('npx supabase db push');
    expect(r.stdout).toContain('schedule_worker(5)');
  });

  it('mounts the console where --console-path says, and refuses a path that is not one', () => {
    const dir = project();
    expect(cli(['init', '--console-path', '/ops/queue'], { cwd: dir }).code).toBe(0);
    const route = readFileSync(join(dir, 'app/ops/queue/[[...path]]/route.ts'), 'utf8');
    expect(route).toContain("jobs.consoleAt('/ops/queue')");
    expect(route).toContain("from '../../../../jobs';");
    const bad = cli(['init', '--console-path', 'admin/../x'], { cwd: project() });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--console-path must be a URL path like /admin/jobs');
  });

  it('run again writes nothing; a file the user changed is kept unless --force', () => {
    const dir = project();
    expect(cli(['init'], { cwd: dir }).code).toBe(0);
    const before = snapshot(dir);
    const again = cli(['init'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to write');
    expect(snapshot(dir)).toEqual(before);

    const mine = '// my own route\nexport const GET = () => new Response("mine");\n';
    writeFileSync(join(dir, 'app/api/jobs/health/route.ts'), mine);
    const kept = cli(['init'], { cwd: dir });
    expect(kept.code).toBe(0);
    expect(kept.stdout).toContain('kept app/api/jobs/health/route.ts');
    expect(readFileSync(join(dir, 'app/api/jobs/health/route.ts'), 'utf8')).toBe(mine);

    const forced = cli(['init', '--force'], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('overwrite app/api/jobs/health/route.ts');
    expect(readFileSync(join(dir, 'app/api/jobs/health/route.ts'), 'utf8')).toBe(before['app/api/jobs/health/route.ts']);
    // --force never touches the migrations: still one of each.
    expect(edgejobsMigrations(dir)).toHaveLength(MIGRATIONS.length);
  });

  it('--dry-run lists what it would write and writes nothing', () => {
    const dir = project();
    const before = snapshot(dir);
    const r = cli(['init', '--dry-run'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('would create jobs/index.ts');
    expect(r.stdout).toContain('would append to supabase/config.toml');
    expect(r.stdout.match(/would create supabase\/migrations\//g)).toHaveLength(MIGRATIONS.length);
    expect(snapshot(dir)).toEqual(before);
  });

  it('a tsconfig with comments is left alone, with the line to add', () => {
    const dir = project();
    const commented = '{\n  // mine\n  "compilerOptions": { "strict": true }\n}\n';
    writeFileSync(join(dir, 'tsconfig.json'), commented);
    const r = cli(['init'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('kept tsconfig.json (not plain JSON: add "supabase/functions" to its "exclude" yourself)');
    expect(readFileSync(join(dir, 'tsconfig.json'), 'utf8')).toBe(commented);
  });

  it('a src/ layout gets src/app routes and src/jobs, with imports that resolve', () => {
    const dir = project({ src: true });
    expect(cli(['init', '--cwd', dir]).code).toBe(0);
    expect(readFileSync(join(dir, 'src/app/api/jobs/[id]/route.ts'), 'utf8')).toContain("from '../../../../jobs';");
    expect(existsSync(join(dir, 'src/jobs/index.ts'))).toBe(true);
    expect(readFileSync(join(dir, 'supabase/functions/process-jobs/jobs.ts'), 'utf8')).toContain("from '../../../src/jobs/index.ts'");
  });

  it('refuses, with one line and exit 1, outside a Next.js + Supabase project', () => {
    const noSupabase = project({ supabase: false });
    const r = cli(['init'], { cwd: noSupabase });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('edgejobs init: no supabase/ folder: run `npx supabase init` first');
    expect(snapshot(noSupabase)).not.toHaveProperty('jobs/index.ts');

    const empty = mkdtempSync(join(tmpdir(), 'edgejobs-cli-'));
    scratch.push(empty);
    const none = cli(['init'], { cwd: empty });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^edgejobs init: no package\.json in .*: run this in your Next\.js app's folder\n$/);
    expect(readdirSync(empty)).toEqual([]);
  });
});

describe('edgejobs upgrade', () => {
  it('adds only the migrations the project lacks, after its latest, and edits none', () => {
    const dir = project();
    expect(cli(['init'], { cwd: dir }).code).toBe(0);
    const all = edgejobsMigrations(dir);
    // As if the project was set up by an older edgejobs that had only the first migrations.
    for (const f of all.slice(3)) unlinkSync(join(dir, 'supabase/migrations', f));
    writeFileSync(join(dir, 'supabase/migrations/29990101000000_later_work.sql'), 'select 1;\n');
    const before = snapshot(dir);
    const mtimes = all.slice(0, 3).map((f) => statSync(join(dir, 'supabase/migrations', f)).mtimeMs);

    const dry = cli(['upgrade', '--dry-run'], { cwd: dir });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`${all.length - 3} new migrations`);
    expect(snapshot(dir)).toEqual(before);

    const r = cli(['upgrade'], { cwd: dir });
    expect(r.code).toBe(0);
    const after = edgejobsMigrations(dir);
    expect(after).toHaveLength(all.length);
    const added = after.filter((f) => !all.slice(0, 3).includes(f));
    expect(added.map((f) => f.replace(/^\d{14}_/, ''))).toEqual(all.slice(3).map((f) => f.replace(/^\d{14}_/, '')));
    expect(added.every((f) => f.slice(0, 14) > '29990101000000')).toBe(true); // after every migration the project has
    for (const [i, f] of all.slice(0, 3).entries()) {
      expect(readFileSync(join(dir, 'supabase/migrations', f), 'utf8')).toBe(before[`supabase/migrations/${f}`]);
      expect(statSync(join(dir, 'supabase/migrations', f)).mtimeMs).toBe(mtimes[i]);
    }
    const again = cli(['upgrade'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('the project has every migration');
    expect(edgejobsMigrations(dir)).toEqual(after);
  });

  it('refuses a project init has not set up, and --force', () => {
    const dir = project();
    const r = cli(['upgrade'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('edgejobs upgrade: no edgejobs migrations in supabase/migrations: run `npx edgejobs init` first\n');
    const forced = cli(['upgrade', '--force'], { cwd: dir });
    expect(forced.code).toBe(1);
    expect(forced.stderr).toContain('never rewrites a migration');
  });
});

describe('every command', () => {
  it('has --help (exit 0) and refuses unknown commands and options with one line (exit 1)', () => {
    for (const command of ['init', 'upgrade', 'worker', 'doctor']) {
      const r = cli([command, '--help']);
      expect(r.code, command).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: edgejobs ${command}`));
    }
    expect(cli(['worker', '--help']).stdout).toContain('EDGEJOBS_SHUTDOWN_GRACE_MS');
    const top = cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('Commands:');
    expect(cli(['--version']).stdout.trim()).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    expect(cli([]).code).toBe(1); // no command: the usage, and a failure for scripts

    const unknown = cli(['deploy']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('edgejobs: unknown command "deploy" (edgejobs --help lists them)\n');
    for (const name of ['constructor', '__proto__', 'toString']) {
      expect(cli([name]).stderr).toBe(`edgejobs: unknown command "${name}" (edgejobs --help lists them)\n`);
    }
    const option = cli(['init', '--yes']);
    expect(option.code).toBe(1);
    expect(option.stderr.trim().split('\n')).toHaveLength(1);
    expect(option.stderr).toContain("edgejobs init: Unknown option '--yes'");
  });

  it('worker: a missing DATABASE_URL, a missing or wrong registry module, a bad setting: one line, exit 1', () => {
    const noUrl = cli(['worker', 'app/_server/demo-jobs.ts'], { env: { DATABASE_URL: undefined } });
    expect(noUrl.code).toBe(1);
    expect(noUrl.stderr).toMatch(/^edgejobs worker: DATABASE_URL is not set/);
    const env = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', EDGEJOBS_JOBS_MODULE: undefined };
    const missing = cli(['worker', 'jobs/nope.ts'], { env });
    expect(missing.stderr).toBe('edgejobs worker: the job registry module jobs/nope.ts does not exist\n');
    const none = cli(['worker'], { env, cwd: project() });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^edgejobs worker: no job registry: give the module that exports `registry`/);
    const notRegistry = cli(['worker', 'lib/limits.ts'], { env });
    expect(notRegistry.code).toBe(1);
    expect(notRegistry.stderr).toBe('edgejobs worker: the job registry module lib/limits.ts must export `registry` (createRegistry([...])); it exports none\n');
    const bad = cli(['worker', 'app/_server/demo-jobs.ts'], { env: { ...env, EDGEJOBS_CONCURRENCY: 'lots' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('edgejobs worker: EDGEJOBS_CONCURRENCY must be an integer from 1 to 1000, not "lots"\n');
    const two = cli(['worker', 'a.ts', 'b.ts'], { env });
    expect(two.stderr).toBe('edgejobs worker: worker takes one jobs module (edgejobs worker --help)\n');
  });
});

describe('edgejobs doctor', () => {
  const db = useTestDb();

  it('--env reads DATABASE_URL from a dotenv file; the environment wins; a missing file is one line', () => {
    const dir = project();
    writeFileSync(join(dir, '.env.local'), `# the app's file\nDATABASE_URL="${db.url}"\n`);
    const fromFile = cli(['doctor', '--env', '.env.local'], { cwd: dir, env: { DATABASE_URL: undefined } });
    expect(fromFile.stdout).toContain('ok      migrations');
    const envWins = cli(['doctor', '--env', '.env.local'], { cwd: dir, env: { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } });
    expect(envWins.stderr).toMatch(/cannot connect to the database/);
    const missing = cli(['worker', '--env', '.env.nope'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('edgejobs worker: cannot read --env .env.nope: no such file\n');
  });

  it('on a migrated database: names each missing part with its fix, exit 1', async () => {
    const r = cli(['doctor', '--db-url', db.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`ok      migrations: all ${MIGRATIONS.length} edgejobs migrations applied`);
    expect(r.stdout).toContain('MISSING job types: none registered');
    expect(r.stdout).toMatch(/MISSING pg_cron: not installed\n\s+fix: enable pg_cron/);
    expect(r.stdout).toContain('MISSING worker: never seen');
    expect(r.stderr).toMatch(/^edgejobs doctor: \d+ problems found \(see above\)\n$/);
  });

  it('with --jobs: the registry types not registered yet, then registered and the worker seen', async () => {
    const missing = cli(['doctor', '--db-url', db.url, '--jobs', 'app/_server/demo-jobs.ts']);
    expect(missing.stdout).toMatch(/MISSING job types: not registered: report\.generate, /);
    await registerJobTypes(db.store, demoRegistry, { workerName: 'worker@test' });
    const after = cli(['doctor', '--db-url', db.url, '--jobs', 'app/_server/demo-jobs.ts']);
    expect(after.stdout).toContain('ok      job types: all 3 of the registry\'s types registered');
    expect(after.stdout).toMatch(/ok {6}worker: seen \d+ s ago/);
  });

  it("with Vault: the function reached at the secret's URL, and a URL where nothing answers", async () => {
    await db.sql.unsafe(readFileSync(join(ROOT, 'tests/support/supabase-services.sql'), 'utf8'));
    const server = createServer((req, res) => {
      if (req.url === '/functions/v1/process-jobs/health') res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"runningDrains":0}');
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      await db.sql`select vault.create_secret(${`${base}/functions/v1/process-jobs`}, 'edgejobs_worker_url'), vault.create_secret('s3cret-for-the-doctor-test', 'edgejobs_worker_secret')`;
      const up = await cliAsync(['doctor', '--db-url', db.url]);
      expect(up.stdout).toContain('ok      vault edgejobs_worker_secret: present');
      expect(up.stdout).toContain(`ok      function: ${base}/functions/v1/process-jobs/health answers (0 drains running)`);
      expect(up.stdout).not.toContain('s3cret');
      await db.sql`update vault.secrets set secret = ${`${base}/wrong`} where name = 'edgejobs_worker_url'`;
      const wrong = await cliAsync(['doctor', '--db-url', db.url]);
      expect(wrong.stdout).toMatch(/MISSING function: .*\/wrong\/health answered 404 \(not the process-jobs function\)\n\s+fix: npx supabase functions deploy process-jobs/);
    } finally {
      server.close();
    }
  });

  it('on an empty database: no edgejobs schema, and the command that adds it', async () => {
    const name = `doctor_empty_${process.pid}`;
    await createDatabase(db.url.replace(/\/[^/]*$/, '/postgres'), name);
    const r = cli(['doctor'], { env: { DATABASE_URL: db.url.replace(/\/[^/]*$/, `/${name}`) } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('MISSING migrations: no edgejobs schema\n        fix: npx edgejobs init && npx supabase db push');
  });

  it('refuses without a database or when it cannot connect', () => {
    const none = cli(['doctor'], { env: { DATABASE_URL: undefined, SUPABASE_DB_URL: undefined } });
    expect(none.stderr).toBe('edgejobs doctor: no database: pass --db-url <postgres url> or set DATABASE_URL\n');
    const down = cli(['doctor', '--db-url', 'postgres://nobody@127.0.0.1:1/none']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^edgejobs doctor: cannot connect to the database: .*ECONNREFUSED.*\n$/);
  });
});
