/**
 * Natural batching for the worker's writes: items added while a write is in flight wait and go
 * together in the next one, so under load N completions cost one round trip, and when idle a
 * single completion is written at once (no fixed delay). One write in flight at a time.
 */
export interface Batcher<I, O> {
  /** Queues an item; resolves with its own result once its batch is written. */
  add(item: I): Promise<O>;
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
  let waiting: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  let inFlight: Promise<void> | null = null;
  let inFlightCount = 0;

  const run = async () => {
    // Let completions of the same tick join this batch.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    while (waiting.length > 0) {
      const batch = waiting.slice(0, maxBatch);
      waiting = waiting.slice(batch.length);
      inFlightCount = batch.length;
      try {
        const results = await write(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(results[i] as O));
      } catch (error) {
        for (const b of batch) b.reject(error);
      }
      inFlightCount = 0;
    }
    inFlight = null;
  };

  return {
    add(item) {
      return new Promise<O>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        if (!inFlight) inFlight = run();
      });
    },
    async flush() {
      while (inFlight) await inFlight;
    },
    get pending() {
      return waiting.length + inFlightCount;
    },
  };
}
