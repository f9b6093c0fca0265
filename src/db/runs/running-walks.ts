import type postgres from 'postgres';
import { countersFromRow, RUN_COUNTER_COLUMN_LIST, type RunCounterColumn, type RunCounters } from '../../domain/run-counters.ts';

export interface RunningWalk {
  id: number;
  workspace: string;
  kind: string;
  /** `timestamptz::text`. */
  started_at: string;
  /** Committed so far (every attempt of a resumed run). */
  counters: RunCounters;
  /** Live jobs the copy holds for the workspace: what a full walk is expected to list again. */
  stored_jobs: number;
}

/**
 * Every run still walking, with its progress and the size of its workspace's copy (to expect its page count): one
 * row of batch_call_live_jobs (kept by triggers, migration 0013), not a count of the workspace per page view.
 */
export async function runningWalks(sql: postgres.Sql, workspace?: string): Promise<RunningWalk[]> {
  const rows = await sql<(Omit<RunningWalk, 'counters'> & Record<RunCounterColumn, number>)[]>`
    SELECT r.id::int, r.workspace, r.kind, r.started_at::text, ${sql(RUN_COUNTER_COLUMN_LIST as string[])},
           COALESCE((SELECT l.jobs FROM batch_call_live_jobs l WHERE l.workspace = r.workspace), 0)::int AS stored_jobs
    FROM sync_runs r
    WHERE r.status = 'running' ${workspace === undefined ? sql`` : sql`AND r.workspace = ${workspace}`}
    ORDER BY r.workspace, r.started_at, r.id`;
  return rows.map((row) => ({
    id: row.id,
    workspace: row.workspace,
    kind: row.kind,
    started_at: row.started_at,
    counters: countersFromRow(row),
    stored_jobs: row.stored_jobs,
  }));
}
