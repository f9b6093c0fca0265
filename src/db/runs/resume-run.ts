import type postgres from 'postgres';
import type { ListOrder, RunKind } from '../../domain/runs.ts';

export interface ResumedRun {
  runId: number;
  cursor: string;
  pages: number;
  /** When the run's first attempt started (ms since the epoch): what moved since then may have moved past its cursor. */
  startedAtMs: number;
  /** The order earlier attempts were served in (null: none read a page). */
  listOrder: ListOrder | null;
  /** When this attempt reopened it (the database's clock). */
  openedAt: Date;
}

/**
 * Reopens the workspace's latest run of this kind if it failed or was interrupted and
 * saved the cursor of its next page: its next attempt carries on from there
 * (counters, and a reconciliation's seen ids, carry on too) instead of walking
 * from the top. The attempt's `token` becomes the run's owner, which fences
 * off any earlier attempt still running somewhere. Only call while holding
 * the workspace lock.
 */
export async function resumeRun(sql: postgres.Sql, workspace: string, kind: RunKind, token: string): Promise<ResumedRun | undefined> {
  const [row] = await sql<ResumedRun[]>`
    UPDATE sync_runs SET status = 'running', error = NULL, finished_at = NULL, stop_reason = NULL, attempts = attempts + 1, owner = ${token}, alive_at = pg_catalog.now()
    WHERE id = (SELECT id FROM sync_runs WHERE workspace = ${workspace} AND kind = ${kind} ORDER BY id DESC LIMIT 1)
      AND status IN ('failed', 'interrupted') AND next_cursor IS NOT NULL
    RETURNING id::int AS "runId", next_cursor AS cursor, pages, (extract(epoch FROM started_at) * 1000)::float8 AS "startedAtMs",
      list_order AS "listOrder", pg_catalog.now() AS "openedAt"`;
  return row;
}
