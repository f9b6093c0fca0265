import type postgres from 'postgres';

/** The reporting time zone the daily and monthly BI views count in (report_settings, migration 0012). */
export async function reportTimeZone(sql: postgres.Sql): Promise<string> {
  const [row] = await sql<{ zone: string }[]>`SELECT report_time_zone() AS zone`;
  return row!.zone;
}

/**
 * Makes `zone` the reporting time zone (set_report_time_zone): when it differs from the database's, the two
 * indexes of the daily and monthly views are built for it and the views rewritten, in one transaction. Writers of
 * batch_calls wait for the builds; readers do not. The statement may take longer than the sync's statement_timeout
 * on a big table, so it runs without one.
 */
export async function applyReportTimeZone(sql: postgres.Sql, zone: string): Promise<{ changed: boolean; from: string }> {
  return sql.begin(async (tx) => {
    await tx`SET LOCAL statement_timeout = 0`;
    const [before] = await tx<{ zone: string }[]>`SELECT time_zone AS zone FROM report_settings FOR UPDATE`;
    const [result] = await tx<{ changed: boolean }[]>`SELECT set_report_time_zone(${zone}) AS changed`;
    return { changed: result!.changed, from: before!.zone };
  });
}
