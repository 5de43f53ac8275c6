/** What jsonb can store, and the JSON Schema the registry publishes: unit tests of pure logic. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob } from '../../lib/job.ts';
import { inputJsonSchema } from '../../lib/job-types.ts';
import { assertStorableJson, toStorableJson } from '../../lib/json-value.ts';

const refusal = (value: unknown) => {
  try {
    assertStorableJson(value, 'input');
    return null;
  } catch (e) {
    return (e as Error).message;
  }
};

describe('assertStorableJson', () => {
  it('refuses, naming the place, what jsonb cannot store: in values and in keys', () => {
    expect(refusal({ a: ['x', 'b\u0000'] })).toMatch(/^input\.a\.1 holds the NUL character/);
    expect(refusal({ ['\ud800']: 1 })).toMatch(/^input has a key with a lone UTF-16 surrogate/);
    expect(refusal({ n: -Infinity })).toMatch(/^input\.n is -Infinity/);
    expect(refusal({ ok: ['\ud83d\ude00', 1, null, true, { d: new Date(0) }] })).toBeNull();
  });
});

describe('toStorableJson', () => {
  it('makes an error record storable: replaces characters, cuts cycles and runaway graphs', () => {
    const cyclic: Record<string, unknown> = { name: 'a\u0000b' };
    cyclic.self = cyclic;
    expect(toStorableJson(cyclic)).toEqual({ name: 'a\uFFFDb', self: '[circular]' });
    // 2^64 paths through shared branches would never finish; the node budget ends it.
    let shared: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 64; i++) shared = { l: shared, r: shared };
    expect(JSON.stringify(toStorableJson(shared))).toContain('[too large]');
  });
});

describe('inputJsonSchema', () => {
  const job = (input: z.ZodType) => defineJob({ type: 't', input, handler: () => null });
  it('publishes the input side of a schema, and nothing for one that coerces, preprocesses or catches', () => {
    expect(inputJsonSchema(job(z.object({ n: z.number(), s: z.string().transform(Number) })))).toMatchObject({ type: 'object', properties: { n: { type: 'number' }, s: { type: 'string' } } });
    for (const loose of [z.object({ n: z.coerce.number() }), z.object({ n: z.number().catch(0) }), z.object({ n: z.preprocess((v) => Number(v), z.number()) })]) {
      expect(inputJsonSchema(job(loose))).toBeNull();
    }
  });
});
