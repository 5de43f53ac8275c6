/**
 * The engine must run unchanged in Deno (the Edge Function): no `node:` imports, and relative
 * imports with explicit `.ts` extensions. Only the Postgres adapter may import the driver.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../../scripts/embedded-db.ts';

it('lib/ imports no node: modules and uses .ts extensions on every relative import', async () => {
  const dir = join(ROOT, 'lib');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
  expect(files.length).toBeGreaterThan(5);
  const problems: string[] = [];
  for (const file of files) {
    const text = await readFile(join(dir, file), 'utf8');
    for (const m of text.matchAll(/(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/g)) {
      const spec = m[1] as string;
      if (spec.startsWith('node:')) problems.push(`${file}: ${spec}`);
      if (spec.startsWith('.') && !spec.endsWith('.ts')) problems.push(`${file}: ${spec} (add .ts)`);
      if (!spec.startsWith('.') && !['zod', 'postgres'].includes(spec)) problems.push(`${file}: ${spec} (unexpected package)`);
      if (spec === 'postgres' && file !== 'postgres-store.ts') problems.push(`${file}: only postgres-store.ts may import the driver`);
    }
  }
  expect(problems).toEqual([]);
});
