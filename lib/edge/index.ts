/**
 * edgejobs/edge: the process-jobs Supabase Edge Function. A project's whole function is
 *
 *   import { serveProcessJobs } from 'edgejobs/edge'
 *   import { registry } from './jobs.ts'
 *   serveProcessJobs({ registry })
 *
 * `createApp` is the Hono app itself (POST /process-jobs starts a drain and answers 202; GET
 * /process-jobs/health), for hosts that serve it their own way.
 */
import { createPostgresStore } from '../postgres-store.ts';
import type { AnyJobDefinition, JobRegistry } from '../job.ts';
import type { Store } from '../store.ts';
import type { ScheduleDefinition } from '../schedules.ts';
import { createApp } from './app.ts';
import { configFromEnv, type WorkerConfig } from './config.ts';

export { createApp } from './app.ts';
export type { AppDeps } from './app.ts';
export { configFromEnv } from './config.ts';
export type { WorkerConfig } from './config.ts';

interface DenoLike {
  env: { get(name: string): string | undefined };
  serve(options: { port: number; onListen?: () => void }, handler: (request: Request) => Response | Promise<Response>): unknown;
}
declare const EdgeRuntime: { waitUntil(promise: Promise<unknown>): void } | undefined;

export interface ServeProcessJobsOptions {
  registry: JobRegistry<AnyJobDefinition>;
  /** The app's schedules: registered by the function's first drain (see `drain`'s `schedules`). */
  schedules?: ScheduleDefinition[];
  /** Default: the direct store on SUPABASE_DB_URL (a pool of 3, prepared statements off for the pooler). */
  store?: Store;
  /** Default: configFromEnv(Deno.env.get). */
  config?: WorkerConfig;
}

/**
 * Serves the worker with Deno.serve: the drain runs in EdgeRuntime.waitUntil, and the platform's
 * shutdown notice (`beforeunload`) hands every running drain's jobs back at once.
 */
export function serveProcessJobs({ registry, schedules, store, config }: ServeProcessJobsOptions): void {
  const deno = (globalThis as { Deno?: DenoLike }).Deno;
  if (!deno) throw new Error('serveProcessJobs runs in Deno (a Supabase Edge Function); elsewhere, serve createApp(...).app.fetch');
  const settings = config ?? configFromEnv((name) => deno.env.get(name));
  // The direct store on SUPABASE_DB_URL: one SQL statement per call (no HTTP and JSON hop through
  // the Data API), a small pool, and prepared statements off for the transaction pooler.
  const worker = store ?? createPostgresStore({ url: settings.databaseUrl, max: 3, prepare: false });
  const edge = typeof EdgeRuntime === 'undefined' ? undefined : EdgeRuntime;
  const { app, shutdown } = createApp({ config: settings, store: worker, registry, ...(schedules ? { schedules } : {}), waitUntil: edge ? (p) => edge.waitUntil(p) : undefined });
  // Supabase sends this before it stops the instance (wall clock, memory, idle): hand jobs back.
  globalThis.addEventListener('beforeunload', (event) => {
    shutdown(String((event as Event & { detail?: { reason?: string } }).detail?.reason ?? 'beforeunload'));
  });
  const port = Number(deno.env.get('PORT') ?? 8000);
  deno.serve({ port, onListen: () => {} }, app.fetch);
}
