/**
 * The spec never says in which order the list comes. Deletes and the
 * incremental stop rule are only safe under orders where a job that changes
 * moves toward the head, so every walk checks the order it is actually served
 * in, page after page, instead of trusting one.
 *
 * - `created`: creation time never goes up along the walk and last update
 *   does: a job never moves;
 * - `updated`: last update never goes up, so a changed job may have jumped to
 *   the head (also when creation time never goes up either: a walk that cannot
 *   tell the two apart is treated as the one that needs more care);
 * - `unknown`: neither holds, so a job may have moved anywhere.
 */
export type ListOrder = 'created' | 'updated' | 'unknown';

export const LIST_ORDERS = ['created', 'updated', 'unknown'] as const satisfies readonly ListOrder[];

/** The two times of one listed item that an order could follow (unix seconds). */
export interface OrderKeys {
  created: number;
  updated: number;
}

/** Watches one walk segment from its first page on; a walk that starts again from the top needs a new one. */
export class ListOrderWatch {
  private previous: OrderKeys | undefined;
  private byCreated = true;
  private byUpdated = true;
  private firstBreak: string | undefined;
  private pages = 0;

  /** Feeds one page's valid items, in the order served. */
  observe(items: readonly OrderKeys[]): void {
    this.pages++;
    for (const item of items) {
      const previous = this.previous;
      this.previous = item;
      if (previous === undefined) continue;
      const wasKnown = this.byCreated || this.byUpdated;
      if (item.created > previous.created) this.byCreated = false;
      if (item.updated > previous.updated) this.byUpdated = false;
      if (wasKnown && !this.byCreated && !this.byUpdated) {
        this.firstBreak = `page ${this.pages}: created_at ${previous.created} then ${item.created}, last_updated_at ${previous.updated} then ${item.updated}`;
      }
    }
  }

  get order(): ListOrder {
    if (this.byUpdated) return 'updated';
    return this.byCreated ? 'created' : 'unknown';
  }

  /** Where the order first stopped being recognisable (for the warning line), once it has. */
  get evidence(): string | undefined {
    return this.firstBreak;
  }
}

/** The order of a whole run from its segments': the least trusted wins. */
export function worstOrder(orders: Iterable<ListOrder>): ListOrder {
  let worst: ListOrder = 'created';
  for (const order of orders) if (LIST_ORDERS.indexOf(order) > LIST_ORDERS.indexOf(worst)) worst = order;
  return worst;
}
