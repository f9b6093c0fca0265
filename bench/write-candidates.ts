import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type postgres from 'postgres';
import type { PageRow } from '../src/pages/page-rows.ts';
import { batchCalls } from '../src/resources/batch-calls.ts';

const API_COLUMNS = batchCalls.columns;
import { pageWriter, writePage, type PageWrite, type PageWriteResult, type RowCounts, type UpsertRows } from '../src/db/write-page.ts';

/**
 * Ways to write one page's rows, each an UpsertRows wrapped by pageWriter: all
 * share writePage's own transaction (ownership proof, rejected items,
 * undeletes, the run's counters and resume cursor, the item-by-item retry)
 * and differ only in how the rows reach both tables. Except the COPY ceiling,
 * each follows writePage's rules:
 *
 * - history: a new (id, last_updated_at_unix) is inserted; a known one whose
 *   content changed is amended in place (amended_at set); an identical one is
 *   left alone;
 * - batch_calls: moves forward only to a newer version, or to the same
 *   version with amended content; an older version never wins. When a page
 *   holds several versions of one id, only the newest is considered.
 *
 * write-path.ts checks that each one leaves exactly the tables writePage leaves.
 */

export interface Candidate {
  key: string;
  label: string;
  write(sql: postgres.Sql, page: PageWrite): Promise<PageWriteResult>;
  /**
   * How many times the candidate's UpsertRows ran so far (absent for writePage
   * itself): more calls than pages means pageWriter fell back to item-by-item
   * savepoints after a data error, and the figures would not measure the candidate.
   */
  upsertCalls?(): number;
}

/** A candidate: its way of writing the rows inside the real page transaction (pageWriter). */
function candidate(key: string, label: string, upsert: UpsertRows): Candidate {
  let calls = 0;
  return {
    key,
    label,
    write: pageWriter((tx, target, rows) => {
      calls++;
      return rows.length > 0 ? upsert(tx, target, rows) : Promise.resolve(NOTHING);
    }),
    upsertCalls: () => calls,
  };
}

const NAMES = API_COLUMNS.map(([name]) => name);
const COLUMNS = [...NAMES, 'raw'];
const COLUMN_LIST = COLUMNS.join(', ');
const TYPES: Record<string, string> = Object.fromEntries([...API_COLUMNS.map(([n, t]) => [n, t] as const), ['raw', 'jsonb'] as const]);
const JSON_COLUMNS = new Set(COLUMNS.filter((c) => TYPES[c] === 'jsonb'));
const SET_FROM_EXCLUDED = [...NAMES.filter((n) => n !== 'id' && n !== 'last_updated_at_unix'), 'raw'].map((n) => `${n} = excluded.${n}`).join(', ');

const HISTORY_CONFLICT = `ON CONFLICT (workspace, id, last_updated_at_unix) DO UPDATE
    SET ${SET_FROM_EXCLUDED}, amended_at = now()
    WHERE h.raw IS DISTINCT FROM excluded.raw`;
const CURRENT_CONFLICT = `ON CONFLICT (workspace, id) DO UPDATE
    SET ${SET_FROM_EXCLUDED}, last_updated_at_unix = excluded.last_updated_at_unix
    WHERE excluded.last_updated_at_unix > c.last_updated_at_unix
       OR (excluded.last_updated_at_unix = c.last_updated_at_unix AND excluded.raw IS DISTINCT FROM c.raw)`;

/**
 * writePage's statement with its input relation swapped, in one of two forms:
 *
 * - `lock`: writePage before 0c8ca25: every row goes to INSERT … ON CONFLICT
 *   DO UPDATE … WHERE. ON CONFLICT DO UPDATE locks the existing row before it
 *   evaluates that WHERE, and the lock is a WAL record (plus a full-page image
 *   after each checkpoint) even when nothing is updated.
 * - `probe`: unchanged rows filtered out first, by one primary-key probe per
 *   input row into batch_call_history only (LATERAL … LIMIT 1 is not flattened
 *   into a join, and batch_call_history has no index but its primary key, so
 *   even a generic plan made on empty tables probes it). batch_calls is then
 *   written only for the page's newest version of an id when that version is
 *   new or amended in history. That is the decision a look at batch_calls
 *   would make, because batch_calls always holds the newest version history
 *   holds (both are written by this one statement; reconciliation only sets
 *   deleted_at). src/db/write-page.ts (a970977) probes batch_calls as well, and
 *   a generic plan made on an empty batch_calls serves that probe from the
 *   (workspace, created_at_unix) index: a scan of the whole workspace per row.
 *
 * In both forms the ON CONFLICT clauses stay, so a row that appears meanwhile
 * is still handled (and the workspace advisory lock keeps a second writer out).
 */
