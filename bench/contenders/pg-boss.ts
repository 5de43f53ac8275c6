/** pg-boss 10 (the last line for Node 20) at its documented fastest: batched fetch, bulk insert. */
import PgBoss from 'pg-boss';
import postgres from 'postgres';
import type { Contender } from './types.ts';

const QUEUE = 'bench';
const BATCH = 100;

export async function pgBossContender(url: string): Promise<Contender> {
  const boss = new PgBoss({ connectionString: url, max: 12, supervise: false, schedule: false, migrate: true });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue(QUEUE);
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  let onPicked: ((payload: Record<string, unknown>) => void) | null = null;
  const work = async (workers: number, pollingIntervalSeconds: number, batchSize: number) => {
    for (let i = 0; i < workers; i++) {
      await boss.work(QUEUE, { batchSize, pollingIntervalSeconds }, async (jobs) => {
        for (const job of jobs) onPicked?.(job.data as Record<string, unknown>);
      });
    }
  };
  const remaining = async () => Number((await sql`select count(*)::int as n from pgboss.job where name = ${QUEUE} and state <> 'completed'`)[0]!.n);

  return {
    name: 'pg-boss',
    settings: `work() x concurrency (10) with batchSize ${BATCH}, pollingIntervalSeconds 0.5 (its minimum); bulk via insert()`,
    async reset() {
      await sql`delete from pgboss.job`;
      await sql`delete from pgboss.archive`.catch(() => {});
      await sql`vacuum analyze pgboss.job`;
    },
    async enqueueBulk(n) {
      const started = performance.now();
      for (let i = 0; i < n; i += 20_000) {
        await boss.insert(Array.from({ length: Math.min(20_000, n - i) }, () => ({ name: QUEUE, data: {} })));
      }
      return performance.now() - started;
    },
    async enqueueOne(payload) {
      await boss.send(QUEUE, payload);
    },
    async drainAll(_n, { workers, concurrency }) {
      const started = performance.now();
      await work(workers * concurrency, 0.5, BATCH);
      while ((await remaining()) > 0) await new Promise((r) => setTimeout(r, 10));
      const ms = performance.now() - started;
      await boss.offWork(QUEUE);
      return ms;
    },
    pickupPaths: {
      'polling (0.5 s)': async (onJob) => {
        onPicked = onJob;
        await work(1, 0.5, 1);
        return async () => {
          await boss.offWork(QUEUE);
          onPicked = null;
        };
      },
    },
    async close() {
      await boss.stop({ graceful: false, wait: true }).catch(() => {});
      await sql.end({ timeout: 1 });
    },
  };
}
