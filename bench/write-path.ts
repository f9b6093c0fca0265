import type postgres from 'postgres';
import { Dataset } from '../src/simulator/dataset.ts';
import { validateItems } from '../src/pages/validate.ts';
import { toPageRows, type PageRow } from '../src/pages/page-rows.ts';
import { batchCalls } from '../src/resources/batch-calls.ts';
import { finishRun } from '../src/db/runs/finish-run.ts';
import type { RowCounts } from '../src/db/write-page.ts';
import { benchClient, createBenchDatabase, ownRun } from './support.ts';
import { formatBytes, formatRate, info, rate, ratioAtLeast, type BenchResult, type Figure } from './report.ts';
import {
  copyCeiling,
  currentWritePage,
  jsonbLock,
  jsonbProbe,
  multiRowValues,
  naiveRowAtATime,
  stagingCopyMerge,
  unnestArrays,
  unnestArraysProbe,
  type Candidate,
} from './write-candidates.ts';

/**
 * The write path alone: pages of rows prepared in advance (the simulator's
 * generator → validateItems → toPageRows, as in a sync), written one
 * transaction per page, one page at a time, by each candidate in turn.
 * Phases: (a) first load, (b) the same pages again (unchanged resync),
 * (c) the pages with ~10% of items changed.
 *
 * Every candidate runs in a database of its own, fresh from the migrations:
 * its first load meets never-analyzed tables, as the first sync of a new
 * install does. Before each phase: CHECKPOINT, so every phase pays the
 * full-page images a production resync pays (checkpoint_timeout 5 min ≈ the
 * sync interval); after the first load: VACUUM ANALYZE, as autovacuum would
 * have done by the next sync.
 */

export interface WritePathOptions {
  adminUrl: string;
  /** Items per workload for every candidate but the naive one. */
  items?: number;
  /** The row-at-a-time candidate is an order of magnitude slower: it gets a smaller workload (and its own writePage reference). */
  naiveItems?: number;
}

const WORKSPACE = 'bench';
const PAGE_SIZE = 500;
type Phase = 'first' | 'unchanged' | 'changed';
const PHASES: Phase[] = ['first', 'unchanged', 'changed'];

export interface Workload {
  label: string;
  first: PageRow[][];
  changed: PageRow[][];
  changedItems: number;
}

/** A walk's PageWriteResults summed (refused: how many items Postgres refused, 0 for every candidate on this workload). */
type Totals = RowCounts & { undeleted: number; refused: number };

interface PhaseOutcome {
  ms: number;
  rows: number;
  totals: Totals;
  fingerprint: string;
  wal?: WalFigures;
  tuples?: TupleCounts;
}

interface WalFigures {
  /** Everything written between the phase's first and last page (sync_runs and commits included). */
  totalBytes: number;
  /** Records touching batch_calls, batch_call_history, their indexes or TOAST (pg_walinspect), or null without the extension. */
  dataBytes: number | null;
  dataRecords: number | null;
}

interface TupleCounts {
  inserted: number;
  updated: number;
  deleted: number;
}

type Outcomes = Partial<Record<Phase, PhaseOutcome>>;

/** BENCH_DEBUG=1: each step's duration on stderr. */
const debug = process.env.BENCH_DEBUG ? (message: string) => process.stderr.write(`[write-path] ${message}\n`) : () => undefined;

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    debug(`${label}: ${Math.round(performance.now() - started)} ms`);
  }
}

