import { LIST_ORDERS, type ListOrder } from '../domain/runs.ts';
import type { OrderKeys } from '../pages/prepare-page.ts';

/** Watches one walk segment from its first page on; a walk that starts again from the top needs a new one. */
export class ListOrderWatch {
  private previous: OrderKeys | undefined;
  private byCreated = true;
  private byUpdated = true;
  private firstBreak: string | undefined;
  /** Pages observed. */
  pages = 0;

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
