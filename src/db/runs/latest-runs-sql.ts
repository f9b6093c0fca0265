import type postgres from 'postgres';
import type { RunRow } from './latest-runs.ts';

/**
 * latestRuns on a plain postgres.js client: the status page reads on the
 * HTTP endpoint's own pool (Database.reads), which drizzle does not wrap.
 */
export async function latestRunsOn(sql: postgres.Sql, perWorkspace: number): Promise<RunRow[]> {
  const rows = await sql<RunRow[]>`
    SELECT id::int, workspace, kind, status, started_at::text, finished_at::text, pages, items_seen,
           versions_added, rejected, requests, error
    FROM (
      SELECT *, pg_catalog.row_number() OVER (PARTITION BY workspace ORDER BY started_at DESC, id DESC) AS n
      FROM sync_runs
    ) r
    WHERE n <= ${perWorkspace}::int
    ORDER BY workspace, started_at DESC, id DESC`;
  return [...rows];
}