export async function measureWritePath(options: WritePathOptions): Promise<BenchResult> {
  const items = options.items ?? 20_000;
  const naiveItems = options.naiveItems ?? 5_000;
  const failures: string[] = [];
  const main = buildWorkload('main', items, 11);
  const small = buildWorkload('small', naiveItems, 12);
  const ctx: RunContext = { adminUrl: options.adminUrl };

  // The very first load after a while runs up to ~2x slower (WAL segments are created rather than recycled):
  // one discarded run first, so that every measured run starts from the same state.
  const cold = await runCandidate(ctx, currentWritePage, { ...main, first: main.first.slice(0, 20) }, ['first']);
  // Runs compared by a target are kept next to each other: the machine's load drifts.
  const reference = await runCandidate(ctx, currentWritePage, main, PHASES);
  const offCommit = await runCandidate({ ...ctx, connection: { synchronous_commit: 'off' } }, currentWritePage, main, ['first']);
  const copy = await runCandidate(ctx, copyCeiling, main, ['first']);
  const smallReference = await runCandidate(ctx, currentWritePage, small, ['first']);
  const naive = await runCandidate(ctx, naiveRowAtATime, small, ['first']);
  const runs: { candidate: Candidate; outcomes: Outcomes }[] = [];
  for (const candidate of [jsonbLock, multiRowValues, unnestArrays, unnestArraysProbe, stagingCopyMerge, jsonbProbe]) {
    runs.push({ candidate, outcomes: await runCandidate(ctx, candidate, main, PHASES) });
  }

  const nagle = await copyNagle(ctx, main);
  const stability = [
    { candidate: currentWritePage, ...(await planStability(ctx, currentWritePage, main)) },
    { candidate: unnestArraysProbe, ...(await planStability(ctx, unnestArraysProbe, main)) },
  ];

  // Correctness: every candidate leaves exactly writePage's tables and counters after every phase it ran.
  const compare = (label: string, outcomes: Outcomes, ref: Outcomes) => {
    for (const phase of PHASES) {
      const mine = outcomes[phase];
      const theirs = ref[phase];
      if (!mine || !theirs) continue;
      const tablesDiffer = mine.fingerprint !== '' && theirs.fingerprint !== '' && mine.fingerprint !== theirs.fingerprint;
      if (tablesDiffer || JSON.stringify(mine.totals) !== JSON.stringify(theirs.totals)) {
        failures.push(
          `write path: ${label} after the ${phase} phase differs from writePage (counts ${JSON.stringify(mine.totals)} vs ${JSON.stringify(theirs.totals)}; tables ${tablesDiffer ? 'differ' : 'equal'})`,
        );
      }
    }
  };
  for (const { candidate, outcomes } of runs) compare(candidate.label, outcomes, reference);
  compare(copyCeiling.label, copy, reference);
  compare('writePage with synchronous_commit=off', offCommit, reference);
  compare(naiveRowAtATime.label, naive, smallReference);

  const figures = figuresOf({ main, small, cold, reference, runs, copy, offCommit, smallReference, naive, failures });
  figures.push(
    info(
      'write: COPY page without / with TCP_NODELAY',
      `${nagle.nagleMs.toFixed(0)} / ${nagle.noDelayMs.toFixed(0)} ms per page (2 COPYs; median of 10)`,
      'info (Nagle + delayed ACK)',
    ),
  );
  for (const { candidate, firstMs, lastMs, pages } of stability) {
    const ratio = firstMs > 0 ? lastMs / firstMs : 0;
    figures.push({
      figure: `write: plan made on empty tables, ${candidate.label}`,
      value: `${firstMs.toFixed(0)} -> ${lastMs.toFixed(0)} ms/page (first/last ${EDGE_PAGES} of ${pages} after TRUNCATE)`,
      target: '<= 2x (no growth)',
      verdict: `${ratio.toFixed(2)}x ${ratio <= 2 ? 'ok' : 'MISS'}`,
    });
  }
  return { figures, failures };
}

// ------------------------------------------------------------------ workload

/**
 * Pages as a sync would see them. The changed pages alter ~10% of items:
 * 5% get a new version (timestamp + 1 h), 4% are amended in place (same
 * timestamp, retry_count + 1), 1% come back as an older version (served
 * late: must land in history, never in batch_calls); and 1 item in 200 is
 * listed twice in its page, old and new version together.
 */
