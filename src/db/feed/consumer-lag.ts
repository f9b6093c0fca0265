import type postgres from 'postgres';
import { LAG_COUNT_CAP, type ConsumerLag } from '../../feed/lag.ts';
import { parsePosition } from '../../feed/position.ts';

/** Every consumer with how far behind it is: a probe and a bounded index range each. */
export async function consumerLags(sql: postgres.Sql): Promise<ConsumerLag[]> {
  const rows = await sql<{ name: string; position: string; updatedAt: Date; lagEntries: number; oldestUnreadAt: Date | null }[]>`
    SELECT c.name, c.position_xid::text || ':' || c.position_id::text AS position, c.updated_at AS "updatedAt",
           (SELECT pg_catalog.count(*) FROM (
              SELECT 1 FROM public.change_feed f WHERE (f.xid, f.id) > (c.position_xid, c.position_id) LIMIT ${LAG_COUNT_CAP}
            ) n)::int AS "lagEntries",
           (SELECT f.observed_at FROM public.change_feed f WHERE (f.xid, f.id) > (c.position_xid, c.position_id)
            ORDER BY f.xid, f.id LIMIT 1) AS "oldestUnreadAt"
    FROM public.feed_consumers c
    ORDER BY c.name`;
  return rows.map((r) => ({ ...r, position: parsePosition(r.position)! }));
}
