import type postgres from 'postgres';

/**
 * Whether some run of the workspace ever walked every page. Until one has, the
 * copy may have gaps below the newest pages, so an incremental run must not
 * stop early.
 */
export async function hasCompleteWalk(sql: postgres.Sql, workspace: string): Promise<boolean> {
  const rows = await sql`
    SELECT 1 FROM sync_runs WHERE workspace = ${workspace} AND status = 'succeeded' AND stop_reason = 'end' LIMIT 1`;
  return rows.length > 0;
}
