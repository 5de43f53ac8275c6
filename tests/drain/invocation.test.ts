/**
 * One worker invocation on the real database: fan-out bounded by the drains already running,
 * self-continuation when time runs out with work left, and none of either for follow-up
 * invocations. `startInvocation` records instead of calling HTTP here (the Deno e2e test calls it).
 */
import { describe, expect, it } from 'vitest';
import { runInvocation } from '../../lib/invocation.ts';
import { silentLogger } from '../../lib/logger.ts';
import { useTestDb } from '../support/db.ts';
import { registry } from '../support/jobs.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs', 'edgejobs.worker_runs'] });

function recorder() {
  const started: string[] = [];
  return { started, startInvocation: async (trigger: string) => void started.push(trigger) };
}
const enqueueEcho = (n: number) => db.store.enqueueJobs(Array.from({ length: n }, (_, i) => ({ type: 'test.echo', input: { n: i } })));

describe('runInvocation', () => {
  it('fans out one extra drain per readyPerDrain ready jobs, up to maxDrains in all', async () => {
    await enqueueEcho(1_000);
    const r = recorder();
    const result = await runInvocation({ store: db.store, registry, trigger: 'cron', deadline: Date.now() + 20_000, maxDrains: 3, readyPerDrain: 300, startInvocation: r.startInvocation, logger: silentLogger });
    expect(result).toMatchObject({ drained: true, fannedOut: 2, continued: false, summary: { completed: 1_000, stopReason: 'empty' } });
    expect(r.started).toEqual(['fanout', 'fanout']);
  });

  it('counts drains already running against the bound, and does nothing when it is reached', async () => {
    await enqueueEcho(1_000);
    const live = async () => db.store.startWorkerRun({ workerId: 'other', trigger: 'test', deadline: new Date(Date.now() + 60_000) });
    await live();
    const r = recorder();
    const one = await runInvocation({ store: db.store, registry, trigger: 'kick', deadline: Date.now() + 20_000, maxDrains: 3, readyPerDrain: 100, startInvocation: r.startInvocation, logger: silentLogger });
    expect(one.fannedOut).toBe(1);
    await live();
    await live();
    const none = await runInvocation({ store: db.store, registry, trigger: 'cron', deadline: Date.now() + 20_000, maxDrains: 3, startInvocation: r.startInvocation, logger: silentLogger });
    expect(none).toEqual({ drained: false, summary: null, fannedOut: 0, continued: false });
  });

  it('starts the next invocation when the deadline comes with work left; follow-ups never fan out', async () => {
    await db.store.enqueueJobs(Array.from({ length: 6 }, () => ({ type: 'test.stepper', input: { steps: 10, stepMs: 200 } })));
    await enqueueEcho(5_000);
    const r = recorder();
    const result = await runInvocation({
      store: db.store, registry, trigger: 'continue', deadline: Date.now() + 2_500, handBackMarginMs: 500, maxDrains: 10, readyPerDrain: 1,
      startInvocation: r.startInvocation, logger: silentLogger,
    });
    expect(result).toMatchObject({ drained: true, fannedOut: 0, continued: true, summary: { stopReason: 'deadline', moreWork: true } });
    expect(r.started).toEqual(['continue']);
  });
});
