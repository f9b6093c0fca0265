import type postgres from 'postgres';

/** The cheapest statement that proves a session answers; the returned query can be cancelled server-side. */
export function ping(sql: postgres.Sql): postgres.PendingQuery<postgres.Row[]> {
  return sql`select 1`;
}
