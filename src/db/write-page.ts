import type postgres from 'postgres';
import { sourceOf } from '../api/item-source.ts';
import type { RejectedItem } from '../domain/items.ts';
import { findPostgresError } from '../errors/describe-error.ts';
import type { PageRow } from '../pages/page-rows.ts';
import { rejectedRows } from '../pages/rejected-rows.ts';
import { usableId } from '../pages/storable.ts';
import type { ListResource } from '../resources/resource.ts';
import type { RunCounters } from '../domain/run-counters.ts';
import { retryTransaction } from './retry-transaction.ts';
import { advanceRun } from './runs/advance-run.ts';
import { proveOwnership } from './runs/prove-ownership.ts';
import type { RunOwner } from './runs/run-owner.ts';

export interface PageWrite {
  /** Whose tables the rows go to. */
  resource: ListResource;
  owner: RunOwner;
  /** 1-based page number within the run. */
  page: number;
  rows: PageRow[];
  rejected: RejectedItem[];
  /** Items the page held, valid or not. */
  itemsSeen: number;
  /** Saved with the page so a resumed run continues after it; null when this was the last page. */
  nextCursor: string | null;
  /** Every id the API listed on this page, rejected items with a usable id included: such a job is not deleted. */
  listedIds: string[];
  /** Reconciliation: record `listedIds` as seen by this run. */
  recordSeen: boolean;
  /**
   * Incremental: record `listedIds` as seen by the workspace's reconciliation running beside this run, if it began
   * before this attempt opened (so these jobs were listed while it walked). What a sync lists then never counts
   * as deleted, however far the reconciliation's cursor is from the head.
   */
  lendSeen?: boolean;
  /** API requests and retries since the run row was last written, so it shows what a run spent even if it never closes. */
  requests: number;
  retries: number;
}

export interface PageWriteResult {
  versionsAdded: number;
  versionsAmended: number;
  rowsInserted: number;
  rowsUpdated: number;
  /** Jobs marked deleted that this page listed again. */
  undeleted: number;
  /** Items that passed validation but that Postgres refused (see writePage). */
  refused: RejectedItem[];
  /** What this page added to the run's counters. */
  counters: RunCounters;
}

/** Writes a page's rows (both tables) inside the page's transaction. */
export type UpsertRows = (tx: postgres.TransactionSql, target: UpsertTarget, rows: PageRow[]) => Promise<RowCounts>;
export interface UpsertTarget {
  resource: ListResource;
  workspace: string;
  runId: number;
}
export type RowCounts = Pick<PageWriteResult, 'versionsAdded' | 'versionsAmended' | 'rowsInserted' | 'rowsUpdated'>;

/** The SQL of one resource's page write, built once per resource from its column list. */
interface UpsertStatement {
  text: string;
  columns: string[];
  types: Record<string, string>;
}

const statements = new WeakMap<ListResource, UpsertStatement>();

function upsertStatement(resource: ListResource): UpsertStatement {
  let statement = statements.get(resource);
  if (!statement) {
    statement = buildUpsert(resource);
    statements.set(resource, statement);
  }
  return statement;
}

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
 * - current table: only for a page's newest version of an id, and only when
 *   that version changed in history: the current table always holds history's
 *   newest version (this one statement writes both), so an unchanged one
 *   could not move it. It moves forward only when the incoming version is
 *   newer, or the same version amended; an older version never wins.
 * The ON CONFLICT clauses stay for what the filter cannot see (another writer
 * in between). `xmax = 0` tells an inserted row from an updated one.
 *
 * Catalog functions are schema-qualified throughout, so that no function a
 * database user creates in a schema on the search path can stand in for one
 * (CVE-2018-1058). `ROWS FROM (pg_catalog.unnest(…), …)` is what a
 * multi-argument unnest expands to; only the unqualified name gets that
 * expansion, so it is spelled out.
 */
