import type { z } from 'zod';

/** A Postgres type a resource column is stored as; the page write casts its array parameters to these. */
export type ColumnType = 'text' | 'bigint' | 'jsonb';

/**
 * Everything specific to one Threetone list endpoint. The client, the walker,
 * validation and the page write take it as a parameter, so syncing another
 * list endpoint is a new description (plus its tables and migration), not new
 * plumbing. See docs/architecture.md.
 */
export interface ListResource<Item extends Record<string, unknown> = Record<string, unknown>> {
  /** In logs and docs. */
  name: string;
  /** The list endpoint, relative to THREETONE_BASE_URL. */
  path: string;
  /** The field of the page envelope that holds the items. */
  envelopeKey: string;
  /** One item. Unknown fields are kept (they land in `raw`); enum-like fields are plain strings so that a new value never breaks the sync. */
  itemSchema: z.ZodType<Item, unknown>;
  /** The field that identifies an item, and the one that orders its versions (history's key is workspace, id, version). Field names are the column names. */
  idField: string;
  versionField: string;
  /** Unix seconds of the item's creation: with versionField, the two orders a walk checks the list against (src/jobs/list-order.ts). */
  createdField: string;
  /** The API fields stored as columns of both tables, with their types, in the write's order. `raw` (the item as received) comes on top. */
  columns: readonly (readonly [string, ColumnType])[];
  /** Text fields that are part of an index key: validation caps their length, since one over-long value would fail its whole page. */
  keyFields: readonly (string)[];
  /** Integer fields holding unix seconds, stored twice as timestamptz: validation checks they fit. */
  unixSecondsFields: readonly (string)[];
  /** Values the spec lists for enum-like fields: anything else is stored as text and reported once per run. */
  knownValues: Readonly<Record<string, readonly string[]>>;
  /**
   * The current-state table (one row per id) and the history table (one row per version); `live`, when the resource
   * has one, a table (workspace, jobs) of live rows per workspace kept by triggers, read instead of counting them.
   */
  tables: { current: string; history: string; live?: string };
  /** Statuses after which an item never changes again (the incremental stop rule; BI's time to completion). */
  finalStatuses: readonly string[];
}
