import type postgres from 'postgres';
import { DELETE_GUARD } from '../../domain/runs.ts';

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
  // A skip scan over workspaces, then one probe each of sync_runs_reconcile_decision_idx, whose predicate is this WHERE.
  const rows = await sql<{ workspace: string; refused: boolean; error: string | null; finished_at: Date }[]>`
    WITH RECURSIVE workspaces AS (
      (SELECT workspace FROM sync_runs ORDER BY workspace LIMIT 1)
      UNION ALL
      SELECT (SELECT s.workspace FROM sync_runs s WHERE s.workspace > w.workspace ORDER BY s.workspace LIMIT 1)
      FROM workspaces w WHERE w.workspace IS NOT NULL
    )
    SELECT w.workspace, r.stop_reason = ${DELETE_GUARD} AS refused, r.error, r.finished_at
    FROM workspaces w
    CROSS JOIN LATERAL (
      SELECT s.stop_reason, s.error, s.finished_at FROM sync_runs s
      WHERE s.workspace = w.workspace AND s.kind = 'reconcile' AND s.finished_at IS NOT NULL
        AND (s.status = 'succeeded' OR s.stop_reason = 'delete_guard')
      ORDER BY s.finished_at DESC NULLS LAST, s.id DESC NULLS LAST
      LIMIT 1
    ) r
    WHERE w.workspace IS NOT NULL`;
  return new Map(rows.map((r) => [r.workspace, r.refused ? { error: r.error, finishedAt: r.finished_at } : null]));
}