function buildUpsert(resource: ListResource): UpsertStatement {
  const { idField: id, versionField: version } = resource;
  const { current, history } = resource.tables;
  const names = resource.columns.map(([name]) => name);
  const columns = [...names, 'raw'];
  const types: Record<string, string> = Object.fromEntries([...resource.columns, ['raw', 'jsonb'] as const]);
  const columnList = columns.join(', ');
  const prefixed = (alias: string) => columns.map((n) => `${alias}.${n}`).join(', ');
  const setFromExcluded = [...names.filter((n) => n !== id && n !== version), 'raw'].map((n) => `${n} = excluded.${n}`).join(', ');
  const text = `
WITH input AS (
  SELECT * FROM ROWS FROM (${columns.map((c, i) => `pg_catalog.unnest($${i + 3}::${types[c]}[])`).join(', ')}) AS t(${columnList})
), changed AS (
  SELECT i.* FROM input i
  LEFT JOIN LATERAL (
    SELECT o.raw FROM ${history} o
    WHERE o.workspace = $1 AND o.${id} = i.${id} AND o.${version} = i.${version}
    LIMIT 1
  ) o ON true
  WHERE o.raw IS DISTINCT FROM i.raw
), history AS (
  INSERT INTO ${history} AS h (workspace, run_id, ${columnList})
  SELECT $1, $2, ${prefixed('i')} FROM changed i
  ON CONFLICT (workspace, ${id}, ${version}) DO UPDATE
    SET ${setFromExcluded}, amended_at = pg_catalog.now()
    WHERE h.raw IS DISTINCT FROM excluded.raw
  RETURNING (xmax = 0) AS inserted
), latest AS (
  SELECT DISTINCT ON (${id}) * FROM input ORDER BY ${id}, ${version} DESC
), current AS (
  INSERT INTO ${current} AS c (workspace, ${columnList})
  SELECT $1, ${prefixed('l')} FROM latest l
  WHERE EXISTS (SELECT 1 FROM changed ch WHERE ch.${id} = l.${id} AND ch.${version} = l.${version})
  ON CONFLICT (workspace, ${id}) DO UPDATE
    SET ${setFromExcluded}, ${version} = excluded.${version}
    WHERE excluded.${version} > c.${version}
       OR (excluded.${version} = c.${version} AND excluded.raw IS DISTINCT FROM c.raw)
  RETURNING (xmax = 0) AS inserted
)
SELECT
  (SELECT pg_catalog.count(*) FILTER (WHERE inserted) FROM history)::int AS "versionsAdded",
  (SELECT pg_catalog.count(*) FILTER (WHERE NOT inserted) FROM history)::int AS "versionsAmended",
  (SELECT pg_catalog.count(*) FILTER (WHERE inserted) FROM current)::int AS "rowsInserted",
  (SELECT pg_catalog.count(*) FILTER (WHERE NOT inserted) FROM current)::int AS "rowsUpdated"
`;
  return { text, columns, types };
}

/**
 * One Postgres array literal per column: numbers bare, everything else quoted (jsonb as its JSON text). `raw` is
 * the item's text as received when the client kept it (item-source.ts), so jsonb's numeric gets the digits
 * JSON.parse rounded away; else, as for any other jsonb value, its re-serialisation.
 */
export function columnArrays(resource: ListResource, rows: PageRow[]): string[] {
  const { columns, types } = upsertStatement(resource);
  return columns.map((column) => {
    const quote = types[column] !== 'bigint';
    const json = types[column] === 'jsonb';
    const items = rows.map((row) => {
      const value = row[column];
      if (value === null || value === undefined) return 'NULL';
      const text = json ? (sourceOf(value) ?? JSON.stringify(value)) : String(value);
      return quote ? `"${text.replace(/["\\]/g, '\\$&')}"` : text;
    });
    return `{${items.join(',')}}`;
  });
}

/** The adopted way to write a page's rows: the resource's upsert statement with one array per column. */
export const upsertPageRows: UpsertRows = async (tx, { resource, workspace, runId }, rows) => {
  if (rows.length === 0) return NO_ROWS;
  const [row] = await tx.unsafe<RowCounts[]>(upsertStatement(resource).text, [workspace, runId, ...columnArrays(resource, rows)], { prepare: true });
  return row ?? NO_ROWS;
};

/**
 * One row per workspace, item and reason: an item rejected again bumps its
 * count and last sighting (the page's items were collapsed by that key first,
 * since one statement cannot update a row twice).
 */
const UPSERT_REJECTED = `
INSERT INTO rejected_records AS r (run_id, workspace, page, item_id, reason, raw)
SELECT $1, $2, $3, item_id, reason, raw FROM pg_catalog.jsonb_to_recordset($4::text::jsonb) AS t(item_id text, reason text, raw text)
ON CONFLICT (workspace, item_key, reason) DO UPDATE
  SET run_id = excluded.run_id, page = excluded.page, raw = excluded.raw,
      last_seen_at = pg_catalog.now(), times_seen = r.times_seen + 1
`;

/**
 * An item the API lists is not deleted, whatever a reconciliation concluded earlier. Probes the small partial index
 * of deleted rows. Only marks older than this attempt ($3): a sync that listed the page before a reconciliation
 * running beside it marked the job may commit after the mark, and its listing says nothing about the job since.
 */
const undeleteListed = (resource: ListResource) => `
UPDATE ${resource.tables.current} SET deleted_at = NULL
WHERE workspace = $1 AND ${resource.idField} = ANY($2::text[]) AND deleted_at IS NOT NULL AND deleted_at < $3
`;

