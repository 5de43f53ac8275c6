/**
 * Handlers that hand the drain what Postgres jsonb cannot store (the NUL character, Infinity):
 * a result, an error message, progress, a checkpoint. Each such job must still end, once, with a
 * clear error, and the jobs written in the same batch must not pay for it.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { drain } from '../../lib/drain.ts';
import { createRegistry, defineJob } from '../../lib/job.ts';
import { silentLogger } from '../../lib/logger.ts';
import { createQueue } from '../../lib/queue.ts';
import { useTestDb } from '../support/db.ts';

const db = useTestDb({ truncate: ['edgejobs.jobs'] });

const runs = new Map<string, number>();
const counted = (id: string) => runs.set(id, (runs.get(id) ?? 0) + 1);
const kinds = z.object({ kind: z.enum(['result', 'infinity', 'error', 'progress', 'checkpoint', 'fine']) });
const nasty = defineJob({
  type: 'test.nasty',
  input: kinds,
  retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
  async handler({ kind }, ctx) {
    counted(ctx.job.id);
    if (kind === 'result') return { text: 'scraped\u0000page' };
    if (kind === 'infinity') return { ratio: Infinity };
    if (kind === 'error') throw new Error('upstream said: bad\u0000byte');
    if (kind === 'progress') ctx.progress({ note: 'half\u0000way' });
    if (kind === 'checkpoint') await ctx.checkpoint({ cursor: 'row\u00007' });
    return { ok: kind };
  },
});
const registry = createRegistry([nasty]);

describe('values Postgres cannot store, from handlers', () => {
  it('ends every job once with a clear outcome, and the rest of the batch is written', async () => {
    const queue = createQueue({ store: db.store, registry });
    const kindsToRun = ['result', 'infinity', 'error', 'progress', 'checkpoint', 'fine', 'fine'] as const;
    const jobs = await queue.enqueueMany(kindsToRun.map((kind) => ({ type: 'test.nasty' as const, input: { kind } })));
    // Drains until nothing is left (a retry may come due just after a drain's last claim).
    for (let round = 0; round < 10; round++) {
      const summary = await drain({ store: db.store, registry, deadline: Date.now() + 15_000, logger: silentLogger, leaseMs: 5_000, concurrency: 10 });
      expect(summary).toMatchObject({ unrecorded: 0, leaseLost: 0 });
      if ((await db.sql`select 1 from edgejobs.jobs where status in ('queued', 'processing')`).length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const rows = await db.sql`select id, input->>'kind' as kind, status, attempts, result, error, progress from edgejobs.jobs`;
    const byKind = (kind: string) => rows.filter((r) => r.kind === kind);
    for (const r of byKind('fine')) expect(r).toMatchObject({ status: 'completed', result: { ok: 'fine' } });
    // A result that cannot be stored would be the same on a retry: failed for good, with the place named.
    expect(byKind('result')[0]).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'invalid_argument', message: expect.stringMatching(/^result\.text holds the NUL character/) } });
    expect(byKind('infinity')[0]).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'invalid_argument', message: expect.stringMatching(/^result\.ratio is Infinity/) } });
    // An error message is ours to record: the character is replaced, the retries happen as usual.
    expect(byKind('error')[0]).toMatchObject({ status: 'failed', attempts: 2, error: { message: 'upstream said: bad\uFFFDbyte' } });
    // Progress and checkpoints are refused to the handler, which then fails like any throw.
    expect(byKind('progress')[0]).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'invalid_argument', message: expect.stringMatching(/^progress\.note holds the NUL character/) } });
    expect(byKind('checkpoint')[0]).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'invalid_argument', message: expect.stringMatching(/^checkpoint\.cursor holds the NUL character/) } });
    expect(jobs.every((j) => runs.get(j.id) === (['error', 'progress', 'checkpoint'].includes(rows.find((r) => r.id === j.id)!.kind) ? 2 : 1))).toBe(true);
  });
});
