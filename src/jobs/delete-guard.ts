import type { DeleteCounts } from '../db/runs/finish-reconcile.ts';
import type { ListOrder } from '../domain/runs.ts';
import { SWEEP_MAX_ROUNDS } from './head-sweep.ts';

export interface DeleteGuardOptions {
  /** RECONCILE_MAX_DELETE_RATIO. */
  maxRatio: number;
  /** `reconcile --allow-mass-delete`: the operator confirmed this one run. */
  allowMassDelete: boolean;
}

/** A reconciliation may always mark this many jobs: in a small workspace a few deletes are a large share and normal. */
export const ALWAYS_ALLOWED_DELETES = 10;

const CONFIRM = 'run "threetone-sync reconcile --allow-mass-delete" to confirm';

/**
 * Why a reconciliation must not mark these deletes, or undefined when it may.
 * An API that answers an empty or truncated listing looks exactly like a mass
 * delete, and marking it would hide live jobs from every BI view, so past a
 * share of the live rows an operator has to confirm.
 */
export function refuseDeletes(counts: DeleteCounts, options: DeleteGuardOptions): string | undefined {
  if (options.allowMassDelete || counts.wouldDelete === 0) return undefined;
  if (counts.apiCount === 0) {
    return `reconciliation refused: the API listed no jobs but ${counts.live} are live here, so it marked nothing; ${CONFIRM}`;
  }
  const share = counts.wouldDelete / Math.max(counts.live, 1);
  if (share <= options.maxRatio || counts.wouldDelete <= ALWAYS_ALLOWED_DELETES) return undefined;
  const percent = (x: number) => `${Math.round(x * 100)}%`;
  return `reconciliation refused: it would mark ${counts.wouldDelete} of ${counts.live} live jobs deleted (${percent(share)}, limit ${percent(options.maxRatio)} from RECONCILE_MAX_DELETE_RATIO), so it marked nothing; ${CONFIRM}`;
}

/** What the walk found out about the list, for judging whether its misses can be deletes. */
export interface WalkTrust {
  order: ListOrder;
  /** Where the order broke, when it did. */
  orderEvidence?: string | undefined;
  /** False when the head of the list kept moving through every sweep round (head-sweep.ts). */
  headSettled: boolean;
}

/**
 * Why a walk's misses must not be marked as deletes, or undefined when they may.
 * Checked before the mass-delete guard, and not overridden by
 * --allow-mass-delete: the operator confirms a number, not an order nobody saw.
 */
export function refuseUntrustedWalk(counts: DeleteCounts, walk: WalkTrust): string | undefined {
  if (counts.wouldDelete === 0) return undefined;
  const missed = `${counts.wouldDelete} job${counts.wouldDelete === 1 ? '' : 's'}`;
  if (walk.order === 'unknown') {
    return `reconciliation refused: the API listed jobs in neither creation nor last-update order (${walk.orderEvidence ?? 'order broke'}), so ${missed} it did not list may only have moved; it marked nothing`;
  }
  if (!walk.headSettled) {
    return `reconciliation refused: jobs kept moving to the head of the list through ${SWEEP_MAX_ROUNDS} re-reads, so ${missed} it did not list may only have moved; it marked nothing (the next reconciliation tries again)`;
  }
  return undefined;
}
