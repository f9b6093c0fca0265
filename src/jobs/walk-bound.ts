import { WalkTooLongError } from '../errors/WalkTooLongError.ts';

/** Derived bounds: twice the pages the jobs could fill, plus this many for pages the API sends short or empty. */
export const WALK_PAGE_MARGIN = 50;

/**
 * The most pages one walk segment may take. A walk that follows fresh cursors
 * with `has_more: true` for ever (no items, or the same items again) would
 * otherwise hold the workspace's lock and its whole request budget; the bound
 * grows only with distinct jobs, so a real walk of a growing workspace never
 * meets it.
 */
export class WalkBound {
  private readonly ids = new Set<string>();
  private pages = 0;

  constructor(
    private readonly options: {
      /** Live jobs stored for the workspace when the run opened. */
      storedLive: number;
      pageSize: number;
      /** WALK_MAX_PAGES; 0 derives the bound. */
      maxPages: number;
    },
  ) {}

  get limit(): number {
    if (this.options.maxPages > 0) return this.options.maxPages;
    const jobs = Math.max(this.options.storedLive, this.ids.size);
    return 2 * Math.ceil(jobs / this.options.pageSize) + WALK_PAGE_MARGIN;
  }

  /** Counts one page and the ids it listed; throws WalkTooLongError once the segment is past its bound. */
  afterPage(listedIds: Iterable<string>): void {
    this.pages++;
    for (const id of listedIds) this.ids.add(id);
    if (this.pages > this.limit) throw new WalkTooLongError(this.limit, this.ids.size, this.pages);
  }
}
