import type postgres from 'postgres';
import { RunOwnershipLostError } from '../../errors/RunOwnershipLostError.ts';
import type { RunOwner } from './run-owner.ts';
import { KINDS_OF_LANE, LOCK_PREFIXES } from '../workspace-lock.ts';

export interface ProveOptions {
  /**
   * Also check that the lock session still holds the workspace lock. The
   * token alone fences off every other writer (taking a run over rewrites it);
   * the lock check makes the irreversible steps (marking deletes, closing the
   * run as succeeded) wait for a live lock too. It reads pg_locks, which copies
   * the server's lock table, so pages skip it: the lock session's close and
   * heartbeat stop a run whose lock went within seconds anyway.
   */
  lock: boolean;
}

/**
 * Locks the run's row for the rest of the transaction, if this attempt still
 * owns it. Another process taking the run over updates this row, so it waits
 * for this transaction, and once it has, this check fails: two writers can
 * never both commit.
 *
 * The lock check looks for the run's own key (its lane's, from the row's kind)
 * held by the lock's backend: a lock session holds many workspaces' locks
 * (src/db/workspace-lock.ts), so "this backend holds an advisory lock" would
 * still be true after this run's lock went. A bigint advisory lock shows in
 * pg_locks as its high and low 32 bits in classid and objid, with objsubid 1.
 */
const PROVE = `
SELECT (r.owner = $2 AND r.status = 'running') AS "ownsRun",
       ($3::int IS NULL OR EXISTS (
         SELECT 1 FROM pg_catalog.pg_locks l
         WHERE l.locktype = 'advisory' AND l.pid = $3::int AND l.granted AND l.objsubid = 1
           AND l.classid = ((k.key >> 32) & 4294967295)::oid AND l.objid = (k.key & 4294967295)::oid)) AS "holdsLock"
FROM sync_runs r
CROSS JOIN LATERAL (
  SELECT pg_catalog.hashtextextended(CASE WHEN r.kind = ANY($4::text[]) THEN $5::text ELSE $6::text END || r.workspace, 0::bigint) AS key
) k
WHERE r.id = $1
FOR UPDATE OF r
`;

/** Throws RunOwnershipLostError, and so rolls the transaction back, unless `owner` still owns its run. */
export async function proveOwnership(tx: postgres.TransactionSql, owner: RunOwner, options: ProveOptions): Promise<void> {
  const [row] = await tx.unsafe<{ ownsRun: boolean; holdsLock: boolean }[]>(
    PROVE,
    [owner.runId, owner.token, options.lock ? owner.lockPid : null, KINDS_OF_LANE.fresh, LOCK_PREFIXES.fresh, LOCK_PREFIXES.walk],
    { prepare: true },
  );
  if (row?.ownsRun && row.holdsLock) return;
  const why = !row?.ownsRun ? 'another process took the run over, or it was closed' : 'its workspace lock is gone';
  throw new RunOwnershipLostError(owner.runId, owner.workspace, why);
}
