import { parsePgTime } from '../../util/pg-time.ts';
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

/**
 * How far a running walk is: pages expected from the stored rows at the run's own page size (items per page so far,
 * else `pageSize`), and an ETA from `etaMs(pagesLeft)` when given (the budget's walkEta), else from the walk's pace.
 */
export function walkProgress(
  walk: Pick<RunningWalk, 'pages' | 'items_seen' | 'stored_jobs' | 'started_at' | 'kind'>,
  now: number,
  pageSize: number,
  etaMs?: (pagesLeft: number) => number,
): { expectedPages: number; pagesLeft: number; etaMs: number | null } {
  const perPage = walk.pages > 0 && walk.items_seen > 0 ? Math.ceil(walk.items_seen / walk.pages) : pageSize;
  const expectedPages = Math.max(walk.pages, Math.max(1, Math.ceil(walk.stored_jobs / Math.max(1, perPage))));
  const pagesLeft = Math.max(0, expectedPages - walk.pages);
  // An incremental run stops early: its page count is not the workspace's.
  if (walk.kind === 'incremental') return { expectedPages, pagesLeft, etaMs: null };
  if (etaMs) return { expectedPages, pagesLeft, etaMs: etaMs(pagesLeft) };
  const started = parsePgTime(walk.started_at).getTime();
  const pace = walk.pages > 0 ? (now - started) / walk.pages : null;
  return { expectedPages, pagesLeft, etaMs: pace === null ? null : Math.round(pace * pagesLeft) };
}
