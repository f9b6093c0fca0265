/**
 * Why a reconciliation reads the head of the list again before marking
 * deletes. A walk by last update misses every job that changed while the walk
 * was past its old position: the job jumps to the head, ahead of the cursor,
 * and would look deleted. Every such job changed after the walk read its first
 * page, so it sits above every job last updated before the newest job that
 * page held. A sweep from the top down to such a job lists every job that moved.
 *
 * The boundary is read off the API's own timestamps (the newest job on the
 * walk's first page), not our clock, so clock skew costs nothing and a busy
 * workspace is not re-read further than it changed. It assumes a job's
 * last_updated_at is never ahead of the API's clock when it is listed; a
 * timestamp more than SWEEP_CLOCK_MARGIN_S ahead of ours is not believed.
 *
 * A sweep of several pages can itself be overtaken (a job that changes again
 * after the sweep read the head), so rounds repeat, each down to the head of
 * the round before, until one round takes a single request: one response sees
 * the whole moved region at once. Under creation order nothing moves and no
 * sweep is made.
 */

/** Rounds before the reconciliation gives up on the head ever standing still and marks nothing. */
export const SWEEP_MAX_ROUNDS = 4;

/** How far the API's and our clocks may disagree: a head timestamp further ahead than this is not used as a boundary. */
export const SWEEP_CLOCK_MARGIN_S = 300;

/** Whether a sweep round has read far enough: this page holds a job last updated before `boundaryS` (API time), or it was the last page. */
export function sweepRoundReached(updatedTimes: Iterable<number>, boundaryS: number, lastPage: boolean): boolean {
  if (lastPage) return true;
  for (const updated of updatedTimes) if (updated < boundaryS) return true;
  return false;
}

/**
 * The boundary a head page sets for whoever reads the head after it: the
 * newest last update on it (no job changed after the page was served can be
 * older), among those not implausibly ahead of our clock; our clock less the
 * margin when the page holds none.
 */
export function headBoundary(updatedTimes: Iterable<number>, nowS: number): number {
  let newest: number | undefined;
  for (const updated of updatedTimes) {
    if (updated <= nowS + SWEEP_CLOCK_MARGIN_S && (newest === undefined || updated > newest)) newest = updated;
  }
  return newest ?? nowS - SWEEP_CLOCK_MARGIN_S;
}

/** The next round's boundary, or undefined when no other round is needed (the round took one request, so nothing overtook it). */
export function nextSweepBoundary(round: { pages: number; headBoundaryS: number }): number | undefined {
  return round.pages <= 1 ? undefined : round.headBoundaryS;
}
