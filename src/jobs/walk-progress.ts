import type { RunningWalk } from '../db/runs/running-walks.ts';
import type { RunKind } from '../domain/runs.ts';
import { parsePgTime } from '../util/time-format.ts';

/**
 * How far a running walk is: pages expected from the stored rows at the run's own page size (items per page so far,
 * else `pageSize`), and an ETA from `etaMs(pagesLeft)` when given (the budget's walkEta), else from the walk's pace.
 */
export function walkProgress(
  walk: Pick<RunningWalk, 'counters' | 'stored_jobs' | 'started_at' | 'kind'>,
  now: number,
  pageSize: number,
  etaMs?: (pagesLeft: number) => number,
): { expectedPages: number; pagesLeft: number; etaMs: number | null } {
  const { pages, itemsSeen } = walk.counters;
  const perPage = pages > 0 && itemsSeen > 0 ? Math.ceil(itemsSeen / pages) : pageSize;
  const expectedPages = Math.max(pages, Math.max(1, Math.ceil(walk.stored_jobs / Math.max(1, perPage))));
  const pagesLeft = Math.max(0, expectedPages - pages);
  // An incremental run stops early: its page count is not the workspace's.
  if (walk.kind === ('incremental' satisfies RunKind)) return { expectedPages, pagesLeft, etaMs: null };
  if (etaMs) return { expectedPages, pagesLeft, etaMs: etaMs(pagesLeft) };
  const started = parsePgTime(walk.started_at).getTime();
  const pace = pages > 0 ? (now - started) / pages : null;
  return { expectedPages, pagesLeft, etaMs: pace === null ? null : Math.round(pace * pagesLeft) };
}
