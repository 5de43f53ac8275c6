/** What the CLI's commands share: the one-line error, the package's own files, loading a registry. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnyJobDefinition, JobRegistry } from '../job.ts';
import type { ScheduleDefinition } from '../schedules.ts';

/** A failure the CLI reports as one line (`edgejobs <command>: <message>`) and exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** The package's root: dist/cli/ (installed) and lib/cli/ (this repo) are both two levels down. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function packageVersion(): string {
  return (JSON.parse(readFileSync(resolve(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Where `edgejobs init` puts the registry, so that the worker finds it without being told. */
export const DEFAULT_JOBS_MODULES = ['jobs/index.ts', 'src/jobs/index.ts', 'jobs/index.js', 'src/jobs/index.js'];

/**
 * The job registry: `registry` (or the default export, or its only registry export) of the module
 * at `path` (from the working directory), else of the first of DEFAULT_JOBS_MODULES that exists. TypeScript modules load
 * through tsx.
 */
export async function loadRegistry(path: string | undefined, cwd = process.cwd()): Promise<JobRegistry<AnyJobDefinition>> {
  return (await loadJobs(path, cwd)).registry;
}

/**
 * The job registry (see {@link loadRegistry}) and the module's `schedules` export, when it has
 * one (an array of defineSchedule results): the worker registers them.
 */
export async function loadJobs(path: string | undefined, cwd = process.cwd()): Promise<{ registry: JobRegistry<AnyJobDefinition>; schedules: ScheduleDefinition[] | undefined; module: string }> {
  const chosen = path || DEFAULT_JOBS_MODULES.find((candidate) => existsSync(resolve(cwd, candidate)));
  if (!chosen) {
    throw new CliError(`no job registry: give the module that exports \`registry\` (edgejobs worker jobs/index.ts), or set EDGEJOBS_JOBS_MODULE; looked for ${DEFAULT_JOBS_MODULES.join(', ')}`);
  }
  const file = resolve(cwd, chosen);
  if (!existsSync(file)) throw new CliError(`the job registry module ${chosen} does not exist`);
  let mod: { registry?: JobRegistry<AnyJobDefinition>; default?: JobRegistry<AnyJobDefinition> };
  try {
    // tsx's tsImport, not its register(): a Next.js app's package.json has no "type", so its .ts
    // files are CommonJS to Node, and an ESM-only package imported from one loads only this way.
    mod = (/\.[cm]?tsx?$/.test(file)
      ? await (await import('tsx/esm/api')).tsImport(pathToFileURL(file).href, import.meta.url)
      : await import(pathToFileURL(file).href)) as typeof mod;
  } catch (error) {
    throw new CliError(`the job registry module ${chosen} could not be loaded: ${(error as Error).message}`);
  }
  // A CommonJS module's exports arrive as `default` too (module.exports), and its own default
  // export as `default.default`.
  const isRegistry = (value: unknown): value is JobRegistry<AnyJobDefinition> =>
    typeof value === 'object' && value !== null && typeof (value as JobRegistry<AnyJobDefinition>).types === 'function';
  const inner = mod.default as { registry?: unknown; default?: unknown } | undefined;
  // Else the module's one registry, whatever its name (`export const demoRegistry = ...`).
  const named = [...new Set([...Object.values(mod), ...Object.values(inner ?? {})].filter(isRegistry))];
  const found = [mod.registry, inner?.registry, mod.default, inner?.default].find(isRegistry) ?? (named.length === 1 ? named[0] : undefined);
  if (!found) {
    throw new CliError(`the job registry module ${chosen} must export \`registry\` (createRegistry([...])); it exports ${named.length > 1 ? 'several registries' : 'none'}`);
  }
  const schedules = (mod as { schedules?: unknown }).schedules ?? (inner as { schedules?: unknown } | undefined)?.schedules;
  if (schedules !== undefined && !(Array.isArray(schedules) && schedules.every((s) => typeof s === 'object' && s !== null && typeof (s as ScheduleDefinition).cron === 'string'))) {
    throw new CliError(`the job registry module ${chosen} exports \`schedules\` that is not a list of defineSchedule(...) results`);
  }
  return { registry: found, schedules: schedules as ScheduleDefinition[] | undefined, module: chosen };
}
