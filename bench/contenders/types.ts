/** What every contender offers the workloads. Each contender has its own database. */
export interface Contender {
  name: string;
  /** Settings that make this its fastest documented configuration (printed with the results). */
  settings: string;
  /** Empties the queue and all job history (not timed). */
  reset(): Promise<void>;
  /** Stores `n` no-op jobs in as few calls as the library allows. Returns ms taken. */
  enqueueBulk(n: number): Promise<number>;
  /** Stores one job; the workloads time each call. */
  enqueueOne(payload: Record<string, unknown>): Promise<void>;
  /** Runs `workers` workers of `concurrency` each until every queued job is done in the database. Returns ms. */
  drainAll(n: number, options: { workers: number; concurrency: number }): Promise<number>;
  /**
   * Starts an idle worker whose handler calls `onJob(payload)`, by the named wake-up path.
   * Returns a stop function. Paths the contender lacks are not offered.
   */
  pickupPaths: Record<string, (onJob: (payload: Record<string, unknown>) => void) => Promise<() => Promise<void>>>;
  close(): Promise<void>;
}
