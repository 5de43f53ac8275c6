/**
 * Natural batching for the worker's writes: items added while a write is in flight wait and go
 * together in the next one, so under load N completions cost one round trip, and when idle a
 * single completion is written at once (no fixed delay). One write in flight at a time.
 */
export interface Batcher<I, O> {
  /** Queues an item; resolves with its own result once its batch is written. */
  add(item: I): Promise<O>;
  /**
   * Queues an item and calls `done` with its result or the write's error: `add` without a
   * promise per item, for the drain's hot path. `done` must not throw.
   */
  push(item: I, done: (error: unknown, result?: O) => void): void;
  /** Resolves when everything added so far has been written (or has failed). */
  flush(): Promise<void>;
  /** Items waiting or in flight. */
  readonly pending: number;
}

/**
 * @param write writes a batch and answers one result per item, in order.
 * @param maxBatch most items per write (default 500).
 * @example
 * const completions = createBatcher((items) => store.completeJobs(items))
 * const { outcome } = await completions.add({ id, leaseToken, result })
 */
export function createBatcher<I, O>(write: (items: I[]) => Promise<O[]>, maxBatch = 500): Batcher<I, O> {
  let items: I[] = [];
  let callbacks: Array<(error: unknown, result?: O) => void> = [];
  let inFlight: Promise<void> | null = null;
  let inFlightCount = 0;

  const run = async () => {
    // Let completions of the same tick join this batch.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    while (items.length > 0) {
      const batch = items.length <= maxBatch ? items : items.slice(0, maxBatch);
      const done = callbacks.length <= maxBatch ? callbacks : callbacks.slice(0, maxBatch);
      items = batch === items ? [] : items.slice(maxBatch);
      callbacks = done === callbacks ? [] : callbacks.slice(maxBatch);
      inFlightCount = batch.length;
      let results: O[] | undefined;
      let failure: unknown = null;
      try {
        results = await write(batch);
      } catch (error) {
        failure = error ?? new Error('batch write failed');
      }
      for (let i = 0; i < done.length; i++) {
        if (results) done[i]!(null, results[i]);
        else done[i]!(failure);
      }
      inFlightCount = 0;
    }
    inFlight = null;
  };

  const push = (item: I, done: (error: unknown, result?: O) => void) => {
    items.push(item);
    callbacks.push(done);
    if (!inFlight) inFlight = run();
  };

  return {
    push,
    add(item) {
      return new Promise<O>((resolve, reject) => push(item, (error, result) => (error ? reject(error) : resolve(result as O))));
    },
    async flush() {
      while (inFlight) await inFlight;
    },
    get pending() {
      return items.length + inFlightCount;
    },
  };
}
