/**
 * The library must run unchanged in Deno (the Edge Function), in Next.js and in the browser: no
 * `node:` imports outside the CLI (which only Node runs), relative imports with explicit `.ts`
 * extensions, and each outside package only where it belongs (the driver in its adapter, React in
 * the hook, Hono in the Edge Function's app, next/server in the Next.js entry).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../../scripts/embedded-db.ts';

/** Which files may import each package (paths relative to lib/; `*` = anywhere). */
const ALLOWED: Record<string, (file: string) => boolean> = {
  zod: () => true,
  croner: (f) => f === 'schedules.ts',
  postgres: (f) => f === 'postgres-store.ts' || f === 'cli/doctor.ts',
  hono: (f) => f.startsWith('edge/'),
  'hono/bearer-auth': (f) => f.startsWith('edge/'),
  'hono/http-exception': (f) => f.startsWith('edge/'),
  'next/server.js': (f) => f === 'next.ts',
  '@supabase/supabase-js': (f) => f === 'supabase-store.ts',
  jose: (f) => f.startsWith('http/'),
  '@supabase/functions-js': (f) => f === 'http/kick.ts',
  react: (f) => f === 'client/use-job.ts',
  standardwebhooks: (f) => f === 'webhooks.ts',
  'ipaddr.js': (f) => f === 'webhooks.ts',
};

async function tsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : Promise.resolve(e.name.endsWith('.ts') ? [join(dir, e.name)] : []))));
  return nested.flat();
}

it('lib/ imports no node: modules, uses .ts extensions, and each package only where it belongs', async () => {
  const dir = join(ROOT, 'lib');
  const files = await tsFiles(dir);
  expect(files.length).toBeGreaterThan(15);
  const problems: string[] = [];
  for (const path of files) {
    const file = relative(dir, path);
    // Doc comments show imports of the package itself; they are not imports.
    const text = (await readFile(path, 'utf8')).split('\n').filter((line) => !/^\s*(\*|\/\*|\/\/)/.test(line)).join('\n');
    for (const m of text.matchAll(/(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/g)) {
      const spec = m[1] as string;
      // The files `edgejobs init` writes into the user's app import the package by name.
      if (file === 'cli/init.ts' && (spec.startsWith('edgejobs') || spec.startsWith('${'))) continue;
      if (spec.startsWith('node:')) {
        if (!file.startsWith('cli/')) problems.push(`${file}: ${spec}`);
      }
      else if (spec.startsWith('.')) {
        if (!spec.endsWith('.ts')) problems.push(`${file}: ${spec} (add .ts)`);
      } else if (!ALLOWED[spec]) problems.push(`${file}: ${spec} (unexpected package)`);
      else if (!ALLOWED[spec](file)) problems.push(`${file}: ${spec} (not allowed in this file)`);
    }
  }
  expect(problems).toEqual([]);
});
