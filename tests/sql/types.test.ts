import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, inject, it } from 'vitest';
import { ROOT, generateTypes } from '../../scripts/embedded-db.ts';

it('lib/database.types.ts matches `supabase gen types` on the migrated database (run npm run db:types)', async () => {
  const fresh = await generateTypes(inject('pgTemplateUrl'));
  const committed = await readFile(join(ROOT, 'lib', 'database.types.ts'), 'utf8');
  expect(committed).toBe(fresh);
});
