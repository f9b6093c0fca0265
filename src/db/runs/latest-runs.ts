import type postgres from 'postgres';
import { countersFromRow, RUN_COUNTER_COLUMN_LIST, type RunCounterColumn, type RunCounters } from '../../domain/run-counters.ts';

export type RunRow = {
  id: number;
  workspace: string;
  kind: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  counters: RunCounters;
  error: string | null;
  stop_reason: string | null;
  /** The order the API served the run's pages in (src/domain/runs.ts ListOrder); null before a page. */
  list_order: string | null;
};

/**
 * The last `perWorkspace` runs of every workspace, newest first. The workspaces come from a skip scan of
 * sync_runs_workspace_started_id_idx (one probe each), then each reads its first rows of the same index, so the
 * cost follows workspaces × perWorkspace, not how many runs are kept.
 */
export async function latestRuns(sql: postgres.Sql, perWorkspace = 5): Promise<RunRow[]> {
  const rows = await sql<(Omit<RunRow, 'counters'> & Record<RunCounterColumn, number>)[]>`
    WITH RECURSIVE workspaces AS (
      (SELECT workspace FROM sync_runs ORDER BY workspace LIMIT 1)
      UNION ALL
      SELECT (SELECT s.workspace FROM sync_runs s WHERE s.workspace > w.workspace ORDER BY s.workspace LIMIT 1)
      FROM workspaces w WHERE w.workspace IS NOT NULL
    )
    SELECT r.id::int, r.workspace, r.kind, r.status, r.started_at::text, r.finished_at::text, ${sql(RUN_COUNTER_COLUMN_LIST as string[])},
           r.error, r.stop_reason, r.list_order
    FROM workspaces w
    CROSS JOIN LATERAL (
      SELECT * FROM sync_runs s WHERE s.workspace = w.workspace
      ORDER BY s.started_at DESC NULLS LAST, s.id DESC NULLS LAST
      LIMIT ${perWorkspace}::int
    ) r
    WHERE w.workspace IS NOT NULL
    ORDER BY r.workspace, r.started_at DESC, r.id DESC`;
  return rows.map(runRow);
}

/** The last `limit` runs of one workspace, newest first (sync_runs_workspace_started_id_idx). */
export async function workspaceRuns(sql: postgres.Sql, workspace: string, limit: number): Promise<RunRow[]> {
  const rows = await sql<(Omit<RunRow, 'counters'> & Record<RunCounterColumn, number>)[]>`
    SELECT r.id::int, r.workspace, r.kind, r.status, r.started_at::text, r.finished_at::text, ${sql(RUN_COUNTER_COLUMN_LIST as string[])},
           r.error, r.stop_reason, r.list_order
    FROM sync_runs r WHERE r.workspace = ${workspace}
    ORDER BY r.started_at DESC, r.id DESC
    LIMIT ${limit}::int`;
  return rows.map(runRow);
}

function runRow(row: Omit<RunRow, 'counters'> & Record<RunCounterColumn, number>): RunRow {
  return {
    id: row.id,
    workspace: row.workspace,
    kind: row.kind,
    status: row.status,
    started_at: row.started_at,
    finished_at: row.finished_at,
    counters: countersFromRow(row),
    error: row.error,
    stop_reason: row.stop_reason,
    list_order: row.list_order,
  };
}
