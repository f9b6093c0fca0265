/** An item that passed validation, typed by its resource's schema. */
export interface ValidItem<Item extends Record<string, unknown> = Record<string, unknown>> {
  item: Item;
  /** The item exactly as received, unknown fields included. */
  raw: Record<string, unknown>;
}

/** An item set aside (rejected_records) instead of stored; never costs the rest of its page. */
export interface RejectedItem {
  raw: unknown;
  /** One line: which field, what was wrong. */
  reason: string;
  /** The item's id when it had a usable one, for finding it later. */
  itemId: string | null;
}

/**
 * Longest value of a field that is part of an index key. A btree entry holds
 * at most ~2.7 kB, so one longer value would fail its whole page's write; real
 * ids are a few dozen characters.
 */
export const MAX_KEY_LENGTH = 256;

/** `value` when it can be stored and indexed as an item id (rejected_records keys on it), else null. */
export function usableId(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_KEY_LENGTH && value.isWellFormed() && !value.includes('\u0000') ? value : null;
}
