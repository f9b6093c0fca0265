import type { z } from 'zod';
import { batchCallSchema, KNOWN_PROVIDERS, KNOWN_STATUSES, type BatchCall } from './schemas.ts';

export interface ValidItem {
  item: BatchCall;
  /** The item exactly as received, unknown fields included. */
  raw: Record<string, unknown>;
}

export interface RejectedItem {
  raw: unknown;
  /** One line: which field, what was wrong. */
  reason: string;
  /** The item's id when it had a usable one, for finding it later. */
  itemId: string | null;
}

/** A value outside the enums the spec lists: stored as text, reported once. */
export interface DriftNote {
  field: 'status' | 'phone_provider';
  value: string;
}

export interface ValidatedPage {
  valid: ValidItem[];
  rejected: RejectedItem[];
  drift: DriftNote[];
}

const knownStatuses = new Set<string>(KNOWN_STATUSES);
const knownProviders = new Set<string>(KNOWN_PROVIDERS);

/** Splits a page's items into storable ones and rejected ones; never throws. */
export function validateItems(items: unknown[]): ValidatedPage {
  const valid: ValidItem[] = [];
  const rejected: RejectedItem[] = [];
  const drift: DriftNote[] = [];
  for (const raw of items) {
    const parsed = batchCallSchema.safeParse(raw);
    if (!parsed.success) {
      rejected.push({ raw, reason: describeIssues(parsed.error.issues), itemId: idOf(raw) });
      continue;
    }
    const unstorable = unstorableString(raw);
    if (unstorable) {
      rejected.push({ raw, reason: unstorable, itemId: idOf(raw) });
      continue;
    }
    const item = parsed.data;
    if (!knownStatuses.has(item.status)) drift.push({ field: 'status', value: item.status });
    if (item.phone_provider != null && !knownProviders.has(item.phone_provider)) {
      drift.push({ field: 'phone_provider', value: item.phone_provider });
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

function idOf(raw: unknown): string | null {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id.length > 0 && id.length <= 200 && unstorableString(id) === undefined ? id : null;
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
