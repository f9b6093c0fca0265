import type postgres from 'postgres';

/**
 * Deletes up to `batch` rejected items not seen for more than `days` days, oldest id first, and returns how many.
 * An item rejected again bumps last_seen_at, so what is still arriving stays.
 */
const DELETE_OLD_REJECTED = `
DELETE FROM rejected_records d
WHERE d.id IN (
  SELECT r.id FROM rejected_records r
  WHERE r.last_seen_at < pg_catalog.now() - pg_catalog.make_interval(days => $1::int)
  ORDER BY r.id
  LIMIT $2::int
)
`;

export async function deleteOldRejected(sql: postgres.Sql, days: number, batch: number): Promise<number> {
  const result = await sql.unsafe(DELETE_OLD_REJECTED, [days, batch]);
  return result.count;
}
