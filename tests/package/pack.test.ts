/**
 * The packed package: what npm would publish holds what users need and nothing else, every
 * entry point has its declarations, and the two linters the ecosystem uses pass on the tarball:
 * publint (package.json against the files) and Are the Types Wrong (types resolve for every
 * subpath under node16 ESM and bundlers; the package is ESM-only, so CommonJS `require` is out
 * of scope: the esm-only profile).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT } from '../../scripts/embedded-db.ts';
import { packPackage, type Packed } from '../support/pack.ts';

let packed: Packed;
beforeAll(() => {
  packed = packPackage();
}, 120_000);
afterAll(() => rmSync(dirname(packed.tarball), { recursive: true, force: true }));

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  bin: Record<string, string>;
  peerDependencies: Record<string, string>;
  dependencies: Record<string, string>;
};

it('ships dist, the migrations, the docs and the license: no tests, benchmarks, app or sources', () => {
  const { files } = packed;
  for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'docs/getting-started.md', 'docs/examples/Procfile']) {
    expect(files, f).toContain(f);
  }
  const migrations = files.filter((f) => f.startsWith('supabase/migrations/'));
  expect(migrations.map((f) => f.slice('supabase/migrations/'.length))).toEqual(
    execFileSync('ls', [join(ROOT, 'supabase/migrations')], { encoding: 'utf8' }).trim().split('\n').filter((f) => f.endsWith('.sql')).sort(),
  );
  const stray = files.filter((f) => !/^(dist\/|supabase\/migrations\/|docs\/|package\.json$|README\.md$|LICENSE$)/.test(f));
  expect(stray).toEqual([]);
  expect(files.filter((f) => /^(tests|bench|app|lib|scripts)\//.test(f) || f.includes('.test.'))).toEqual([]);
  // Each export and the bin point at files in the tarball.
  for (const [name, target] of Object.entries(pkg.exports)) {
    for (const path of typeof target === 'string' ? [target] : [target.types, target.default]) {
      expect(files, `${name} → ${path}`).toContain(path.replace(/^\.\//, ''));
    }
  }
  expect(files).toContain(pkg.bin.edgejobs);
  expect(readFileSync(join(ROOT, pkg.bin.edgejobs!), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
});

it('peers are what the app already has; dependencies stay few', () => {
  expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['@supabase/supabase-js', 'next', 'react', 'zod']);
  // Each a well-kept library doing what we would otherwise write (webhook signatures: standardwebhooks; address ranges: ipaddr.js).
  expect(Object.keys(pkg.dependencies).sort()).toEqual(['@supabase/functions-js', 'croner', 'hono', 'ipaddr.js', 'jose', 'postgres', 'standardwebhooks', 'tsx']);
  for (const peer of Object.keys(pkg.peerDependencies)) expect(pkg.dependencies[peer]).toBeUndefined();
});

it('publint finds nothing, warnings included', () => {
  const out = execFileSync(process.execPath, [join(ROOT, 'node_modules/publint/src/cli.js'), 'run', packed.tarball, '--strict'], { encoding: 'utf8' });
  expect(out).toContain('All good!');
});

it('Are the Types Wrong: every subpath resolves with types, under node16 (ESM) and bundlers', () => {
  const out = execFileSync(process.execPath, [join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js'), packed.tarball, '--profile', 'esm-only', '--format', 'json'], { encoding: 'utf8' });
  const report = JSON.parse(out) as { analysis: { problems: unknown[]; entrypoints: Record<string, unknown> } };
  expect(Object.keys(report.analysis.entrypoints).sort()).toEqual(Object.keys(pkg.exports).sort());
  const problems = (report.analysis.problems as Array<{ kind: string; resolutionKind?: string }>).filter((p) => p.resolutionKind !== 'node10' && p.resolutionKind !== 'node16-cjs');
  expect(problems).toEqual([]);
});
