import type { z } from 'zod';
import { MAX_KEY_LENGTH, usableId, type RejectedItem, type ValidItem } from '../domain/items.ts';
import type { ListResource } from '../resources/resource.ts';

/** A value outside the enums the spec lists: stored as text, reported once. */
export interface DriftNote {
  field: string;
  value: string;
}

export interface ValidatedPage<Item extends Record<string, unknown> = Record<string, unknown>> {
  valid: ValidItem<Item>[];
  rejected: RejectedItem[];
  drift: DriftNote[];
}

/** Splits a page's items into storable ones and rejected ones; never throws. */
export function validateItems<Item extends Record<string, unknown>>(resource: ListResource<Item>, items: unknown[]): ValidatedPage<Item> {
  const valid: ValidItem<Item>[] = [];
  const rejected: RejectedItem[] = [];
  const drift: DriftNote[] = [];
  const itemId = (raw: unknown) => idOf(raw, resource.idField);
  for (const raw of items) {
    const parsed = resource.itemSchema.safeParse(raw);
    if (!parsed.success) {
      rejected.push({ raw, reason: describeIssues(parsed.error.issues), itemId: itemId(raw) });
      continue;
    }
    const unstorable = unstorableString(raw) ?? unstorableColumn(resource, parsed.data);
    if (unstorable) {
      rejected.push({ raw, reason: unstorable, itemId: itemId(raw) });
      continue;
    }
    const item = parsed.data;
    for (const [field, known] of Object.entries(resource.knownValues) as [string, readonly string[]][]) {
      const value = item[field];
      if (typeof value === 'string' && !known.includes(value)) drift.push({ field, value });
    }
    valid.push({ item, raw: raw as Record<string, unknown> });
  }
  return { valid, rejected, drift };
}

function describeIssues(issues: z.core.$ZodIssue[]): string {
  const parts = issues.slice(0, 3).map((issue) => `${issue.path.length ? issue.path.join('.') : 'item'}: ${issue.message}`);
  if (issues.length > 3) parts.push(`and ${issues.length - 3} more`);
  return parts.join('; ');
}

/** The item's id when it is one we can store and index, else null. */
function idOf(raw: unknown, idField: string): string | null {
  return usableId((raw as Record<string, unknown> | null)?.[idField]);
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
