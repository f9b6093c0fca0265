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
  /** The item's id when it had a usable one (src/pages/storable.ts), for finding it later. */
  itemId: string | null;
}
