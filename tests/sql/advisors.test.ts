/**
 * Supabase's own lints (`supabase db advisors`, the checks behind the dashboard's Security and
 * Performance Advisors) on the migrated database: nothing at WARN or above.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, inject, it } from 'vitest';
import { ROOT } from '../../scripts/embedded-db.ts';

const run = promisify(execFile);

it('supabase db advisors --type all --fail-on warn passes on the migrated database', async () => {
  const url = inject('pgTemplateUrl');
  const bin = join(ROOT, 'node_modules', '.bin', 'supabase');
  const result = await run(bin, ['db', 'advisors', `--remote=${url}`, '--type', 'all', '--level', 'warn', '--fail-on', 'warn', '--workdir', ROOT], {
    cwd: ROOT,
    env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1' },
  }).then((r) => ({ code: 0, out: r.stdout + r.stderr }), (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }));
  expect(result.out, result.out).not.toMatch(/"level": "(WARN|ERROR)"/);
  expect(result.code, result.out).toBe(0);
});
