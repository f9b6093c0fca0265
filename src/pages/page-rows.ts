import type { ValidItem } from '../domain/items.ts';
import type { ListResource } from '../resources/resource.ts';

/** One version of one item, shaped like a row of the resource's current and history tables: its columns, then `raw`. */
export type PageRow = Record<string, unknown> & { raw: Record<string, unknown> };

/**
 * Rows for one page's write. A page may repeat an id; Postgres refuses to
 * upsert the same key twice in one statement, so versions are collapsed per
 * (id, version), the later occurrence winning.
 */
export function toPageRows<Item extends Record<string, unknown>>(resource: ListResource<Item>, valid: ValidItem<Item>[]): PageRow[] {
  const byVersion = new Map<string, PageRow>();
  for (const { item, raw } of valid) {
    const row: PageRow = { raw };
    for (const [column] of resource.columns) (row as Record<string, unknown>)[column] = item[column] ?? null;
    byVersion.set(`${String(item[resource.idField])}\u0000${String(item[resource.versionField])}`, row);
  }
  return [...byVersion.values()];
}
