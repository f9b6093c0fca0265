import type postgres from 'postgres';
import type { ListOrder, RunStatus, StopReason } from '../../domain/runs.ts';
import { RunOwnershipLostError } from '../../errors/RunOwnershipLostError.ts';
import { retryTransaction } from '../retry-transaction.ts';
import { advanceRun } from './advance-run.ts';
import { proveOwnership } from './prove-ownership.ts';
import type { RunOwner } from './run-owner.ts';


export interface RunOutcome {
  status: Exclude<RunStatus, 'running'>;
  /** One line; null on success. */
  error: string | null;
  /** Not yet on the row (pages add theirs as they commit). */
  requests: number;
  retries: number;
  stopReason: StopReason;
  /** False for failures a retry would repeat (rejected key, broken pagination): the next attempt starts from the top. */
  resumable: boolean;
  /** The order this attempt's pages came in; undefined keeps what the row has (no page read). */
  listOrder?: ListOrder | undefined;
  /** Walks again from the top in this attempt after a rejected cursor. */
  walkRestarts?: number;
}

/**
 * Closes a run. Page counters (and the resume cursor) were advanced by each
 * page's own transaction. A success proves full ownership (token and lock); a
 * failure only needs the token, so a run whose lock connection died can still
 * say why it stopped, unless another process took it over meanwhile.
 * `finish` (a reconciliation's deletes) runs in the same transaction, after
 * the proof: the marks and the status commit together or not at all.
 */
export async function finishRun<T = undefined>(
  sql: postgres.Sql,
  owner: RunOwner,
  outcome: RunOutcome,
  finish?: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T | undefined> {
  let finished: T | undefined;
  // A reconciliation's marks lock rows a sync beside it may be writing (src/db/workspace-lock.ts).
  await retryTransaction(() => sql.begin(async (tx) => {
    if (outcome.status === 'succeeded') await proveOwnership(tx, owner, { lock: true });
    finished = finish ? await finish(tx) : undefined;
    await advanceRun(tx, owner.runId, { requests: outcome.requests, retries: outcome.retries });
    const closed = await tx`
      UPDATE sync_runs SET
        status = ${outcome.status},
        error = ${outcome.error},
        list_order = COALESCE(${outcome.listOrder ?? null}, list_order),
        walk_restarts = walk_restarts + ${outcome.walkRestarts ?? 0},
        next_cursor = CASE WHEN ${outcome.resumable && outcome.status !== 'succeeded'} THEN next_cursor END,
        stop_reason = ${outcome.stopReason},
        finished_at = pg_catalog.now()
      WHERE id = ${owner.runId} AND owner = ${owner.token} AND status = 'running'`;
    if (closed.count !== 1) throw new RunOwnershipLostError(owner.runId, owner.workspace, 'another process took the run over, or it was closed');
    // A run that cannot resume has no use for the ids it saw.
    if (!outcome.resumable) await tx`DELETE FROM reconcile_seen WHERE run_id = ${owner.runId}`;
  }));
  return finished;
}
