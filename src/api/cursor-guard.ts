import { CursorError } from '../errors/CursorError.ts';
import type { Page } from './schemas.ts';

/**
 * Decides where a walk goes after each page, refusing cursors that would make
 * it loop forever, restart from the top, or stop silently before the end.
 */
export class CursorGuard {
  private readonly seen = new Set<string>();
  private pages = 0;

  constructor(startCursor: string | null = null) {
    if (startCursor !== null) this.seen.add(startCursor);
  }

  /** The cursor of the next page, or null when the walk is complete. Throws CursorError. */
  next(page: Pick<Page, 'has_more' | 'next_doc'>): string | null {
    this.pages++;
    if (!page.has_more) return null;
    const cursor = page.next_doc;
    if (cursor === undefined || cursor === null) {
      throw new CursorError('API said has_more=true but sent no next_doc; stopping rather than missing the rest', this.pages);
    }
    if (cursor === '') {
      throw new CursorError('API sent an empty next_doc with has_more=true; following it would restart from the top', this.pages);
    }
    if (this.seen.has(cursor)) {
      throw new CursorError('API sent a next_doc already followed in this walk; following it would loop', this.pages);
    }
    this.seen.add(cursor);
    return cursor;
  }
}
