import type postgres from 'postgres';

/**
 * Deletes up to `batch` runs that started more than `days` days ago, oldest first, and returns how many it deleted.
 * Never a `running` run, nor what the worker still reads: per workspace the newest run of each kind (resume),
 * the newest succeeded run (freshness, /metrics), the newest succeeded walk of every page (the incremental stop
 * rule) and the newest reconciliation that decided about deletes (a standing refusal). Their rejected items and
 * seen ids go with them (ON DELETE CASCADE); their versions stay, with run_id set to NULL, found through
 * batch_call_history_run_brin. One batch a statement, so each commits on its own and holds its locks briefly.
 */
const DELETE_OLD_RUNS = `
WITH RECURSIVE workspaces AS (
  (SELECT workspace FROM sync_runs ORDER BY workspace LIMIT 1)
  UNION ALL
  SELECT (SELECT s.workspace FROM sync_runs s WHERE s.workspace > w.workspace ORDER BY s.workspace LIMIT 1)
  FROM workspaces w WHERE w.workspace IS NOT NULL
), keep AS (
  SELECT k.id
  FROM workspaces w
  CROSS JOIN LATERAL (
    (SELECT DISTINCT ON (s.kind) s.id FROM sync_runs s WHERE s.workspace = w.workspace ORDER BY s.kind, s.id DESC)
    UNION ALL
    (SELECT s.id FROM sync_runs s WHERE s.workspace = w.workspace AND s.status = 'succeeded' AND s.finished_at IS NOT NULL
     ORDER BY s.finished_at DESC NULLS LAST LIMIT 1)
    UNION ALL
    (SELECT s.id FROM sync_runs s WHERE s.workspace = w.workspace AND s.status = 'succeeded' AND s.stop_reason = 'end'
     ORDER BY s.started_at DESC NULLS LAST, s.id DESC NULLS LAST LIMIT 1)
    UNION ALL
    (SELECT s.id FROM sync_runs s
     WHERE s.workspace = w.workspace AND s.kind = 'reconcile' AND s.finished_at IS NOT NULL
       AND (s.status = 'succeeded' OR s.stop_reason = 'delete_guard')
     ORDER BY s.finished_at DESC NULLS LAST, s.id DESC NULLS LAST LIMIT 1)
  ) k
  WHERE w.workspace IS NOT NULL
)
DELETE FROM sync_runs d
WHERE d.id IN (
  SELECT r.id FROM sync_runs r
  WHERE r.started_at < pg_catalog.now() - pg_catalog.make_interval(days => $1::int)
    AND r.status <> 'running'
    AND r.id NOT IN (SELECT keep.id FROM keep)
  ORDER BY r.id
  LIMIT $2::int
)
`;

export async function deleteOldRuns(sql: postgres.Sql, days: number, batch: number): Promise<number> {
  const result = await sql.unsafe(DELETE_OLD_RUNS, [days, batch]);
  return result.count;
}
