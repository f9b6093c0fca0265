import type postgres from 'postgres';

export interface ReportData {
  since: Date;
  generatedAt: Date;
  daily: { workspace: string; day: string; status: string; jobs: number }[];
  agents: { workspace: string; agent_name: string; jobs: number; calls_scheduled: number; calls_finished: number; finish_rate: number | null }[];
  freshness: { workspace: string; last_success_at: string | null; age_seconds: number | null; last_run_status: string | null }[];
}

/** Everything the report shows, read from the BI views (so the report and an analyst's SQL agree). */
export async function loadReportData(sql: postgres.Sql, since: Date): Promise<ReportData> {
  const iso = since.toISOString();
  const daily = await sql<ReportData['daily']>`
    SELECT workspace, day::text AS day, status, jobs FROM bi_daily_status_counts
    WHERE day >= (${iso}::timestamptz AT TIME ZONE 'UTC')::date ORDER BY day, workspace, status`;
  // Per agent over jobs created in the window: the same sums as bi_agent_performance, restricted by date.
  const agents = await sql<ReportData['agents']>`
    SELECT workspace, pg_catalog.max(agent_name) AS agent_name, pg_catalog.count(*)::int AS jobs,
           pg_catalog.sum(calls_scheduled)::float8 AS calls_scheduled, pg_catalog.sum(calls_finished)::float8 AS calls_finished,
           (pg_catalog.sum(calls_finished)::numeric / NULLIF(pg_catalog.sum(calls_scheduled), 0))::float8 AS finish_rate
    FROM bi_current_batch_calls WHERE created_at >= ${iso}::timestamptz
    GROUP BY workspace, agent_id ORDER BY finish_rate NULLS LAST, agent_name`;
  const freshness = await sql<ReportData['freshness']>`
    SELECT workspace, last_success_at::text, age_seconds::float8, last_run_status FROM bi_sync_freshness ORDER BY workspace`;
  return { since, generatedAt: new Date(), daily: [...daily], agents: [...agents], freshness: [...freshness] };
}
