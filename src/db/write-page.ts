import type postgres from 'postgres';
import type { RejectedItem } from '../api/validate.ts';
import { API_COLUMNS, type PageRow } from './page-rows.ts';

export interface PageWrite {
  runId: number;
  workspace: string;
  /** 1-based page number within the run. */
  page: number;
  rows: PageRow[];
  rejected: RejectedItem[];
  /** Items the page held, valid or not. */
  itemsSeen: number;
  /** Saved with the page so a resumed run continues after it; null when this was the last page. */
  nextCursor: string | null;
  /** Reconciliation only: every id the API listed on this page (rejected items with an id included). */
  seenIds?: string[];
}

export interface PageWriteResult {
  versionsAdded: number;
  versionsAmended: number;
  rowsInserted: number;
  rowsUpdated: number;
}

const names = API_COLUMNS.map(([name]) => name);
const columns = [...names, 'raw'];
const types: Record<string, string> = Object.fromEntries([...API_COLUMNS, ['raw', 'jsonb'] as const]);
const columnList = columns.join(', ');
const prefixed = (alias: string) => columns.map((n) => `${alias}.${n}`).join(', ');
const setFromExcluded = [...names.filter((n) => n !== 'id' && n !== 'last_updated_at_unix'), 'raw']
  .map((n) => `${n} = excluded.${n}`)
  .join(', ');

/**
 * The whole page in one statement, one array parameter per column ($3…):
 * a fixed shape, so one prepared statement whatever the page size, and the
 * fastest input measured (bench/write-candidates.ts, BENCHMARKS.md).
 *
 * - `changed`: the page's versions that are new, or whose content differs
 *   from the stored version with the same timestamp (the API bumped a counter,
 *   not the timestamp). Everything else is dropped here, not by an ON CONFLICT
 *   … WHERE: a conflicting row is locked even when that WHERE is false, which
 *   writes WAL for every unchanged row. Filtered first, an unchanged resync
 *   writes no WAL for the data tables. The probe is LATERAL … LIMIT 1 on the
 *   history primary key, so even a generic plan made on empty tables stays a
 *   probe per row.
 * - history: changed versions are inserted, or amended in place.
 * - batch_calls: only for a page's newest version of an id, and only when
 *   that version changed in history: batch_calls always holds history's
 *   newest version (this one statement writes both), so an unchanged one
 *   could not move it. It moves forward only when the incoming version is
 *   newer, or the same version amended; an older version never wins.
 * The ON CONFLICT clauses stay for what the filter cannot see (another writer
 * in between). `xmax = 0` tells an inserted row from an updated one.
 */
const UPSERT_PAGE = `
WITH input AS (
  SELECT * FROM unnest(${columns.map((c, i) => `$${i + 3}::${types[c]}[]`).join(', ')}) AS t(${columnList})
), changed AS (
  SELECT i.* FROM input i
  LEFT JOIN LATERAL (
    SELECT o.raw FROM batch_call_history o
    WHERE o.workspace = $1 AND o.id = i.id AND o.last_updated_at_unix = i.last_updated_at_unix
    LIMIT 1
  ) o ON true
  WHERE o.raw IS DISTINCT FROM i.raw
), history AS (
  INSERT INTO batch_call_history AS h (workspace, run_id, ${columnList})
  SELECT $1, $2, ${prefixed('i')} FROM changed i
  ON CONFLICT (workspace, id, last_updated_at_unix) DO UPDATE
    SET ${setFromExcluded}, amended_at = now()
    WHERE h.raw IS DISTINCT FROM excluded.raw
  RETURNING (xmax = 0) AS inserted
), latest AS (
  SELECT DISTINCT ON (id) * FROM input ORDER BY id, last_updated_at_unix DESC
), current AS (
  INSERT INTO batch_calls AS c (workspace, ${columnList})
  SELECT $1, ${prefixed('l')} FROM latest l
  WHERE EXISTS (SELECT 1 FROM changed ch WHERE ch.id = l.id AND ch.last_updated_at_unix = l.last_updated_at_unix)
  ON CONFLICT (workspace, id) DO UPDATE
    SET ${setFromExcluded}, last_updated_at_unix = excluded.last_updated_at_unix
    WHERE excluded.last_updated_at_unix > c.last_updated_at_unix
       OR (excluded.last_updated_at_unix = c.last_updated_at_unix AND excluded.raw IS DISTINCT FROM c.raw)
  RETURNING (xmax = 0) AS inserted
)
SELECT
  (SELECT count(*) FILTER (WHERE inserted) FROM history)::int AS "versionsAdded",
  (SELECT count(*) FILTER (WHERE NOT inserted) FROM history)::int AS "versionsAmended",
  (SELECT count(*) FILTER (WHERE inserted) FROM current)::int AS "rowsInserted",
  (SELECT count(*) FILTER (WHERE NOT inserted) FROM current)::int AS "rowsUpdated"
`;