export type SkipMode = 'lock' | 'probe';

export function mergeStatement(input: string, mode: SkipMode): string {
  const cols = (alias: string) => COLUMNS.map((c) => `${alias}.${c}`).join(', ');
  const historySource = mode === 'probe' ? 'changed i' : 'input i';
  const currentSource =
    mode === 'probe'
      ? `latest l
  WHERE EXISTS (SELECT 1 FROM changed ch WHERE ch.id = l.id AND ch.last_updated_at_unix = l.last_updated_at_unix)`
      : 'latest l';
  const changed =
    mode === 'probe'
      ? `, changed AS (
  SELECT i.* FROM input i
  LEFT JOIN LATERAL (
    SELECT o.raw FROM batch_call_history o
    WHERE o.workspace = $1 AND o.id = i.id AND o.last_updated_at_unix = i.last_updated_at_unix
    LIMIT 1) o ON true
  WHERE o.raw IS DISTINCT FROM i.raw
)`
      : '';
  return `
WITH input AS (
  ${input}
)${changed}, history AS (
  INSERT INTO batch_call_history AS h (workspace, run_id, ${COLUMN_LIST})
  SELECT $1, $2, ${cols('i')}
  FROM ${historySource}
  ${HISTORY_CONFLICT}
  RETURNING (xmax = 0) AS inserted
), latest AS (
  SELECT DISTINCT ON (id) * FROM input ORDER BY id, last_updated_at_unix DESC
), current AS (
  INSERT INTO batch_calls AS c (workspace, ${COLUMN_LIST})
  SELECT $1, ${cols('l')}
  FROM ${currentSource}
  ${CURRENT_CONFLICT}
  RETURNING (xmax = 0) AS inserted
)
SELECT
  (SELECT count(*) FILTER (WHERE inserted) FROM history)::int AS "versionsAdded",
  (SELECT count(*) FILTER (WHERE NOT inserted) FROM history)::int AS "versionsAmended",
  (SELECT count(*) FILTER (WHERE inserted) FROM current)::int AS "rowsInserted",
  (SELECT count(*) FILTER (WHERE NOT inserted) FROM current)::int AS "rowsUpdated"`;
}

const JSONB_INPUT = `SELECT * FROM jsonb_to_recordset($3::text::jsonb) AS t(${[...API_COLUMNS.map(([n, t]) => `${n} ${t}`), 'raw jsonb'].join(', ')})`;
const UNNEST_INPUT = `SELECT * FROM unnest(${COLUMNS.map((c, i) => `$${i + 3}::${TYPES[c]}[]`).join(', ')}) AS t(${COLUMN_LIST})`;
const STAGING_TABLE = 'threetone_page_in';
const STAGING_INPUT = `SELECT * FROM ${STAGING_TABLE}`;
const CREATE_STAGING = `CREATE TEMP TABLE IF NOT EXISTS ${STAGING_TABLE} (${COLUMNS.map((c) => `${c} ${TYPES[c]}`).join(', ')}) ON COMMIT DELETE ROWS`;

const NOTHING: RowCounts = { versionsAdded: 0, versionsAmended: 0, rowsInserted: 0, rowsUpdated: 0 };

// ------------------------------------------------------------------ encoders

/** The newest version of each id in the page (what writePage's DISTINCT ON keeps). */
export function latestPerId(rows: PageRow[]): PageRow[] {
  const latest = new Map<unknown, PageRow>();
  for (const row of rows) {
    const seen = latest.get(row.id);
    if (!seen || Number(row.last_updated_at_unix) > Number(seen.last_updated_at_unix)) latest.set(row.id, row);
  }
  return [...latest.values()];
}

/** A column value as text for Postgres: JSON columns stringified, numbers and strings as they are. */
function textOf(column: string, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (JSON_COLUMNS.has(column)) return JSON.stringify(value);
  return String(value);
}

/**
 * A value as a postgres.js parameter. Prepared statements are described
 * first, so postgres.js serializes by the server's parameter type: jsonb
 * columns take the object itself (a JSON string would be stored as a JSON
 * string, i.e. encoded twice).
 */
