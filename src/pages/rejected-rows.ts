import { createHash } from 'node:crypto';
import type { RejectedItem } from '../domain/items.ts';

/** A reason is one line of at most this many characters: it is part of rejected_records' unique key. */
const MAX_REASON = 300;

export interface RejectedRow {
  item_id: string | null;
  reason: string;
  raw: string;
}

/**
 * The page's rejected items as rows of rejected_records, one per item key and reason (the later occurrence
 * wins): one statement cannot update a row twice.
 */
export function rejectedRows(rejected: RejectedItem[]): RejectedRow[] {
  const rows = new Map<string, RejectedRow>();
  for (const item of rejected) {
    const raw = rawText(item.raw);
    const flat = item.reason.replace(/\s+/g, ' ').trim();
    const reason = flat.length > MAX_REASON ? `${flat.slice(0, MAX_REASON - 3)}...` : flat;
    // The same key Postgres computes for rejected_records.item_key.
    const key = item.itemId ?? createHash('md5').update(raw).digest('hex');
    rows.set(`${key}\u0000${reason}`, { item_id: item.itemId, reason, raw });
  }
  return [...rows.values()];
}

const RAW_DEPTH = 64;

/**
 * The rejected item's JSON text. JSON.stringify overflows the stack on very
 * deep nesting (which is one reason such items are rejected), so anything
 * nested deeper than RAW_DEPTH is cut and marked.
 */
export function rawText(raw: unknown): string {
  return JSON.stringify(cutDeep(raw, 0)) ?? 'undefined';
}

function cutDeep(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= RAW_DEPTH) return '[cut: nested too deep]';
  if (Array.isArray(value)) return value.map((v) => cutDeep(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cutDeep(v, depth + 1)]));
}
