import type postgres from 'postgres';
import type { RunKind } from '../../domain/runs.ts';

/**
 * Marks as failed every run of `workspace` of one of `kinds` (one lock lane's) still `running`. Only call while
 * holding that lane's workspace lock: then no live process owns such a run, so its
 * process died (SIGKILL, crash) or lost its lock before it could close it.
 * Changing the row also fences off such a process, should it still be alive.
 */
export async function abandonRuns(sql: postgres.Sql, workspace: string, kinds: readonly RunKind[]): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`
    UPDATE sync_runs SET status = 'failed', error = 'abandoned: its process stopped before the run finished', finished_at = pg_catalog.now()
    WHERE workspace = ${workspace} AND status = 'running' AND kind = ANY(${kinds as RunKind[]}::text[])
    RETURNING id::int`;
  return rows.map((r) => r.id);
}
