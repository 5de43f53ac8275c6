/**
 * Vitest global setup: one embedded PostgreSQL 17 server for the whole run, with a template
 * database that has the Supabase bootstrap and every migration applied (by `supabase db push`).
 * Each test file clones the template into its own database (tests/support/db.ts).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT, applySchema, createDatabase, startEmbeddedPostgres } from '../../scripts/embedded-db.ts';

export const TEMPLATE_DB = 'edgejobs_template';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
    pgTemplateUrl: string;
  }
}

export default async function setup(project: TestProject) {
  try {
    return await start(project);
  } catch (error) {
    // Vitest 4 reports a failing global setup but still exits 0, which would make a broken test
    // bed look green: fail the run ourselves.
    console.error('[global-setup] the test database could not be prepared:', error);
    process.exit(1);
  }
}

/**
 * The tests that run the package as its users do (the `edgejobs` bin, `edgejobs/...` imports in
 * the demo app and the worker's job modules) run dist/: build it when lib/ is newer, so that a
 * plain `npx vitest run` never tests a stale build. (`npm test` builds it first anyway.)
 */
function buildPackageIfStale() {
  const newest = (dir: string): number => Math.max(0, ...readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile()).map((e) => statSync(join(e.parentPath, e.name)).mtimeMs));
  let built = 0;
  try {
    built = statSync(join(ROOT, 'dist/index.js')).mtimeMs;
  } catch { /* not built yet */ }
  if (built > newest('lib') && built > statSync(join(ROOT, 'tsconfig.build.json')).mtimeMs) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
}

async function start(project: TestProject) {
  if (process.env.EDGEJOBS_TEST_BREAK_SETUP) throw new Error('EDGEJOBS_TEST_BREAK_SETUP is set');
  buildPackageIfStale();
  const dataDir = await mkdtemp(join(tmpdir(), 'edgejobs-test-pg-'));
  const db = await startEmbeddedPostgres({
    dataDir,
    // Tests need correctness, not durability: no fsync.
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
  try {
    await createDatabase(db.url, TEMPLATE_DB);
    await applySchema(db.urlFor(TEMPLATE_DB));
  } catch (error) {
    await db.stop();
    throw error;
  }
  project.provide('pgAdminUrl', db.url);
  project.provide('pgTemplate', TEMPLATE_DB);
  project.provide('pgTemplateUrl', db.urlFor(TEMPLATE_DB));
  return async () => {
    await db.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
