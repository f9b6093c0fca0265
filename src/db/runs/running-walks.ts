import type postgres from 'postgres';

export interface RunningWalk {
  id: number;
  workspace: string;
  kind: string;
  /** `timestamptz::text`. */
  started_at: string;
  /** Pages and items committed so far (every attempt of a resumed run). */
  pages: number;
  items_seen: number;
  requests: number;
  /** Live jobs the copy holds for the workspace: what a full walk is expected to list again. */
  stored_jobs: number;
}

/** Every run still walking, with its progress and the size of its workspace's copy (to expect its page count). */
export async function runningWalks(sql: postgres.Sql): Promise<RunningWalk[]> {
  const rows = await sql<RunningWalk[]>`
    SELECT r.id::int, r.workspace, r.kind, r.started_at::text, r.pages, r.items_seen, r.requests,
           (SELECT pg_catalog.count(*) FROM batch_calls b WHERE b.workspace = r.workspace AND b.deleted_at IS NULL)::int AS stored_jobs
    FROM sync_runs r
    WHERE r.status = 'running'
    ORDER BY r.workspace, r.started_at, r.id`;
  return [...rows];
}
