/**
 * Bulk actions for operators: cancel, redrive or delete every job a filter matches, batch after
 * batch (`bulk_jobs`), so that a million-row redrive is many short transactions rather than one
 * that holds a million row locks. Count first with a dry run.
 */
import type { BulkAction, BulkFilter, Store } from './store.ts';

export interface BulkActionOptions {
  /** Who did it, for edgejobs.operator_actions (an operator's user id or name). */
  actor?: string;
  /** Jobs per transaction (1-10000). Default 1000. */
  batchSize?: number;
  /** Called after each batch with the running total. */
  onBatch?: (affectedSoFar: number) => void;
  /** Stops between batches: what was done stays done. */
  signal?: AbortSignal;
}

/**
 * Runs a bulk action to the end (or until `signal`): answers how many jobs it changed, in how
 * many batches, and whether some are left (stopped by `signal`).
 * @example
 * const { matched } = await store.bulkJobs('redrive', { type: 'email.send', status: 'failed' }) // dry run
 * const { affected } = await bulkAction(store, 'redrive', { type: 'email.send', status: 'failed' }, { actor: 'ops@acme' })
 */
export async function bulkAction(store: Pick<Store, 'bulkJobs'>, action: BulkAction, filter: BulkFilter, options: BulkActionOptions = {}): Promise<{ affected: number; batches: number; more: boolean }> {
  let affected = 0;
  let batches = 0;
  let more = true;
  while (more && !options.signal?.aborted) {
    const batch = await store.bulkJobs(action, filter, { dryRun: false, maxRows: options.batchSize ?? 1000, ...(options.actor ? { actor: options.actor } : {}) });
    affected += batch.affected;
    batches++;
    more = batch.more;
    options.onBatch?.(affected);
  }
  return { affected, batches, more };
}
