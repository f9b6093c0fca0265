import type postgres from 'postgres';

export interface WorkspaceTotals {
  jobs: number;
  versions: number;
  rejected: number;
}

/** Rows the copy holds for one workspace, in each table (versions from the per-day counts the history triggers keep). */
export async function workspaceTotals(sql: postgres.Sql, workspace: string): Promise<WorkspaceTotals> {
  const [totals] = await sql<WorkspaceTotals[]>`
    SELECT (SELECT pg_catalog.count(*) FROM batch_calls WHERE workspace = ${workspace})::int AS jobs,
           (SELECT COALESCE(pg_catalog.sum(versions), 0) FROM batch_call_history_daily WHERE workspace = ${workspace})::int AS versions,
           (SELECT pg_catalog.count(*) FROM rejected_records WHERE workspace = ${workspace})::int AS rejected`;
  return totals!;
}
