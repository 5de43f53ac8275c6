/**
 * Writes lib/database.types.ts: starts a throwaway embedded Postgres, applies the bootstrap and
 * migrations with `supabase db push`, and runs `supabase gen types` against it.
 * Usage: npm run db:types
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, applySchema, createDatabase, generateTypes, startEmbeddedPostgres } from './embedded-db.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'edgejobs-types-'));
const db = await startEmbeddedPostgres({ dataDir });
try {
  await createDatabase(db.url, 'types');
  await applySchema(db.urlFor('types'));
  const types = await generateTypes(db.urlFor('types'));
  await writeFile(join(ROOT, 'lib', 'database.types.ts'), types);
  console.log('wrote lib/database.types.ts');
} finally {
  await db.stop();
  await rm(dataDir, { recursive: true, force: true });
}
