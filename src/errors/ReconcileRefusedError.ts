/**
 * A reconciliation would have marked so many jobs deleted that an API fault is likelier than a
 * real mass delete: it marked nothing. An operator confirms with `reconcile --allow-mass-delete`.
 */
export class ReconcileRefusedError extends Error {
  readonly wouldDelete: number;
  readonly live: number;

  constructor(message: string, counts: { wouldDelete: number; live: number }) {
    super(message);
    this.name = this.constructor.name;
    this.wouldDelete = counts.wouldDelete;
    this.live = counts.live;
  }
}