const RECORD_SEEN = `
INSERT INTO reconcile_seen (run_id, id) SELECT $1, pg_catalog.unnest($2::text[]) ON CONFLICT DO NOTHING
`;

/** Probes sync_runs_running_idx: at most one reconciliation of a workspace runs at a time. */
const LEND_SEEN = `
INSERT INTO reconcile_seen (run_id, id)
SELECT r.id, ids.id FROM sync_runs r, pg_catalog.unnest($2::text[]) AS ids(id)
WHERE r.workspace = $1 AND r.status = 'running' AND r.kind = 'reconcile' AND r.started_at <= $3
ON CONFLICT DO NOTHING
`;


const NO_ROWS: RowCounts = { versionsAdded: 0, versionsAmended: 0, rowsInserted: 0, rowsUpdated: 0 };

/** SQLSTATE classes of errors caused by the data itself (22 data exception, 23 integrity, 54 program limit): another item's write would not repeat them. */
const DATA_ERROR_CLASSES = new Set(['22', '23', '54']);

/**
 * One page, one transaction that first proves this attempt still owns the
 * run: its versions, its rejected items, undeletes, seen ids and the run's
 * progress commit together or not at all.
 *
 * What Postgres can hold is decided before, by preparePage (src/pages/); if
 * Postgres still refuses the page for its data, the page is written again item
 * by item (a savepoint each) so that only the items it refuses go to
 * rejected_records and the walk goes on.
 */
export function pageWriter(upsert: UpsertRows): (sql: postgres.Sql, write: PageWrite) => Promise<PageWriteResult> {
  return async (sql, write) => {
    const target: UpsertTarget = { resource: write.resource, workspace: write.owner.workspace, runId: write.owner.runId };
    try {
      return await writeOnce(sql, write, (tx) => upsert(tx, target, write.rows).then((counts) => ({ counts, refused: [] })));
    } catch (error) {
      if (!isDataError(error)) throw error;
    }
    return writeOnce(sql, write, async (tx) => {
      let counts = NO_ROWS;
      const refused: RejectedItem[] = [];
      for (const row of write.rows) {
        try {
          const one = await tx.savepoint((sp) => upsert(sp, target, [row]));
          counts = addCounts(counts, one);
        } catch (error) {
          const pgError = findPostgresError(error);
          if (!pgError || !isDataError(error)) throw error;
          refused.push({ raw: row.raw, itemId: usableId(row[write.resource.idField]), reason: `Postgres refused it (${pgError.code}: ${pgError.message})` });
        }
      }
      return { counts, refused };
    });
  };
}

export const writePage = pageWriter(upsertPageRows);

async function writeOnce(
  sql: postgres.Sql,
  write: PageWrite,
  writeRows: (tx: postgres.TransactionSql) => Promise<{ counts: RowCounts; refused: RejectedItem[] }>,
): Promise<PageWriteResult> {
  const { owner } = write;
  return retryTransaction(() => sql.begin(async (tx) => {
    await proveOwnership(tx, owner, { lock: false });
    const { counts, refused } = await writeRows(tx);
    const rejected = [...write.rejected, ...refused];
    if (rejected.length > 0) {
      await tx.unsafe(UPSERT_REJECTED, [owner.runId, owner.workspace, write.page, JSON.stringify(rejectedRows(rejected))], { prepare: true });
    }
    let undeleted = 0;
    if (write.listedIds.length > 0) {
      undeleted = (await tx.unsafe(undeleteListed(write.resource), [owner.workspace, write.listedIds, owner.openedAt], { prepare: true })).count;
      if (write.recordSeen) await tx.unsafe(RECORD_SEEN, [owner.runId, write.listedIds], { prepare: true });
      if (write.lendSeen) await tx.unsafe(LEND_SEEN, [owner.workspace, write.listedIds, owner.openedAt], { prepare: true });
    }
    const counters: RunCounters = {
      ...counts,
      pages: 1,
      itemsSeen: write.itemsSeen,
      rejected: rejected.length,
      undeleted,
      requests: write.requests,
      retries: write.retries,
    };
    await advanceRun(tx, owner.runId, counters, { cursor: write.nextCursor });
    return { ...counts, undeleted, refused, counters };
  }) as Promise<PageWriteResult>);
}

function isDataError(error: unknown): boolean {
  const code = findPostgresError(error)?.code;
  return code !== undefined && DATA_ERROR_CLASSES.has(code.slice(0, 2));
}

function addCounts(a: RowCounts, b: RowCounts): RowCounts {
  return {
    versionsAdded: a.versionsAdded + b.versionsAdded,
    versionsAmended: a.versionsAmended + b.versionsAmended,
    rowsInserted: a.rowsInserted + b.rowsInserted,
    rowsUpdated: a.rowsUpdated + b.rowsUpdated,
  };
}
