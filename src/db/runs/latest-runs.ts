import type postgres from 'postgres';

export type RunRow = {
  id: number;
  workspace: string;
  kind: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  pages: number;
  items_seen: number;
  versions_added: number;
  rejected: number;
  requests: number;
  error: string | null;
  stop_reason: string | null;
};

/** The last `perWorkspace` runs of every workspace, newest first. */
export async function latestRuns(sql: postgres.Sql, perWorkspace = 5): Promise<RunRow[]> {
  const rows = await sql<RunRow[]>`
    SELECT id::int, workspace, kind, status, started_at::text, finished_at::text, pages, items_seen,
           versions_added, rejected, requests, error, stop_reason
    FROM (
      SELECT *, pg_catalog.row_number() OVER (PARTITION BY workspace ORDER BY started_at DESC, id DESC) AS n
      FROM sync_runs
    ) r
    WHERE n <= ${perWorkspace}::int
    ORDER BY workspace, started_at DESC, id DESC`;
  return [...rows];
}
