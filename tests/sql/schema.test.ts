import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, inject, it } from 'vitest';
import { ROOT } from '../../scripts/embedded-db.ts';
import { dumpSchema } from '../../scripts/schema-dump.ts';

it('supabase/schema.sql is the schema the migrations produce (run npm run db:schema)', async () => {
  const fresh = await dumpSchema(inject('pgTemplateUrl'));
  const committed = await readFile(join(ROOT, 'supabase', 'schema.sql'), 'utf8');
  expect(committed).toBe(fresh);
});
