import type postgres from 'postgres';
import { DELETABLE_RUNS } from './deletable-runs.ts';

/**
 * Deletes up to `batch` deletable runs (deletable-runs.ts) that no version links to any more, oldest first, and
 * returns how many. detach-old-versions.ts unlinks their versions first, in bounded batches; a run still linked
 * waits for it. The foreign key's SET NULL then finds nothing, in one probe of batch_call_history_run_idx, unless
 * a version was linked in between (it nulls that one). Their rejected items and seen ids go with them
 * (ON DELETE CASCADE). One batch a statement, so each commits on its own and holds its locks briefly.
 */
const DELETE_OLD_RUNS = `${DELETABLE_RUNS}
DELETE FROM sync_runs d
WHERE d.id IN (
  SELECT r.id FROM deletable r
  WHERE NOT EXISTS (SELECT 1 FROM batch_call_history h WHERE h.run_id = r.id)
  ORDER BY r.id
  LIMIT $2::int
)
`;

export async function deleteOldRuns(sql: postgres.Sql, days: number, batch: number): Promise<number> {
  const result = await sql.unsafe(DELETE_OLD_RUNS, [days, batch]);
  return result.count;
}
