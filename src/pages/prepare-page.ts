import type { RejectedItem } from '../domain/items.ts';
import type { ListResource } from '../resources/resource.ts';
import { toPageRows, type PageRow } from './page-rows.ts';
import { validateItems, type DriftNote } from './validate.ts';

export type { DriftNote };

/** The two times of one valid item that a list's order could follow (unix seconds): what ListOrderWatch observes. */
export interface OrderKeys {
  created: number;
  updated: number;
}

/** One page as the run loop needs it: everything decided, nothing yet written. */
export interface PreparedPage {
  /** The valid items shaped for the page write, one per (id, version). */
  rows: PageRow[];
  /** Items set aside, each with a one-line reason. */
  rejected: RejectedItem[];
  /** Every id the API listed on the page: valid ids, then rejected items' usable ids, since a job the API still lists is not deleted. */
  listedIds: string[];
  /** The valid items' ids in the order served, repeats kept: the incremental stop rule and the walk bound judge only what was stored. */
  validIds: string[];
  /** Values outside the enums the spec lists (stored as text all the same). */
  drift: DriftNote[];
  /** One per valid item, in the order served. */
  orderKeys: OrderKeys[];
}

/**
 * A page's items, split and shaped for the write. Pure: the only place that decides what Postgres can hold
 * (src/pages/storable.ts), so the page write has nothing left to check.
 */
export function preparePage<Item extends Record<string, unknown>>(resource: ListResource<Item>, items: readonly unknown[]): PreparedPage {
  const { valid, rejected, drift } = validateItems(resource, items);
  const validIds = valid.map((v) => String(v.item[resource.idField]));
  return {
    rows: toPageRows(resource, valid),
    rejected,
    listedIds: [...validIds, ...rejected.flatMap((r) => (r.itemId === null ? [] : [r.itemId]))],
    validIds,
    drift,
    orderKeys: valid.map((v) => ({ created: Number(v.item[resource.createdField]), updated: Number(v.item[resource.versionField]) })),
  };
}
