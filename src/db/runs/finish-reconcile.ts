import type postgres from 'postgres';

export interface ReconcileCounts {
  /** Distinct jobs the API listed in this walk. */
  apiCount: number;
  /** Live jobs we held before marking: the drift is storedCount - apiCount. */
  storedCount: number;
  deleted: number;
  undeleted: number;
}

/**
 * After a reconciliation walked every page: jobs the API no longer lists get
 * `deleted_at`, jobs that came back lose it, and the counts go into the run.
 * Only ever called for a completed walk: a partial walk must never delete.
 */
export async function finishReconcile(sql: postgres.Sql, runId: number, workspace: string): Promise<ReconcileCounts> {
  return sql.begin(async (tx) => {
    const [counts] = await tx<{ apiCount: number; storedCount: number }[]>`
      SELECT (SELECT count(*) FROM reconcile_seen WHERE run_id = ${runId})::int AS "apiCount",
             (SELECT count(*) FROM batch_calls WHERE workspace = ${workspace} AND deleted_at IS NULL)::int AS "storedCount"`;
    const deleted = await tx`
      UPDATE batch_calls c SET deleted_at = now()
      WHERE c.workspace = ${workspace} AND c.deleted_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM reconcile_seen s WHERE s.run_id = ${runId} AND s.id = c.id)`;
    const undeleted = await tx`
      UPDATE batch_calls c SET deleted_at = NULL
      WHERE c.workspace = ${workspace} AND c.deleted_at IS NOT NULL
        AND EXISTS (SELECT 1 FROM reconcile_seen s WHERE s.run_id = ${runId} AND s.id = c.id)`;
    const result = { apiCount: counts!.apiCount, storedCount: counts!.storedCount, deleted: deleted.count, undeleted: undeleted.count };
    await tx`
      UPDATE sync_runs SET deleted = ${result.deleted}, undeleted = ${result.undeleted},
        api_count = ${result.apiCount}, stored_count = ${result.storedCount}
      WHERE id = ${runId}`;
    await tx`DELETE FROM reconcile_seen WHERE run_id = ${runId}`;
    return result;
  });
}

/** Scratch rows of reconciliations that are no longer running (failed, or their process died). */
export async function clearStaleSeen(sql: postgres.Sql): Promise<void> {
  await sql`DELETE FROM reconcile_seen WHERE run_id NOT IN (SELECT id FROM sync_runs WHERE status = 'running')`;
}