export function buildWorkload(label: string, items: number, seed: number): Workload {
  const now = 1_750_000_000;
  const dataset = new Dataset({ items, seed, drift: {}, now: () => now });
  const rawPages: Record<string, unknown>[][] = [];
  let after: { t: number; id: string } | null = null;
  for (;;) {
    const page = dataset.page(PAGE_SIZE, after, true);
    rawPages.push(page.items as Record<string, unknown>[]);
    if (!page.hasMore || !page.nextKey) break;
    after = page.nextKey;
  }
  let index = 0;
  let changedItems = 0;
  const changedPages = rawPages.map((page) =>
    page.flatMap((raw) => {
      const k = index++ % 200;
      const updated = Number(raw.last_updated_at_unix);
      const retries = Number(raw.retry_count ?? 0);
      if (k % 20 === 0) {
        changedItems++;
        const next = { ...raw, last_updated_at_unix: updated + 3600, retry_count: retries + 1 };
        return k === 0 ? [raw, next] : [next];
      }
      if (k % 25 === 1) {
        changedItems++;
        return [{ ...raw, retry_count: retries + 1 }];
      }
      if (k % 100 === 2) {
        changedItems++;
        return [{ ...raw, last_updated_at_unix: updated - 1, retry_count: retries + 2 }];
      }
      return [raw];
    }),
  );
  const toRows = (page: unknown[]) => {
    const { valid, rejected } = validateItems(batchCalls, page);
    if (rejected.length > 0) throw new Error(`bench workload: ${rejected.length} items rejected (${rejected[0]?.reason})`);
    return toPageRows(batchCalls, valid);
  };
  return { label, first: rawPages.map(toRows), changed: changedPages.map(toRows), changedItems };
}

// -------------------------------------------------------------------- runner

interface RunContext {
  adminUrl: string;
  /** Startup parameters of the writing session. */
  connection?: Record<string, string>;
}

async function runCandidate(ctx: RunContext, candidate: Candidate, workload: Workload, phases: Phase[]): Promise<Outcomes> {
  const bench = await createBenchDatabase(ctx.adminUrl, 'write');
  // One connection: pages are written one at a time, and the tuple counters are flushed from that connection.
  const sql = benchClient(bench.url, { noDelay: true, connection: ctx.connection });
  try {
    const walInspect = phases.includes('unchanged') && (await succeeds(sql`create extension if not exists pg_walinspect`));
    const canCheckpoint = await succeeds(sql`checkpoint`);
    const outcomes: Outcomes = {};
    for (const phase of phases) {
      const last = phase === phases[phases.length - 1];
      if (phase === 'unchanged') await timed('vacuum analyze', () => sql`vacuum analyze batch_calls, batch_call_history`);
      if (canCheckpoint) await timed('checkpoint', () => sql`checkpoint`);
      const pages = phase === 'changed' ? workload.changed : workload.first;
      const measured = phase === 'unchanged';
      // A physical slot keeps the phase's WAL on disk until pg_walinspect has read it (a checkpoint may otherwise recycle it).
      const slot = measured && walInspect ? await reserveWal(sql) : null;
      const nodes = slot ? await dataRelations(sql) : null;
      const tuplesBefore = measured ? await tupleCounts(sql) : null;
      const [lsn] = await sql<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;

      const { pageMs: _pageMs, ...run } = await timed(`${candidate.key} ${workload.label} ${phase}`, () => walk(sql, bench.url, candidate, pages));

      const [lsnAfter] = await sql<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;
      // Compared after the first load and after the last phase (per-phase counts are compared too).
      const outcome: PhaseOutcome = { ...run, fingerprint: phase === 'first' || last ? await timed('fingerprint', () => fingerprint(sql)) : '' };
      if (measured && lsn && lsnAfter) {
        const [total] = await sql<{ bytes: string }[]>`select pg_wal_lsn_diff(${lsnAfter.lsn}::pg_lsn, ${lsn.lsn}::pg_lsn)::bigint::text as bytes`;
        const data = nodes ? await dataWal(sql, lsn.lsn, lsnAfter.lsn, nodes).catch((error: unknown) => (debug(`pg_walinspect: ${String(error)}`), null)) : null;
        await slot?.release();
        outcome.wal = { totalBytes: Number(total?.bytes ?? 0), dataBytes: data?.bytes ?? null, dataRecords: data?.records ?? null };
        const after = await tupleCounts(sql);
        if (tuplesBefore) {
          outcome.tuples = {
            inserted: after.inserted - tuplesBefore.inserted,
            updated: after.updated - tuplesBefore.updated,
            deleted: after.deleted - tuplesBefore.deleted,
          };
        }
      }
      outcomes[phase] = outcome;
    }
    return outcomes;
  } finally {
    await sql.end({ timeout: 5 });
    await bench.drop();
  }
}

