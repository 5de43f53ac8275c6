/**
 * edgejobs/postgres: the direct store (postgres.js, one SQL statement per call) for servers,
 * workers and the Edge Function, and the LISTEN wake-up for long-running workers.
 */
export { createPostgresStore } from './postgres-store.ts';
export type { PostgresStore, PostgresStoreOptions, StoreAuth } from './postgres-store.ts';
export { listenForJobs } from './drain-loop.ts';