function paramOf(row: PageRow, column: string): postgres.ParameterOrJSON<never> {
  const value = row[column as keyof PageRow];
  return (value ?? null) as postgres.ParameterOrJSON<never>;
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One COPY text-format line. */
function copyLine(values: (string | null)[]): string {
  return `${values.map((v) => (v === null ? '\\N' : COPY_SPECIAL.test(v) ? v.replace(/[\\\n\r\t]/g, (c) => COPY_ESCAPES[c] as string) : v)).join('\t')}\n`;
}

function copyText(rows: PageRow[], prefix: (string | null)[]): string {
  let text = '';
  for (const row of rows) text += copyLine([...prefix, ...COLUMNS.map((c) => textOf(c, row[c as keyof PageRow]))]);
  return text;
}

async function copyInto(tx: postgres.TransactionSql, table: string, columns: string, text: string): Promise<void> {
  const stream = await tx.unsafe(`COPY ${table} (${columns}) FROM STDIN`).writable();
  await pipeline(Readable.from([Buffer.from(text)]), stream);
}

/** A Postgres array literal; numbers unquoted, everything else quoted. */
function arrayLiteral(values: (string | null)[], quote: boolean): string {
  return `{${values.map((v) => (v === null ? 'NULL' : quote ? `"${v.replace(/["\\]/g, '\\$&')}"` : v)).join(',')}}`;
}

// ---------------------------------------------------------------- candidates

/** (a–c) The current write path, called as sync-run.ts calls it. */
export const currentWritePage: Candidate = { key: 'writePage', label: 'writePage (current)', write: writePage };

/** (d) COPY straight into both tables: no conflict handling (empty tables only), a ceiling. */
export const copyCeiling = candidate('copy', 'COPY, no merge (ceiling)', async (tx, { workspace, runId }, rows) => {
  const latest = latestPerId(rows);
  await copyInto(tx, 'batch_call_history', `workspace, run_id, ${COLUMN_LIST}`, copyText(rows, [workspace, String(runId)]));
  await copyInto(tx, 'batch_calls', `workspace, ${COLUMN_LIST}`, copyText(latest, [workspace]));
  return { versionsAdded: rows.length, versionsAmended: 0, rowsInserted: latest.length, rowsUpdated: 0 };
});

const NAIVE_HISTORY = `
INSERT INTO batch_call_history AS h (workspace, run_id, ${COLUMN_LIST})
VALUES ($1, $2, ${COLUMNS.map((_, i) => `$${i + 3}`).join(', ')})
${HISTORY_CONFLICT}
RETURNING (xmax = 0) AS inserted`;
const NAIVE_CURRENT = `
INSERT INTO batch_calls AS c (workspace, ${COLUMN_LIST})
VALUES ($1, ${COLUMNS.map((_, i) => `$${i + 2}`).join(', ')})
${CURRENT_CONFLICT}
RETURNING (xmax = 0) AS inserted`;

/** (e) One INSERT … ON CONFLICT per row per table, each awaited: what a first version often looks like. */
export const naiveRowAtATime = candidate('naive', 'row-at-a-time upsert', async (tx, { workspace, runId }, rows) => {
  const result = { ...NOTHING };
  for (const row of rows) {
    const values = COLUMNS.map((c) => paramOf(row, c));
    const [r] = await tx.unsafe<{ inserted: boolean }[]>(NAIVE_HISTORY, [workspace, runId, ...values], { prepare: true });
    if (r) r.inserted ? result.versionsAdded++ : result.versionsAmended++;
  }
  for (const row of latestPerId(rows)) {
    const values = COLUMNS.map((c) => paramOf(row, c));
    const [r] = await tx.unsafe<{ inserted: boolean }[]>(NAIVE_CURRENT, [workspace, ...values], { prepare: true });
    if (r) r.inserted ? result.rowsInserted++ : result.rowsUpdated++;
  }
  return result;
});

