/**
 * The package as npm publishes it: `npm pack` of this repository into a scratch folder (dist/ is
 * built by the global setup, so lifecycle scripts are skipped). Returns the tarball's path and the
 * files npm put in it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../scripts/embedded-db.ts';

export interface Packed { tarball: string; files: string[] }

export function packPackage(into = mkdtempSync(join(tmpdir(), 'edgejobs-pack-'))): Packed {
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', into], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
  const [info] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  return { tarball: join(into, info!.filename), files: info!.files.map((f) => f.path).sort() };
}
