/**
 * A worker process for the crash test: drains with a short lease, prints "claimed <id>" once a
 * job's handler starts, and is then killed with SIGKILL by the test.
 * Usage: tsx tests/support/crash-worker.ts <database-url>
 */
import { z } from 'zod';
import { createPostgresStore } from '../../lib/postgres-store.ts';
import { drain } from '../../lib/drain.ts';
import { createRegistry, defineJob } from '../../lib/job.ts';
import { silentLogger } from '../../lib/logger.ts';

const url = process.argv[2];
if (!url) throw new Error('usage: crash-worker.ts <database-url>');
const store = createPostgresStore({ url, max: 2 });
const stuck = defineJob({
  type: 'test.crash',
  input: z.object({}),
  handler: (_input, ctx) => {
    process.stdout.write(`claimed ${ctx.job.id}\n`);
    return new Promise(() => {}); // never finishes: the process dies first
  },
});
await drain({ store, registry: createRegistry([stuck]), deadline: Date.now() + 60_000, leaseMs: 2_000, trigger: 'crash-test', logger: silentLogger });