/** (f) Multi-row INSERT … VALUES (…),(…) ON CONFLICT through postgres.js's `sql(rows, columns)` helper; both tables' statements pipelined. */
export const multiRowValues = candidate('values', 'multi-row VALUES', async (tx, { workspace, runId }, rows) => {
  const withColumns = (row: PageRow, extra: Record<string, string | number>) => {
    const out: Record<string, postgres.ParameterOrJSON<never>> = { ...extra };
    for (const c of COLUMNS) out[c] = paramOf(row, c);
    return out;
  };
  const history = rows.map((r) => withColumns(r, { workspace, run_id: runId }));
  const current = latestPerId(rows).map((r) => withColumns(r, { workspace }));
  // No table alias before the helper: postgres.js picks the helper's form from the last keyword before it (`AS` would win over `INSERT`).
  const [h, c] = await Promise.all([
    tx<{ added: number; amended: number }[]>`
      WITH r AS (
        INSERT INTO batch_call_history ${tx(history, ['workspace', 'run_id', ...COLUMNS])}
        ${tx.unsafe(HISTORY_CONFLICT.replace(/\bh\.raw/g, 'batch_call_history.raw'))}
        RETURNING (xmax = 0) AS inserted)
      SELECT count(*) FILTER (WHERE inserted)::int AS added, count(*) FILTER (WHERE NOT inserted)::int AS amended FROM r`,
    tx<{ added: number; amended: number }[]>`
      WITH r AS (
        INSERT INTO batch_calls ${tx(current, ['workspace', ...COLUMNS])}
        ${tx.unsafe(CURRENT_CONFLICT.replace(/\bc\./g, 'batch_calls.'))}
        RETURNING (xmax = 0) AS inserted)
      SELECT count(*) FILTER (WHERE inserted)::int AS added, count(*) FILTER (WHERE NOT inserted)::int AS amended FROM r`,
  ]);
  return { versionsAdded: h[0]?.added ?? 0, versionsAmended: h[0]?.amended ?? 0, rowsInserted: c[0]?.added ?? 0, rowsUpdated: c[0]?.amended ?? 0 };
});

function unnestCandidate(key: string, label: string, mode: SkipMode): Candidate {
  const statement = mergeStatement(UNNEST_INPUT, mode);
  return candidate(key, label, async (tx, { workspace, runId }, rows) => {
    const arrays = COLUMNS.map((c) => arrayLiteral(rows.map((r) => textOf(c, r[c as keyof PageRow])), TYPES[c] !== 'bigint'));
    const [row] = await tx.unsafe<RowCounts[]>(statement, [workspace, runId, ...arrays], { prepare: true });
    return row ?? NOTHING;
  });
}

/** (g) One array parameter per column, unnest()ed into the original statement. */
export const unnestArrays = unnestCandidate('unnest', 'unnest arrays', 'lock');
/** (g') The same, unchanged rows skipped by primary-key probes. */
export const unnestArraysProbe = unnestCandidate('unnest+probe', 'unnest arrays + PK-probe skip', 'probe');

const STAGING_MERGE = mergeStatement(STAGING_INPUT, 'probe');

/**
 * (h) COPY into a temporary staging table, then one set-based merge (writePage's rules, unchanged rows skipped).
 * The staging rows go at commit: fit for one call per transaction only (pageWriter's item-by-item retry would
 * merge earlier items again; write-path.ts fails a candidate whose upsert ran more than once per page).
 */
export const stagingCopyMerge = candidate('staging', 'COPY to temp table + merge', async (tx, { workspace, runId }, rows) => {
  await tx.unsafe(CREATE_STAGING);
  await copyInto(tx, STAGING_TABLE, COLUMN_LIST, copyText(rows, []));
  const [row] = await tx.unsafe<RowCounts[]>(STAGING_MERGE, [workspace, runId], { prepare: true });
  return row ?? NOTHING;
});

function jsonbCandidate(key: string, label: string, mode: SkipMode): Candidate {
  const statement = mergeStatement(JSONB_INPUT, mode);
  return candidate(key, label, async (tx, { workspace, runId }, rows) => {
    const [row] = await tx.unsafe<RowCounts[]>(statement, [workspace, runId, JSON.stringify(rows)], { prepare: true });
    return row ?? NOTHING;
  });
}

/** writePage as it was before 0c8ca25: no filter, every conflicting row locked. */
export const jsonbLock = jsonbCandidate('jsonb+lock', 'writePage before 0c8ca25 (no filter)', 'lock');
/** (i) writePage's jsonb parameter with the PK-probe filter: the smallest change to src/db/write-page.ts. */
export const jsonbProbe = jsonbCandidate('jsonb+probe', 'writePage + PK-probe skip', 'probe');
