// The npm registry reachable here serves @supabase/cli-<platform>@3.1.0 only for linux-x64, so
// `npm install` leaves the other platforms' optional binaries out of package-lock.json and
// `npm ci` then refuses the lock. This adds them back as platform-gated optional entries (npm
// skips them on other platforms without fetching). Run after `npm install` changes the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const cli = lock.packages['node_modules/supabase'];
const platforms = {
  'darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'linux-arm64': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'linux-arm64-musl': { os: ['linux'], cpu: ['arm64'], libc: ['musl'] },
  'linux-x64': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
  'linux-x64-musl': { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
  'windows-arm64': { os: ['win32'], cpu: ['arm64'] },
  'windows-x64': { os: ['win32'], cpu: ['x64'] },
};
let added = 0;
for (const [name, version] of Object.entries(cli.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const platform = platforms[name.replace('@supabase/cli-', '')];
  if (!platform) throw new Error(`unknown platform package ${name}`);
  lock.packages[key] = { version, dev: true, license: 'MIT', optional: true, ...platform };
  added++;
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`fix-lockfile: added ${added} platform entries`);
