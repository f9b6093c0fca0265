import type postgres from 'postgres';
import { DELETABLE_RUNS } from './deletable-runs.ts';

/**
 * Deletes, of the `batch` oldest deletable runs (deletable-runs.ts), those no version links to any more, and returns
 * how many. detach-old-versions.ts unlinks their versions first, in bounded batches, oldest run first; a run still
 * linked waits for it. Only the oldest `batch` are looked at, so a batch probes `batch` runs whatever the number
 * still linked behind them. The foreign key's SET NULL then finds nothing, in one probe of
 * batch_call_history_run_idx, unless a version was linked in between (it nulls that one). Their rejected items and
 * seen ids go with them (ON DELETE CASCADE). One batch a statement, so each commits on its own and holds its locks
 * briefly.
 */
const DELETE_OLD_RUNS = `${DELETABLE_RUNS}
DELETE FROM sync_runs d
WHERE d.id IN (
  SELECT c.id FROM (SELECT r.id FROM deletable r ORDER BY r.id LIMIT $2::int) c
  WHERE NOT EXISTS (SELECT 1 FROM batch_call_history h WHERE h.run_id = c.id)
)
`;

export async function deleteOldRuns(sql: postgres.Sql, days: number, batch: number): Promise<number> {
  const result = await sql.unsafe(DELETE_OLD_RUNS, [days, batch]);
  return result.count;
}
