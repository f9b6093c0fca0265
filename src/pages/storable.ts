import type { ListResource } from '../resources/resource.ts';

/**
 * What Postgres can hold. Every limit an item must fit before its page is written lives here, so that one
 * unforeseen value never fails a whole page's statement (the page write's item-by-item retry is only a safety net).
 */

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

/** The unix-seconds range `to_timestamp` (and so the timestamptz columns) accepts: 4714-11-24 BC to 294276 AD. */
export const UNIX_SECONDS_MIN = -210_866_803_200;
export const UNIX_SECONDS_MAX = 9_224_318_015_999;

/** What the columns and their indexes could not hold, in one line; undefined when the item is storable. */
export function unstorableColumn<Item extends Record<string, unknown>>(resource: ListResource<Item>, item: Item): string | undefined {
  for (const field of resource.keyFields) {
    const value = item[field];
    if (typeof value === 'string' && value.length > MAX_KEY_LENGTH) {
      return `${field}: ${value.length} characters, longer than the ${MAX_KEY_LENGTH} an indexed column takes`;
    }
  }
  for (const field of resource.unixSecondsFields) {
    const value = item[field];
    if (typeof value !== 'number') continue;
    if (value < UNIX_SECONDS_MIN || value > UNIX_SECONDS_MAX) {
      return `${field}: ${value} is outside the timestamps Postgres can store (unix seconds ${UNIX_SECONDS_MIN} to ${UNIX_SECONDS_MAX})${unitHint(value)}`;
    }
    const hint = unitHint(value);
    // Storable, but its timestamptz twin would be a date after year 5000 in every BI view: wrong, not exact.
    if (value > SECONDS_PLAUSIBLE_MAX && hint) return `${field}: ${value} is not unix seconds${hint}`;
  }
  return undefined;
}

/** Unix seconds after this (year 5138) are not a date a batch call has. */
const SECONDS_PLAUSIBLE_MAX = 100_000_000_000;

/** Milliseconds or microseconds where seconds belong are the usual cause of an absurd timestamp (a date this century once divided). */
function unitHint(value: number): string {
  for (const [unit, divisor] of [['milliseconds', 1_000], ['microseconds', 1_000_000]] as const) {
    const date = new Date((value / divisor) * 1000);
    const year = date.getUTCFullYear();
    if (year >= 2000 && year <= 2200) return `; it looks like ${unit} (${date.toISOString()})`;
  }
  return '';
}

const MAX_DEPTH = 64;

/**
 * Postgres text and jsonb cannot hold NUL or unpaired UTF-16 surrogates; one
 * such string would fail the whole page's statement, so the item is rejected
 * up front instead (its raw JSON is kept, escaped, in rejected_records).
 * Absurdly deep nesting is refused for the same reason.
 */
export function unstorableString(value: unknown, path = '', depth = 0): string | undefined {
  // Deeper nesting than any real item has; Postgres' jsonb parser (and this walk) would run out of stack.
  if (depth > MAX_DEPTH) return `${path}: nested deeper than ${MAX_DEPTH} levels`;
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return `${path || 'value'}: contains a NUL character, which Postgres cannot store`;
    if (!value.isWellFormed()) return `${path || 'value'}: contains an unpaired surrogate, which Postgres cannot store`;
    return undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unstorableString(value[i], `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const found = unstorableString(key, path ? `${path}.<key>` : '<key>', depth + 1) ?? unstorableString(child, path ? `${path}.${key}` : key, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}