/**
 * A prepared statement's generic plan made while the tables were empty must
 * stay fast once they are large. Provoked on purpose: a warm connection (past
 * its five custom plans), TRUNCATE (which invalidates the plan), then a load:
 * the next execution re-plans on empty, never-analyzed tables and that plan
 * serves every later page. Returns the median page time of the first and the
 * last `EDGE_PAGES` pages.
 */
async function planStability(ctx: RunContext, candidate: Candidate, workload: Workload): Promise<{ firstMs: number; lastMs: number; pages: number }> {
  const bench = await createBenchDatabase(ctx.adminUrl, 'plan');
  const sql = benchClient(bench.url, { noDelay: true });
  try {
    await walk(sql, bench.url, candidate, workload.first.slice(0, 6), 'warmup');
    await sql`truncate batch_calls, batch_call_history, rejected_records, sync_runs restart identity cascade`;
    const pages = workload.first.slice(0, STABILITY_PAGES);
    const { pageMs } = await timed(`${candidate.key} plan stability`, () => walk(sql, bench.url, candidate, pages));
    return { firstMs: median(pageMs.slice(0, EDGE_PAGES)), lastMs: median(pageMs.slice(-EDGE_PAGES)), pages: pages.length };
  } finally {
    await sql.end({ timeout: 5 });
    await bench.drop();
  }
}

/**
 * postgres.js writes each CopyData message, then CopyDone, straight to the
 * socket; with Nagle's algorithm on, the small CopyDone waits for the
 * server's delayed ACK. Median page time of the COPY ceiling with a plain
 * socket and with TCP_NODELAY (support.ts noDelaySocketOption).
 */
async function copyNagle(ctx: RunContext, workload: Workload): Promise<{ nagleMs: number; noDelayMs: number }> {
  const bench = await createBenchDatabase(ctx.adminUrl, 'nagle');
  const noDelay = benchClient(bench.url, { noDelay: true });
  const plain = benchClient(bench.url);
  try {
    const pages = workload.first.slice(0, 10);
    const fast = await walk(noDelay, bench.url, copyCeiling, pages, 'nodelay');
    const slow = await walk(plain, bench.url, copyCeiling, pages, 'nagle');
    return { nagleMs: median(slow.pageMs), noDelayMs: median(fast.pageMs) };
  } finally {
    await noDelay.end({ timeout: 5 });
    await plain.end({ timeout: 5 });
    await bench.drop();
  }
}

const STABILITY_PAGES = 24;
const EDGE_PAGES = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function succeeds(query: Promise<unknown>): Promise<boolean> {
  return query.then(
    () => true,
    () => false,
  );
}

/**
 * One run, opened and closed as runSync does (the workspace lock on a session
 * of its own from `url`, a run owned by a fresh token, finishRun), then every
 * page through the candidate, timed (the lock and the run's opening and
 * closing are not).
 */
