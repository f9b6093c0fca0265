import type { ApiRequestRejectedError } from './ApiRequestRejectedError.ts';

/**
 * The API kept rejecting the walk's cursor after every restart from the top
 * (cursors that expire sooner than the walk can follow them, or a deploy that
 * rotates them again and again). Not permanent: the run is retried later and
 * starts again from the top, keeping every committed page and a
 * reconciliation's seen ids.
 */
export class CursorRejectedError extends Error {
  constructor(restarts: number, last: ApiRequestRejectedError) {
    super(`the API rejected the walk's cursor again after ${restarts} restart(s) from the top (${last.message}); the run is retried later and keeps what it committed`, { cause: last });
    this.name = this.constructor.name;
  }
}
