import type { ThreetoneClient } from './client.ts';
import { CursorGuard } from './cursor-guard.ts';

export interface WalkedPage {
  /** Cursor of the page after this one; null when this was the last. */
  nextCursor: string | null;
  items: unknown[];
}

/**
 * Every page from `startCursor` to the end. The next page is requested as
 * soon as the current one arrives, so fetching page N+1 overlaps the caller's
 * work on page N; never more than one page is held ahead.
 */
export async function* walkPages(
  client: ThreetoneClient,
  options: {
    startCursor?: string | null;
    signal?: AbortSignal;
    /** Fetch the next page while the caller works on this one. Default true; off when the caller may stop early, to spend no request it will not use. */
    prefetch?: boolean;
  } = {},
): AsyncGenerator<WalkedPage> {
  const startCursor = options.startCursor ?? null;
  const guard = new CursorGuard(startCursor);
  const ahead = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, ahead.signal]) : ahead.signal;

  const prefetch = options.prefetch ?? true;
  let cursor = startCursor;
  let pending: Promise<Awaited<ReturnType<ThreetoneClient['fetchPage']>>> | undefined;
  try {
    for (let first = true; cursor !== null || first; first = false) {
      const page = await (pending ?? client.fetchPage(cursor, signal));
      pending = undefined;
      const nextCursor = guard.next(page);
      if (nextCursor !== null && prefetch) {
        pending = client.fetchPage(nextCursor, signal);
        // It may fail (or be aborted) while the caller is still busy with this page; it is awaited
        // on the next turn, but Node would call an unawaited rejection unhandled before that.
        pending.catch(() => undefined);
      }
      yield { nextCursor, items: page.items };
      cursor = nextCursor;
    }
  } finally {
    if (pending) {
      // The caller stopped early (error or shutdown): cancel the page fetched ahead.
      ahead.abort(new Error('walk stopped'));
    }
  }
}
