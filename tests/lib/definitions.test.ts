/** Pure logic: job definitions, the registry, typed enqueue validation, and the error classes. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EdgeJobsError, PermanentError, RetryLaterError, ValidationError, coerceError, serializeError } from '../../lib/errors.ts';
import { createRegistry, defineJob } from '../../lib/job.ts';
import { createQueue } from '../../lib/queue.ts';
import type { ClientStore, EnqueueSpec } from '../../lib/store.ts';

const report = defineJob({
  type: 'report.generate',
  input: z.object({ title: z.string().min(1), rows: z.array(z.object({ amount: z.number() })) }),
  retry: { maxAttempts: 5, baseDelayMs: 2_000, maxDelayMs: 60_000 },
  queue: 'reports',
  priority: 3,
  handler: ({ rows }) => ({ total: rows.reduce((a, r) => a + r.amount, 0) }),
});

/** Records what would be stored; the real-database path is covered in tests/sql and tests/drain. */
function recordingStore() {
  const stored: EnqueueSpec[] = [];
  const store = {
    async enqueueJobs(specs: EnqueueSpec[]) {
      stored.push(...specs);
      return specs.map((s, i) => ({ id: `id-${i}`, type: s.type, queue: s.queue ?? 'default', status: 'queued' as const, priority: s.priority ?? 0, runAt: new Date(), createdAt: new Date(), idempotencyKey: s.idempotencyKey ?? null, replayed: false }));
    },
  } as unknown as ClientStore;
  return { store, stored };
}

describe('defineJob', () => {
  it.each([
    [{ type: 'bad type' }, /type must be/],
    [{ retry: { maxAttempts: 0 } }, /retry.maxAttempts/],
    [{ retry: { baseDelayMs: 10, maxDelayMs: 5 } }, /maxDelayMs/],
    [{ timeoutMs: -1 }, /timeoutMs/],
    [{ queue: '' }, /queue must be/],
    [{ priority: 0.5 }, /priority/],
  ])('rejects a bad setting at once, naming it: %j', (patch, message) => {
    expect(() => defineJob({ type: 'ok', input: z.object({}), handler: () => null, ...patch } as never)).toThrow(message);
  });

  it('refuses a type registered twice and names the known types for an unknown one', () => {
    expect(() => createRegistry([report, report])).toThrow(/defined twice/);
    const registry = createRegistry([report]);
    expect(registry.types()).toEqual(['report.generate']);
    const error = (() => { try { registry.require('nope'); } catch (e) { return e as EdgeJobsError; } })();
    expect(error?.code).toBe('unknown_job_type');
    expect(error?.message).toContain('report.generate');
  });
});

describe('createQueue().enqueue', () => {
  it('applies the type defaults (queue, priority, retry) and lets options override them', async () => {
    const { store, stored } = recordingStore();
    const queue = createQueue({ store, registry: createRegistry([report]) });
    await queue.enqueue('report.generate', { title: 'Q1', rows: [] });
    await queue.enqueue('report.generate', { title: 'Q2', rows: [] }, { priority: 9, idempotencyKey: 'k' });
    expect(stored[0]).toMatchObject({ type: 'report.generate', queue: 'reports', priority: 3, maxAttempts: 5, backoffBaseMs: 2_000, backoffMaxMs: 60_000 });
    expect(stored[1]).toMatchObject({ priority: 9, idempotencyKey: 'k', queue: 'reports' });
  });

  it('refuses input that fails the schema with every issue and its path, storing nothing', async () => {
    const { store, stored } = recordingStore();
    const queue = createQueue({ store, registry: createRegistry([report]) });
    const error = await queue.enqueue('report.generate', { title: '', rows: [{ amount: 'x' }] } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    const issues = (error as ValidationError).issues;
    expect(issues.map((i) => i.path).sort()).toEqual(['rows.0.amount', 'title']);
    expect(stored).toEqual([]);
    const json = JSON.parse(JSON.stringify(error));
    expect(json).toMatchObject({ name: 'ValidationError', code: 'validation_failed', issues: expect.any(Array) });
  });

  it('refuses an unknown type and runAt with delayMs', async () => {
    const { store, stored } = recordingStore();
    const queue = createQueue({ store, registry: createRegistry([report]) });
    await expect(queue.enqueue('nope' as never, {} as never)).rejects.toMatchObject({ code: 'unknown_job_type' });
    await expect(queue.enqueue('report.generate', { title: 't', rows: [] }, { runAt: new Date(), delayMs: 5 })).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(stored).toEqual([]);
  });
});

describe('errors', () => {
  it('survive JSON.stringify with name, code, message and their own fields', () => {
    const at = new Date('2030-01-01T00:00:00Z');
    expect(JSON.parse(JSON.stringify(new RetryLaterError('slow down', { retryAt: at })))).toEqual({ name: 'RetryLaterError', code: 'retry_later', message: 'slow down', retryAt: at.toISOString() });
    expect(JSON.parse(JSON.stringify(new PermanentError('gone', { code: 'file_missing' })))).toEqual({ name: 'PermanentError', code: 'permanent', message: 'gone', reason: 'file_missing' });
  });

  it('coerceError keeps what a non-Error said; serializeError cuts huge messages', () => {
    expect(coerceError('plain').message).toBe('plain');
    expect(coerceError({ a: 1 }).message).toContain('{"a":1}');
    expect(coerceError(null).message).toContain('null');
    const huge = serializeError(new Error('x'.repeat(100_000)));
    expect(huge.message.length).toBeLessThan(5_000);
    expect(huge.code).toBe('handler_error');
  });
});
