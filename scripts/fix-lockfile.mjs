// The npm registry reachable here serves some platform-specific optional binaries only for
// linux-x64 (@supabase/cli-<platform>, @next/swc-<platform>), so `npm install` leaves the other
// platforms out of package-lock.json and `npm ci` then refuses the lock. This adds every missing
// optional platform package back as a platform-gated entry (npm skips them on other platforms
// without fetching). Run after `npm install` changes the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));

/** os/cpu/libc of a platform package, from its name (e.g. swc-linux-x64-musl, cli-windows-arm64). */
function platformOf(name) {
  const os = /(darwin|linux|win32|windows|freebsd)/.exec(name)?.[1];
  const cpu = /(arm64|x64|ia32|arm)(?![a-z0-9])/.exec(name)?.[1];
  if (!os || !cpu) return null;
  const platform = { os: [os === 'windows' ? 'win32' : os], cpu: [cpu] };
  if (os === 'linux') platform.libc = [/musl/.test(name) ? 'musl' : 'glibc'];
  return platform;
}

let added = 0;
for (const [key, entry] of Object.entries(lock.packages)) {
  if (!key.startsWith('node_modules/')) continue;
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const depKey = `node_modules/${name}`;
    if (lock.packages[depKey]) continue;
    const platform = platformOf(name.split('/').pop());
    if (!platform) continue;
    lock.packages[depKey] = { version, ...(entry.dev ? { dev: true } : {}), optional: true, ...platform };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`fix-lockfile: added ${added} platform entries`);
