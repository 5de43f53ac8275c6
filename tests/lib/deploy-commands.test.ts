/**
 * The deploy guide's `npx supabase …` commands, run with the CLI this repo pins, in an empty
 * directory with no login: each must get past its argument parsing to the point where it needs the
 * project ("Cannot find project ref", "Access token not provided"). A wrong flag or value stops
 * earlier, with the command's help. And every database command targets the linked project
 * (`--remote`): the CLI's default is the local stack, which a reader deploying does not have.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../../scripts/embedded-db.ts';

function supabase(args: string[], cwd: string): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };
  delete env.SUPABASE_ACCESS_TOKEN;
  return new Promise((resolve) => {
    execFile(join(ROOT, 'node_modules', '.bin', 'supabase'), args, { cwd, env, timeout: 30_000 }, (_error, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
}

it('docs/deploying.md: each supabase command parses with the pinned CLI, and db commands name --remote', async () => {
  const guide = await readFile(join(ROOT, 'docs', 'deploying.md'), 'utf8');
  const commands = guide.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('npx supabase '))
    .map((l) => l.replace(/\s+(#|\[).*$/, '').replace(/^npx supabase /, '')
      .replaceAll('<ref>', 'abcdefghijklmnopqrst').replaceAll('$SECRET', 'x'.repeat(40)).split(/\s+/));
  expect(commands.map((c) => c.slice(0, 2).join(' '))).toEqual(expect.arrayContaining(['db push', 'db advisors', 'functions deploy', 'secrets set']));
  const empty = await mkdtemp(join(tmpdir(), 'edgejobs-cli-'));
  try {
    for (const args of commands) {
      const out = await supabase(args, empty);
      expect({ args, reachedTheProject: /Cannot find project ref|Access token not provided/.test(out) }).toEqual({ args, reachedTheProject: true });
      if (args[0] === 'db') expect({ args, remote: args.some((a) => a.startsWith('--remote')) }).toEqual({ args, remote: true });
    }
    // The check can fail: a flag value the CLI refuses stops at the help.
    expect(await supabase(['db', 'advisors', '--remote', '--fail-on', 'wrn'], empty)).not.toMatch(/Cannot find project ref/);
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
}, 120_000);
