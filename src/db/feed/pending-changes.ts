import type postgres from 'postgres';
import type { FeedPosition } from '../../feed/position.ts';

/**
 * Whether entries after `position` exist that a read cannot return yet: committed (or still being written) by a
 * transaction at or above the snapshot's xmin, because an older transaction is still running somewhere on the
 * server. Such entries come out once that transaction ends, which may send no notification: a follower that
 * sees this re-reads shortly instead of waiting for the next one. The tail of the primary key, a probe.
 */
const PENDING = `
SELECT EXISTS (
  SELECT 1 FROM public.change_feed f
  WHERE f.xid >= pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())
    AND (f.xid, f.id) > ($1::pg_catalog.xid8, $2::pg_catalog.int8)
) AS pending`;

export async function hasPendingChanges(sql: postgres.Sql, position: FeedPosition): Promise<boolean> {
  const [row] = await sql.unsafe<{ pending: boolean }[]>(PENDING, [position.xid.toString(), position.id.toString()], { prepare: true });
  return row?.pending ?? false;
}
