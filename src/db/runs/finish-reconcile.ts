import type postgres from 'postgres';
import { ReconcileRefusedError } from '../../errors/ReconcileRefusedError.ts';
import type { RunOwner } from './run-owner.ts';

export interface DeleteCounts {
  /** Distinct jobs the completed walk listed. */
  apiCount: number;
  /** Live jobs held before marking. */
  live: number;
  /** Live jobs the walk did not list that were stored before it began: what would be marked deleted. */
  wouldDelete: number;
}

export interface ReconcileCounts {
  /** Distinct jobs the API listed in this walk. */
  apiCount: number;
  /** Live jobs we held before marking: the drift is storedCount - apiCount. */
  storedCount: number;
  deleted: number;
  /** Jobs of this run's pages that had been marked deleted and were listed again. */
  undeleted: number;
}

/**
 * The deletes of a completed walk: a live job is marked only if no attempt of
 * this run listed it (reconcile_seen, kept across attempts) and it was stored
 * before the run began. A job created and stored by another sync while a
 * resumed walk was past its page is not a delete.
 */
const CANDIDATES = `
FROM batch_calls c
WHERE c.workspace = $1 AND c.deleted_at IS NULL
  AND c.first_seen_at < (SELECT started_at FROM sync_runs WHERE id = $2)
  AND NOT EXISTS (SELECT 1 FROM reconcile_seen s WHERE s.run_id = $2 AND s.id = c.id)`;

/**
 * After a reconciliation walked every page, inside the transaction that
 * closes the run (finishRun proved the run is still ours): counts, the
 * guard's verdict (`refuse` returns a reason to mark nothing), the marks, and
 * the run's counts. One transaction, so a process killed in between never
 * leaves marks on a run recorded as failed, or the reverse.
 */
export async function finishReconcile(
  tx: postgres.TransactionSql,
  owner: RunOwner,
  refuse: (counts: DeleteCounts) => string | undefined,
): Promise<ReconcileCounts> {
  const [counts] = await tx.unsafe<(DeleteCounts & { undeleted: number })[]>(
    `SELECT (SELECT pg_catalog.count(*) FROM reconcile_seen WHERE run_id = $2)::int AS "apiCount",
            (SELECT pg_catalog.count(*) FROM batch_calls WHERE workspace = $1 AND deleted_at IS NULL)::int AS "live",
            (SELECT pg_catalog.count(*) ${CANDIDATES})::int AS "wouldDelete",
            (SELECT undeleted FROM sync_runs WHERE id = $2) AS "undeleted"`,
    [owner.workspace, owner.runId],
  );
  const reason = refuse(counts!);
  if (reason !== undefined) throw new ReconcileRefusedError(reason, counts!);
  const deleted = await tx.unsafe(
    `UPDATE batch_calls SET deleted_at = pg_catalog.now()
     WHERE (workspace, id) IN (SELECT c.workspace, c.id ${CANDIDATES})`,
    [owner.workspace, owner.runId],
  );
  const result = { apiCount: counts!.apiCount, storedCount: counts!.live, deleted: deleted.count, undeleted: counts!.undeleted };
  await tx`
    UPDATE sync_runs SET deleted = ${result.deleted}, api_count = ${result.apiCount}, stored_count = ${result.storedCount}
    WHERE id = ${owner.runId}`;
  await tx`DELETE FROM reconcile_seen WHERE run_id = ${owner.runId}`;
  return result;
}
