import type postgres from 'postgres';
import type { FeedPosition } from '../../feed/position.ts';

/**
 * Stores the consumer's position after the entries up to `position` were written out. Forward only: an older
 * position (a second process on the same consumer) leaves it where it is.
 */
export async function ackConsumer(sql: postgres.Sql, name: string, position: FeedPosition): Promise<void> {
  await sql.unsafe(
    `UPDATE public.feed_consumers SET position_xid = $2::pg_catalog.xid8, position_id = $3::pg_catalog.int8, updated_at = pg_catalog.now()
     WHERE name = $1 AND (position_xid, position_id) < ($2::pg_catalog.xid8, $3::pg_catalog.int8)`,
    [name, position.xid.toString(), position.id.toString()],
    { prepare: true },
  );
}
