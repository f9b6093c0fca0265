/**
 * A reader's place in the feed: the (transaction id, entry id) of the last entry it acknowledged. Entries are read
 * in (xid, id) order, and only once their transaction is below the reader's snapshot xmin, so nothing can commit
 * behind a position later. Printed and accepted as "XID:ID".
 */
export interface FeedPosition {
  xid: bigint;
  id: bigint;
}

/** Before every entry. */
export const BEGINNING: FeedPosition = { xid: 0n, id: 0n };

const MAX_XID8 = 2n ** 64n - 1n;
const MAX_INT8 = 2n ** 63n - 1n;

/** "XID:ID" as `changes` prints it, or undefined when the text is not one. */
export function parsePosition(text: string): FeedPosition | undefined {
  const match = /^(\d{1,20}):(\d{1,19})$/.exec(text.trim());
  if (!match) return undefined;
  const xid = BigInt(match[1]!);
  const id = BigInt(match[2]!);
  if (xid > MAX_XID8 || id > MAX_INT8) return undefined;
  return { xid, id };
}

export function formatPosition(position: FeedPosition): string {
  return `${position.xid}:${position.id}`;
}

/** Negative when a comes first in the feed's order. */
export function comparePositions(a: FeedPosition, b: FeedPosition): number {
  if (a.xid !== b.xid) return a.xid < b.xid ? -1 : 1;
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}

/** Where a reader that processed this entry stands. */
export const positionOf = (entry: { xid: bigint; id: bigint }): FeedPosition => ({ xid: entry.xid, id: entry.id });
