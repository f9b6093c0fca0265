import type postgres from 'postgres';
import type { FeedEntry } from '../../feed/line.ts';
import type { FeedPosition } from '../../feed/position.ts';

/**
 * The entries after `position`, in feed order, up to `limit`; only those of transactions below this snapshot's
 * xmin. Every transaction below xmin has ended, so no entry can commit behind the last one returned: a reader
 * that goes on from it never skips one, whatever order transactions commit in (an entry's id is taken before
 * its commit, so `id > last` alone would skip a long transaction's entries). One range of the primary key
 * (xid, id): test/feed/plan.test.ts checks the plan.
 *
 * Shared with threetone_changes() (migrations/0011), which SQL users call.
 */
export const READ_CHANGES = `
SELECT f.id::text AS id, f.xid::text AS xid, f.kind, f.workspace, f.job_id AS "jobId", f.version::float8 AS version,
       f.status, f.previous_status AS "previousStatus", f.observed_at AS "observedAt", f.run_id::float8 AS "runId"
FROM public.change_feed f
WHERE (f.xid, f.id) > ($1::pg_catalog.xid8, $2::pg_catalog.int8)
  AND f.xid < pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())
ORDER BY f.xid, f.id
LIMIT $3`;

/** An entry as the driver hands it over: the two bigints as text. */
type Row = Omit<FeedEntry, 'id' | 'xid'> & { id: string; xid: string };

export async function readChanges(sql: postgres.Sql, position: FeedPosition, limit: number): Promise<FeedEntry[]> {
  const rows = await sql.unsafe<Row[]>(READ_CHANGES, [position.xid.toString(), position.id.toString(), limit], { prepare: true });
  return rows.map((r) => ({ ...r, id: BigInt(r.id), xid: BigInt(r.xid) }));
}
