/**
 * The wake-up of long-running workers. Time is faked: a wait of 10 s that ends without the clock
 * moving was ended by the notification, which is the outcome under test (no wall-clock bound).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createWakeup } from '../../lib/drain-loop.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Whether a promise has settled, after the microtasks now queued have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

describe('createWakeup', () => {
  it('ends a wait in progress when notified, without its timer', async () => {
    const w = createWakeup();
    const waiting = w.waitForWork(10_000, new AbortController().signal);
    expect(await settled(waiting)).toBe(false);
    w.notify();
    expect(await settled(waiting)).toBe(true);
  });

  it('keeps a notification that came while no wait was running, for the next wait only', async () => {
    const w = createWakeup();
    w.notify();
    expect(await settled(w.waitForWork(10_000, new AbortController().signal))).toBe(true);
    const stop = new AbortController();
    const next = w.waitForWork(10_000, stop.signal);
    expect(await settled(next)).toBe(false);
    stop.abort();
    expect(await settled(next)).toBe(true);
  });

  it('ends a wait at its time when nothing comes', async () => {
    const w = createWakeup();
    const waiting = w.waitForWork(10_000, new AbortController().signal);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(await settled(waiting)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(waiting)).toBe(true);
  });
});