async function walk(
  sql: postgres.Sql,
  url: string,
  candidate: Candidate,
  pages: PageRow[][],
  workspace = WORKSPACE,
): Promise<{ ms: number; rows: number; totals: Totals; pageMs: number[] }> {
  const run = await ownRun(sql, url, workspace);
  try {
    const { owner } = run;
    const totals: Totals = { versionsAdded: 0, versionsAmended: 0, rowsInserted: 0, rowsUpdated: 0, undeleted: 0, refused: 0 };
    const upsertsBefore = candidate.upsertCalls?.();
    let rows = 0;
    const started = performance.now();
    const pageMs: number[] = [];
    for (let i = 0; i < pages.length; i++) {
      const page = pages[i] as PageRow[];
      const pageStarted = performance.now();
      const result = await candidate.write(sql, {
        resource: batchCalls,
        owner,
        page: i + 1,
        rows: page,
        rejected: [],
        itemsSeen: page.length,
        nextCursor: i + 1 < pages.length ? `cursor-${i + 1}` : null,
        listedIds: page.map((row) => String(row.id)),
        recordSeen: false,
        requests: 1,
        retries: 0,
      });
      totals.versionsAdded += result.versionsAdded;
      totals.versionsAmended += result.versionsAmended;
      totals.rowsInserted += result.rowsInserted;
      totals.rowsUpdated += result.rowsUpdated;
      totals.undeleted += result.undeleted;
      totals.refused += result.refused.length;
      rows += page.length;
      pageMs.push(performance.now() - pageStarted);
    }
    const ms = performance.now() - started;
    // pageWriter retries a page item by item after a data error: the figures would then not be this candidate's way of writing.
    const upserts = upsertsBefore === undefined ? undefined : (candidate.upsertCalls?.() ?? 0) - upsertsBefore;
    if (upserts !== undefined && upserts !== pages.length) {
      throw new Error(`${candidate.label}: ${upserts} upserts for ${pages.length} pages (pageWriter fell back to item by item after a data error)`);
    }
    if (pageMs.length > 0) {
      const sorted = [...pageMs].sort((x, y) => x - y);
      const q = (f: number) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))]?.toFixed(0);
      debug(`${candidate.key} pages ms: min ${q(0)} p25 ${q(0.25)} median ${q(0.5)} p75 ${q(0.75)} p90 ${q(0.9)} max ${q(0.999)}`);
    }
    await finishRun(sql, owner, { status: 'succeeded', error: null, requests: 0, retries: 0, stopReason: 'end', resumable: true });
    return { ms, rows, totals, pageMs };
  } finally {
    await run.release();
  }
}

/**
 * Both data tables and the run rows, minus clock readings (observed_at,
 * first_seen_at, amended_at's value): an order-independent sum of row hashes.
 */
async function fingerprint(sql: postgres.Sql): Promise<string> {
  const [row] = await sql<{ history: string; current: string; runs: string; n: number; m: number }[]>`
    select
      (select coalesce(sum(hashtextextended(row(workspace, id, phone_number_id, phone_provider, whatsapp_params, name, agent_id,
                created_at_unix, scheduled_time_unix, total_calls_dispatched, total_calls_scheduled, total_calls_finished,
                last_updated_at_unix, status, retry_count, agent_name, created_at, scheduled_time, last_updated_at, raw,
                run_id, amended_at is not null)::text, 0)::numeric), 0)::text
       from batch_call_history) as history,
      (select coalesce(sum(hashtextextended(row(workspace, id, phone_number_id, phone_provider, whatsapp_params, name, agent_id,
                created_at_unix, scheduled_time_unix, total_calls_dispatched, total_calls_scheduled, total_calls_finished,
                last_updated_at_unix, status, retry_count, agent_name, created_at, scheduled_time, last_updated_at, raw,
                deleted_at)::text, 0)::numeric), 0)::text
       from batch_calls) as current,
      (select coalesce(sum(hashtextextended(row(id, workspace, kind, status, pages, items_seen, rows_inserted, rows_updated,
                versions_added, versions_amended, rejected, next_cursor)::text, 0)::numeric), 0)::text
       from sync_runs) as runs,
      (select count(*) from batch_call_history)::int as n,
      (select count(*) from batch_calls)::int as m`;
  return row ? `${row.history}/${row.current}/${row.runs}/${row.n}/${row.m}` : 'none';
}

