import type postgres from 'postgres';

/** When each workspace's last succeeded run finished. */
export async function lastSuccesses(sql: postgres.Sql): Promise<Map<string, Date>> {
  const rows = await sql<{ workspace: string; ms: number }[]>`
    select workspace, (extract(epoch from pg_catalog.max(finished_at)) * 1000)::float8 as ms
    from sync_runs where status = 'succeeded' and finished_at is not null
    group by workspace`;
  return new Map(rows.map((r) => [r.workspace, new Date(r.ms)]));
}
