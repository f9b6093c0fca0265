import type postgres from 'postgres';

/** Versions first observed per workspace and UTC day since `fromDay`. */
export async function versionsPerDay(sql: postgres.Sql, fromDay: string): Promise<Map<string, Map<string, number>>> {
  const rows = await sql<{ workspace: string; day: string; versions: number }[]>`
    select workspace, pg_catalog.to_char(observed_at at time zone 'UTC', 'YYYY-MM-DD') as day, pg_catalog.count(*)::int as versions
    from batch_call_history
    where observed_at >= ${`${fromDay}T00:00:00Z`}::timestamptz
    group by 1, 2`;
  const byWorkspace = new Map<string, Map<string, number>>();
  for (const row of rows) {
    const days = byWorkspace.get(row.workspace) ?? new Map<string, number>();
    days.set(row.day, row.versions);
    byWorkspace.set(row.workspace, days);
  }
  return byWorkspace;
}
