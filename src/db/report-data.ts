import type postgres from 'postgres';

export interface ReportData {
  /** First instant of the window (midnight UTC): jobs created from here on. */
  from: Date;
  /** Postgres's clock when the reads began; the window ends here and its day is the partial one. */
  generatedAt: Date;
  daily: { workspace: string; day: string; status: string; jobs: number }[];
  agents: { workspace: string; agent_id: string; agent_name: string; jobs: number; calls_scheduled: number; calls_finished: number }[];
  freshness: { workspace: string; last_success_at: string | null; age_seconds: number | null; last_run_status: string | null }[];
}

/**
 * Everything the report shows, read from the BI views (so the report and an analyst's SQL agree), in one
 * read-only snapshot: a sync committing between two reads would otherwise make the jobs per day and the jobs
 * per agent disagree about the same window.
 */
export async function loadReportData(sql: postgres.Sql, from: Date): Promise<ReportData> {
  const iso = from.toISOString();
  return (await sql.begin('isolation level repeatable read read only', async (tx) => {
    const [{ now }] = (await tx<{ now: Date }[]>`SELECT now() AS now`) as unknown as [{ now: Date }];
    const daily = await tx<ReportData['daily']>`
      SELECT workspace, day::text AS day, status, jobs FROM bi_daily_status_counts
      WHERE day >= (${iso}::timestamptz AT TIME ZONE 'UTC')::date ORDER BY workspace, day, status`;
    // The same sums as bi_agent_performance, over the jobs created in the window; the rate is worked out from
    // these two sums by the report, so the page and the CSV round it once, the same way.
    const agents = await tx<ReportData['agents']>`
      SELECT workspace, agent_id, pg_catalog.max(agent_name) AS agent_name, pg_catalog.count(*)::int AS jobs,
             pg_catalog.sum(calls_scheduled)::float8 AS calls_scheduled, pg_catalog.sum(calls_finished)::float8 AS calls_finished
      FROM bi_current_batch_calls WHERE created_at >= ${iso}::timestamptz
      GROUP BY workspace, agent_id ORDER BY workspace, agent_id`;
    const freshness = await tx<ReportData['freshness']>`
      SELECT workspace, last_success_at::text, age_seconds::float8, last_run_status FROM bi_sync_freshness ORDER BY workspace`;
    return { from, generatedAt: now, daily: [...daily], agents: [...agents], freshness: [...freshness] };
  })) as ReportData;
}
