import type postgres from 'postgres';

/**
 * Marks as failed every run of `workspace` still `running`. Only call while
 * holding the workspace lock: then no live process owns such a run, so its
 * process died (SIGKILL, crash) or lost its lock before it could close it.
 * Changing the row also fences off such a process, should it still be alive.
 */
export async function abandonRuns(sql: postgres.Sql, workspace: string): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`
    UPDATE sync_runs SET status = 'failed', error = 'abandoned: its process stopped before the run finished', finished_at = pg_catalog.now()
    WHERE workspace = ${workspace} AND status = 'running'
    RETURNING id::int`;
  return rows.map((r) => r.id);
}
