/**
 * What a run counts, named once. The run row's columns, the progress of a run
 * in flight, its summary, the CLI's tables, the status page, the metrics and
 * the demo all map from here, so a counter is added in one place (plus its
 * column in src/db/schema.ts).
 */
export interface RunCounters {
  /** Pages committed. */
  pages: number;
  /** Items the API sent, valid or not. */
  itemsSeen: number;
  /** New versions written to history, and versions amended in place (same timestamp, new content). */
  versionsAdded: number;
  versionsAmended: number;
  /** Current-state rows inserted and moved forward. */
  rowsInserted: number;
  rowsUpdated: number;
  /** Items set aside (validation, or Postgres refusing them). */
  rejected: number;
  /** Jobs marked deleted that a page listed again. */
  undeleted: number;
  /** API requests and retries. */
  requests: number;
  retries: number;
}

/** Each counter's column in `sync_runs`. */
export const RUN_COUNTER_COLUMNS = {
  pages: 'pages',
  itemsSeen: 'items_seen',
  versionsAdded: 'versions_added',
  versionsAmended: 'versions_amended',
  rowsInserted: 'rows_inserted',
  rowsUpdated: 'rows_updated',
  rejected: 'rejected',
  undeleted: 'undeleted',
  requests: 'requests',
  retries: 'retries',
} as const satisfies Record<keyof RunCounters, string>;

export type RunCounterColumn = (typeof RUN_COUNTER_COLUMNS)[keyof RunCounters];

export const RUN_COUNTERS = Object.keys(RUN_COUNTER_COLUMNS) as (keyof RunCounters)[];

/** Every counter column, for a SELECT. */
export const RUN_COUNTER_COLUMN_LIST: readonly RunCounterColumn[] = RUN_COUNTERS.map((name) => RUN_COUNTER_COLUMNS[name]);

/** Each counter in a person's words (column headers of the status page). */
export const RUN_COUNTER_LABELS = {
  pages: 'Pages',
  itemsSeen: 'Items',
  versionsAdded: 'New versions',
  versionsAmended: 'Amended versions',
  rowsInserted: 'Rows inserted',
  rowsUpdated: 'Rows updated',
  rejected: 'Rejected',
  undeleted: 'Undeleted',
  requests: 'Requests',
  retries: 'Retries',
} as const satisfies Record<keyof RunCounters, string>;

/** The counters a one-line view of a run shows (status tables, the status page), in that order. */
export const SHOWN_COUNTERS = ['pages', 'itemsSeen', 'versionsAdded', 'rejected', 'requests'] as const satisfies readonly (keyof RunCounters)[];

export function emptyCounters(): RunCounters {
  return Object.fromEntries(RUN_COUNTERS.map((name) => [name, 0])) as unknown as RunCounters;
}

export function addCounters(a: RunCounters, b: Partial<RunCounters>): RunCounters {
  return Object.fromEntries(RUN_COUNTERS.map((name) => [name, a[name] + (b[name] ?? 0)])) as unknown as RunCounters;
}

/** The counters under their column names (the CLI and the tables speak snake_case). */
export function counterColumns<K extends keyof RunCounters>(counters: Pick<RunCounters, K>, names: readonly K[]): Record<(typeof RUN_COUNTER_COLUMNS)[K], number> {
  return Object.fromEntries(names.map((name) => [RUN_COUNTER_COLUMNS[name], counters[name]])) as Record<(typeof RUN_COUNTER_COLUMNS)[K], number>;
}

/** A run's counters read from a row that has the counter columns (snake_case). */
export function countersFromRow(row: Record<RunCounterColumn, unknown>): RunCounters {
  return Object.fromEntries(RUN_COUNTERS.map((name) => [name, Number(row[RUN_COUNTER_COLUMNS[name]])])) as unknown as RunCounters;
}
