import type postgres from 'postgres';

/** `sync_runs.stop_reason` of a reconciliation that refused to mark a mass delete (src/jobs/delete-guard.ts). */
export const DELETE_GUARD = 'delete_guard';

export interface ReconcileRefusal {
  /** The refused run's error: how many jobs it would have marked, and how to confirm. */
  error: string | null;
  finishedAt: Date;
}

/**
 * Per workspace, whether its reconciliation is refused right now: the newest
 * reconciliation that got as far as deciding about deletes (it succeeded, or
 * it refused) was a refusal. A later one that failed for another reason (the
 * API down) leaves the refusal standing, since it decided nothing; only a
 * reconciliation that succeeds clears it. Workspaces with neither are absent.
 */
export async function reconcileRefusals(sql: postgres.Sql): Promise<Map<string, ReconcileRefusal | null>> {
  const rows = await sql<{ workspace: string; refused: boolean; error: string | null; finished_at: Date }[]>`
    SELECT DISTINCT ON (workspace) workspace, stop_reason = ${DELETE_GUARD} AS refused, error, finished_at
    FROM sync_runs
    WHERE kind = 'reconcile' AND finished_at IS NOT NULL AND (status = 'succeeded' OR stop_reason = ${DELETE_GUARD})
    ORDER BY workspace, finished_at DESC, id DESC`;
  return new Map(rows.map((r) => [r.workspace, r.refused ? { error: r.error, finishedAt: r.finished_at } : null]));
}
