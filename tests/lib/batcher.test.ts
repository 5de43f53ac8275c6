import { describe, expect, it } from 'vitest';
import { createBatcher } from '../../lib/batcher.ts';

describe('createBatcher', () => {
  it('writes a lone item at once and batches items that arrive while a write is in flight', async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const batcher = createBatcher(async (items: number[]) => {
      batches.push(items);
      if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return items.map((i) => i * 10);
    });
    const first = batcher.add(1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const rest = [2, 3, 4].map((i) => batcher.add(i));
    release();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('splits at maxBatch and rejects every item of a failed write', async () => {
    const sizes: number[] = [];
    const ok = createBatcher(async (items: number[]) => (sizes.push(items.length), items), 2);
    await Promise.all([1, 2, 3, 4, 5].map((i) => ok.add(i)));
    expect(sizes).toEqual([2, 2, 1]);
    const broken = createBatcher(async () => {
      throw new Error('db down');
    });
    const results = await Promise.allSettled([broken.add(1), broken.add(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await broken.flush();
    expect(broken.pending).toBe(0);
  });
});
