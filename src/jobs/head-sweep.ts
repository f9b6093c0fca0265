/**
 * Why a reconciliation reads the head of the list again before marking
 * deletes. A walk by last update misses every job that changed while the walk
 * was past its old position: the job jumps to the head, ahead of the cursor,
 * and would look deleted. Every such job changed after the walk began, so it
 * sits above the first item that has not changed since then. A sweep from the
 * top down to such an item lists every job that moved.
 *
 * A sweep of several pages can itself be overtaken (a job that changes again
 * after the sweep read the head), so rounds repeat, each down to the start of
 * the round before, until one round takes a single page: one request sees the
 * whole moved region at once. Under creation order nothing moves and the
 * first page nearly always holds an old job: one request.
 */

/** Rounds before the reconciliation gives up on the head ever standing still and marks nothing. */
export const SWEEP_MAX_ROUNDS = 4;

/** API and worker clocks may disagree: a round reads this many seconds further back than it needs to. */
export const SWEEP_CLOCK_MARGIN_S = 300;

/** Whether a sweep round has read far enough: this page holds a job unchanged since `boundaryS` (API time), or it was the last page. */
export function sweepRoundReached(updatedTimes: Iterable<number>, boundaryS: number, lastPage: boolean): boolean {
  if (lastPage) return true;
  for (const updated of updatedTimes) if (updated < boundaryS) return true;
  return false;
}

/** The next round's boundary, or undefined when no other round is needed (the round took one request, so nothing overtook it). */
export function nextSweepBoundary(round: { pages: number; startedAtMs: number }): number | undefined {
  if (round.pages <= 1) return undefined;
  return Math.floor(round.startedAtMs / 1000) - SWEEP_CLOCK_MARGIN_S;
}
