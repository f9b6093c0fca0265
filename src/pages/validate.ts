import type { z } from 'zod';
import type { RejectedItem, ValidItem } from '../domain/items.ts';
import type { ListResource } from '../resources/resource.ts';
import { unstorableColumn, unstorableString, usableId } from './storable.ts';

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
export function validateItems<Item extends Record<string, unknown>>(resource: ListResource<Item>, items: readonly unknown[]): ValidatedPage<Item> {
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
