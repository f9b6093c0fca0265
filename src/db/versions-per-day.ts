import type postgres from 'postgres';

/**
 * Versions first observed per workspace and UTC day since `fromDay`: a few rows per workspace of
 * batch_call_history_daily, which the history triggers keep, instead of counting history.
 */
export async function versionsPerDay(sql: postgres.Sql, fromDay: string, workspace?: string): Promise<Map<string, Map<string, number>>> {
  const rows = await sql<{ workspace: string; day: string; versions: number }[]>`
    select workspace, pg_catalog.to_char(day, 'YYYY-MM-DD') as day, versions::int as versions
    from batch_call_history_daily
    where day >= ${fromDay}::date and versions > 0 ${workspace === undefined ? sql`` : sql`and workspace = ${workspace}`}`;
  const byWorkspace = new Map<string, Map<string, number>>();
  for (const row of rows) {
    const days = byWorkspace.get(row.workspace) ?? new Map<string, number>();
    days.set(row.day, row.versions);
    byWorkspace.set(row.workspace, days);
  }
  return byWorkspace;
}
