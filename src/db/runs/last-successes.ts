import type postgres from 'postgres';

/** When each workspace's last succeeded run finished: a skip scan over workspaces, then one probe of sync_runs_last_success_idx each. */
export async function lastSuccesses(sql: postgres.Sql): Promise<Map<string, Date>> {
  const rows = await sql<{ workspace: string; ms: number }[]>`
    WITH RECURSIVE workspaces AS (
      (SELECT workspace FROM sync_runs ORDER BY workspace LIMIT 1)
      UNION ALL
      SELECT (SELECT s.workspace FROM sync_runs s WHERE s.workspace > w.workspace ORDER BY s.workspace LIMIT 1)
      FROM workspaces w WHERE w.workspace IS NOT NULL
    )
    SELECT w.workspace, (extract(epoch FROM r.finished_at) * 1000)::float8 AS ms
    FROM workspaces w
    CROSS JOIN LATERAL (
      SELECT s.finished_at FROM sync_runs s
      WHERE s.workspace = w.workspace AND s.status = 'succeeded' AND s.finished_at IS NOT NULL
      ORDER BY s.finished_at DESC NULLS LAST
      LIMIT 1
    ) r
    WHERE w.workspace IS NOT NULL`;
  return new Map(rows.map((r) => [r.workspace, new Date(r.ms)]));
}
