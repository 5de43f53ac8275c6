// Entry point: Deno.serve(app.fetch). Everything else is in app.ts.
import { createPostgresStore } from '../../../lib/postgres-store.ts';
import { createApp } from './app.ts';
import { configFromEnv } from './config.ts';
import { registry } from './jobs.ts';

declare const EdgeRuntime: { waitUntil(promise: Promise<unknown>): void } | undefined;

const config = configFromEnv((name) => Deno.env.get(name));
// The direct store on SUPABASE_DB_URL: one SQL statement per call (no HTTP and JSON hop through
// the Data API), a small pool, and prepared statements off for the transaction pooler.
const store = createPostgresStore({ url: config.databaseUrl, max: 3, prepare: false });
const edge = typeof EdgeRuntime === 'undefined' ? undefined : EdgeRuntime;
const { app, shutdown } = createApp({ config, store, registry, waitUntil: edge ? (p) => edge.waitUntil(p) : undefined });

// Supabase sends this before it stops the instance (wall clock, memory, idle): hand jobs back.
addEventListener('beforeunload', (event) => {
  shutdown(String((event as Event & { detail?: { reason?: string } }).detail?.reason ?? 'beforeunload'));
});

const port = Number(Deno.env.get('PORT') ?? 8000);
Deno.serve({ port, onListen: () => {} }, app.fetch);
