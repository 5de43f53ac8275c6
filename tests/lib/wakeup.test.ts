import { describe, expect, it } from 'vitest';
import { createWakeup } from '../../lib/drain-loop.ts';

describe('createWakeup', () => {
  it('ends a wait in progress at once when notified', async () => {
    const w = createWakeup();
    const started = Date.now();
    const waiting = w.idleWait(10_000, new AbortController().signal);
    setTimeout(() => w.notify(), 20);
    await waiting;
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('keeps a notification that came while no wait was running, for the next wait only', async () => {
    const w = createWakeup();
    w.notify();
    const started = Date.now();
    await w.idleWait(10_000, new AbortController().signal);
    expect(Date.now() - started).toBeLessThan(5_000);
    let ended = false;
    const stop = new AbortController();
    const next = w.idleWait(10_000, stop.signal).then(() => (ended = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(ended).toBe(false);
    stop.abort();
    await next;
    expect(ended).toBe(true);
  });
});
