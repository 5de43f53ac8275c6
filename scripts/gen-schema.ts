/**
 * Writes supabase/schema.sql, the current schema the migrations produce (see schema-dump.ts):
 * starts a throwaway embedded Postgres, applies the bootstrap and migrations with
 * `supabase db push`, and dumps it. Usage: npm run db:schema
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, applySchema, createDatabase, startEmbeddedPostgres } from './embedded-db.ts';
import { dumpSchema } from './schema-dump.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'edgejobs-schema-'));
const db = await startEmbeddedPostgres({ dataDir });
try {
  await createDatabase(db.url, 'schema');
  await applySchema(db.urlFor('schema'));
  await writeFile(join(ROOT, 'supabase', 'schema.sql'), await dumpSchema(db.urlFor('schema')));
  console.log('wrote supabase/schema.sql');
} finally {
  await db.stop();
  await rm(dataDir, { recursive: true, force: true });
}