/** One Postgres array literal per column: numbers bare, everything else quoted (jsonb as its JSON text). */
export function columnArrays(rows: PageRow[]): string[] {
  return columns.map((column) => {
    const quote = types[column] !== 'bigint';
    const json = types[column] === 'jsonb';
    const items = rows.map((row) => {
      const value = row[column as keyof PageRow];
      if (value === null || value === undefined) return 'NULL';
      const text = json ? JSON.stringify(value) : String(value);
      return quote ? `"${text.replace(/["\\]/g, '\\$&')}"` : text;
    });
    return `{${items.join(',')}}`;
  });
}

/** Exported for the bench's candidate write paths, which share the page transaction's other statements. */
export const INSERT_REJECTED = `
INSERT INTO rejected_records (run_id, workspace, page, item_id, reason, raw)
SELECT $1, $2, $3, item_id, reason, raw FROM jsonb_to_recordset($4::text::jsonb) AS t(item_id text, reason text, raw text)
`;

const RECORD_SEEN = `
INSERT INTO reconcile_seen (run_id, id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING
`;

export const ADVANCE_RUN = `
UPDATE sync_runs SET
  pages = pages + 1,
  items_seen = items_seen + $2,
  rows_inserted = rows_inserted + $3,
  rows_updated = rows_updated + $4,
  versions_added = versions_added + $5,
  versions_amended = versions_amended + $6,
  rejected = rejected + $7,
  next_cursor = $8
WHERE id = $1 AND status = 'running'
`;

const NOTHING: PageWriteResult = { versionsAdded: 0, versionsAmended: 0, rowsInserted: 0, rowsUpdated: 0 };

/** One page, one transaction: its versions, its rejected items and the run's progress commit together or not at all. */
export async function writePage(sql: postgres.Sql, write: PageWrite): Promise<PageWriteResult> {
  return sql.begin(async (tx) => {
    let result = NOTHING;
    if (write.rows.length > 0) {
      const [row] = await tx.unsafe<PageWriteResult[]>(UPSERT_PAGE, [write.workspace, write.runId, ...columnArrays(write.rows)], { prepare: true });
      result = row ?? NOTHING;
    }
    if (write.rejected.length > 0) {
      const rejected = write.rejected.map((r) => ({ item_id: r.itemId, reason: r.reason, raw: rawText(r.raw) }));
      await tx.unsafe(INSERT_REJECTED, [write.runId, write.workspace, write.page, JSON.stringify(rejected)], { prepare: true });
    }
    if (write.seenIds && write.seenIds.length > 0) {
      await tx.unsafe(RECORD_SEEN, [write.runId, write.seenIds], { prepare: true });
    }
    const advanced = await tx.unsafe(
      ADVANCE_RUN,
      [write.runId, write.itemsSeen, result.rowsInserted, result.rowsUpdated, result.versionsAdded, result.versionsAmended, write.rejected.length, write.nextCursor],
      { prepare: true },
    );
    if (advanced.count !== 1) {
      // The run was closed under us (marked abandoned by another process): do not keep writing into it.
      throw new Error(`sync run ${write.runId} is no longer running; page ${write.page} rolled back`);
    }
    return result;
  });
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
