import { CursorError } from '../errors/CursorError.ts';
import type { Page } from './schemas.ts';

/** Longest next_doc followed. Real cursors are short tokens; one that grows page after page is a loop in disguise, and every one is stored with its page. */
export const MAX_CURSOR_LENGTH = 4096;

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
    const cursor = page.next_doc;
    if (page.has_more === undefined && typeof cursor === 'string' && cursor !== '') {
      // The spec's default would end the walk here, skipping whatever that cursor leads to.
      throw new CursorError('API sent a next_doc without has_more; stopping rather than guessing whether more pages follow', this.pages);
    }
    if (!page.has_more) return null;
    if (cursor === undefined || cursor === null) {
      throw new CursorError('API said has_more=true but sent no next_doc; stopping rather than missing the rest', this.pages);
    }
    if (cursor === '') {
      throw new CursorError('API sent an empty next_doc with has_more=true; following it would restart from the top', this.pages);
    }
    if (cursor.length > MAX_CURSOR_LENGTH) {
      throw new CursorError(`API sent a next_doc of ${cursor.length} characters (at most ${MAX_CURSOR_LENGTH} are followed)`, this.pages);
    }
    if (this.seen.has(cursor)) {
      throw new CursorError('API sent a next_doc already followed in this walk; following it would loop', this.pages);
    }
    this.seen.add(cursor);
    return cursor;
  }
}
