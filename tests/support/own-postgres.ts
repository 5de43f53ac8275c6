/**
 * A PostgreSQL server of a test file's own, with the schema applied, for tests that stop or
 * restart the server (the shared one serves every other test file at the same time).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { applySchema, createDatabase, startEmbeddedPostgres, type EmbeddedDb } from '../../scripts/embedded-db.ts';

export interface OwnPostgres {
  server: EmbeddedDb;
  /** The migrated database. */
  url: string;
}

/** Starts the server before the file's tests and stops it after them. */
export function useOwnPostgres(): OwnPostgres {
  let own: OwnPostgres | undefined;
  beforeAll(async () => {
    const server = await startEmbeddedPostgres({
      dataDir: await mkdtemp(join(tmpdir(), 'edgejobs-own-pg-')),
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
    await createDatabase(server.url, 'edgejobs');
    await applySchema(server.urlFor('edgejobs'));
    own = { server, url: server.urlFor('edgejobs') };
  }, 120_000);
  afterAll(async () => {
    await own?.server.stop();
  });
  return new Proxy({} as OwnPostgres, {
    get: (_target, key) => {
      if (!own) throw new Error('useOwnPostgres: the server is not ready yet (use it inside tests and hooks)');
      return own[key as keyof OwnPostgres];
    },
  });
}