async function reserveWal(sql: postgres.Sql): Promise<{ release(): Promise<void> } | null> {
  const name = `threetone_bench_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  try {
    await sql`select pg_create_physical_replication_slot(${name}, true)`;
  } catch (error) {
    debug(`no replication slot: ${String(error)}`);
    return null;
  }
  return { release: async () => void (await sql`select pg_drop_replication_slot(${name})`) };
}

/** Database OID and relfilenodes of the data tables, their indexes and TOAST (they change at every TRUNCATE). */
async function dataRelations(sql: postgres.Sql): Promise<{ db: string; nodes: string[] }> {
  const [row] = await sql<{ db: string; nodes: string[] }[]>`
    with tables as (
      select oid, reltoastrelid from pg_class
      where relname in ('batch_calls', 'batch_call_history') and relnamespace = 'public'::regnamespace
    ), rels as (
      select oid from tables
      union select indexrelid from pg_index where indrelid in (select oid from tables)
      union select reltoastrelid from tables where reltoastrelid <> 0
      union select indexrelid from pg_index where indrelid in (select reltoastrelid from tables where reltoastrelid <> 0)
    )
    select (select oid::text from pg_database where datname = current_database()) as db,
           array_agg(pg_relation_filenode(oid)::text) as nodes
    from rels`;
  if (!row) throw new Error('no data relations found');
  return row;
}

/** WAL records between two LSNs that reference a block of one of `rels` (pg_walinspect). */
async function dataWal(sql: postgres.Sql, from: string, to: string, rels: { db: string; nodes: string[] }): Promise<{ bytes: number; records: number }> {
  const [row] = await sql<{ bytes: string; records: number }[]>`
    select coalesce(sum(record_length), 0)::bigint::text as bytes, count(*)::int as records
    from pg_get_wal_records_info(${from}::pg_lsn, ${to}::pg_lsn) r
    where exists (
      select 1 from regexp_matches(coalesce(r.block_ref, ''), 'rel \\d+/(\\d+)/(\\d+)', 'g') as m
      where m[1] = ${rels.db} and m[2] = any(${rels.nodes}::text[]))`;
  return { bytes: Number(row?.bytes ?? 0), records: row?.records ?? 0 };
}

/** Rows inserted/updated/deleted in the data tables, as pg_stat_user_tables sees them once this connection flushed its counters. */
async function tupleCounts(sql: postgres.Sql): Promise<TupleCounts> {
  // The flush happens when this backend next goes idle, i.e. before the following statement runs.
  await sql`select pg_stat_force_next_flush()`;
  await sql`select pg_stat_clear_snapshot()`;
  const [row] = await sql<{ ins: string; upd: string; del: string }[]>`
    select coalesce(sum(n_tup_ins), 0)::text as ins, coalesce(sum(n_tup_upd), 0)::text as upd, coalesce(sum(n_tup_del), 0)::text as del
    from pg_stat_user_tables where relname in ('batch_calls', 'batch_call_history')`;
  return { inserted: Number(row?.ins ?? 0), updated: Number(row?.upd ?? 0), deleted: Number(row?.del ?? 0) };
}

// ------------------------------------------------------------------- figures

interface AllOutcomes {
  main: Workload;
  small: Workload;
  cold: Outcomes;
  reference: Outcomes;
  runs: { candidate: Candidate; outcomes: Outcomes }[];
  copy: Outcomes;
  offCommit: Outcomes;
  smallReference: Outcomes;
  naive: Outcomes;
  failures: string[];
}

function rateOf(outcome: PhaseOutcome | undefined): number {
  return outcome ? rate(outcome.rows, outcome.ms) : 0;
}

function kRate(outcome: PhaseOutcome | undefined): string {
  return outcome ? `${(rateOf(outcome) / 1000).toFixed(1)}k` : '-';
}

function walText(wal: WalFigures | undefined): string {
  if (!wal) return '-';
  return wal.dataBytes === null ? `${formatBytes(wal.totalBytes)} (all WAL)` : formatBytes(wal.dataBytes);
}

function figuresOf(o: AllOutcomes): Figure[] {
  const ref = o.reference;
  const first = rateOf(ref.first);
  const unchanged = rateOf(ref.unchanged);
  const changed = rateOf(ref.changed);
  const copyRate = rateOf(o.copy.first);
  const naiveRate = rateOf(o.naive.first);
  const smallRef = rateOf(o.smallReference.first);
  const offRate = rateOf(o.offCommit.first);
  const mainRows = ref.first?.rows ?? 0;
  const wal = ref.unchanged?.wal;
  const tuples = ref.unchanged?.tuples;
  const figures: Figure[] = [
    info('write: workload', `${o.main.first.length} pages, ${mainRows.toLocaleString('en-US')} rows; changed resync alters ${o.main.changedItems.toLocaleString('en-US')} items`),
    info('write: writePage first load, fresh database (discarded)', formatRate(rateOf(o.cold.first))),
    info('write (a) writePage first load', formatRate(first)),
    ratioAtLeast('write (b) writePage unchanged resync', formatRate(unchanged), first > 0 ? unchanged / first : 0, 2, 'first load'),
    info('write (c) writePage 10%-changed resync', formatRate(changed)),
    info('write (d) COPY into both tables (ceiling)', formatRate(copyRate)),
    info(`write (e) row-at-a-time upsert (${(o.naive.first?.rows ?? 0).toLocaleString('en-US')} rows)`, formatRate(naiveRate), `writePage on the same: ${formatRate(smallRef)}`),
    ratioAtLeast('write: first load vs COPY', `${formatRate(first)} / ${formatRate(copyRate)}`, copyRate > 0 ? first / copyRate : 0, 0.5, 'COPY'),
    ratioAtLeast('write: first load vs naive', `${formatRate(smallRef)} / ${formatRate(naiveRate)}`, naiveRate > 0 ? smallRef / naiveRate : 0, 4, 'naive'),
    {
      figure: 'write: unchanged resync WAL, data tables',
      value: wal ? (wal.dataBytes === null ? 'n/a (no pg_walinspect)' : `${formatBytes(wal.dataBytes)} in ${wal.dataRecords} records`) : '-',
      target: '0 B',
      verdict: wal?.dataBytes === 0 ? 'ok' : wal?.dataBytes === null ? 'n/a' : 'MISS',
    },
    info('write: unchanged resync WAL, all (incl. sync_runs, commits)', wal ? formatBytes(wal.totalBytes) : '-', 'info (CHECKPOINT before)'),
    {
      figure: 'write: unchanged resync rows ins/upd/del (pg_stat)',
      value: tuples ? `${tuples.inserted} / ${tuples.updated} / ${tuples.deleted}` : '-',
      target: '0 / 0 / 0',
      verdict: tuples && tuples.inserted + tuples.updated + tuples.deleted === 0 ? 'ok' : 'MISS',
    },
    {
      figure: 'write: synchronous_commit=off first load',
      value: formatRate(offRate),
      target: '-',
      verdict: `${first > 0 ? (offRate / first).toFixed(2) : '-'}x of on`,
    },
  ];
  const letters: Record<string, string> = { 'jsonb+lock': 'a0', values: 'f', unnest: 'g', 'unnest+probe': "g'", staging: 'h', 'jsonb+probe': 'i' };
  for (const { candidate, outcomes } of o.runs) {
    const ratio = (p: Phase) => {
      const mine = rateOf(outcomes[p]);
      const theirs = rateOf(ref[p]);
      return theirs > 0 ? (mine / theirs).toFixed(2) : '-';
    };
    figures.push({
      figure: `write (${letters[candidate.key] ?? '?'}) ${candidate.label}`,
      value: `${kRate(outcomes.first)} / ${kRate(outcomes.unchanged)} / ${kRate(outcomes.changed)} rows/s, WAL ${walText(outcomes.unchanged?.wal)}`,
      target: 'vs writePage a/b/c',
      verdict: `${ratio('first')}x / ${ratio('unchanged')}x / ${ratio('changed')}x`,
    });
  }
  const checked = o.runs.length + 4;
  figures.push({
    figure: 'write: candidates leave writePage\'s tables',
    value: `${checked - new Set(o.failures.map((f) => f.split(' after ')[0])).size}/${checked} identical`,
    target: 'all',
    verdict: o.failures.length === 0 ? 'ok' : 'FAIL',
  });
  return figures;
}
