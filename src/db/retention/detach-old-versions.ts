import type postgres from 'postgres';
import { DELETABLE_RUNS } from './deletable-runs.ts';

/**
 * Sets run_id to NULL on up to `batch` versions of the oldest deletable runs, oldest run first, and returns how
 * many. This is the foreign key's ON DELETE SET NULL done ahead of the delete, in bounded steps: left to the key,
 * a run's versions would all be rewritten inside the one DELETE, and a first load of a million versions would
 * outlast any statement timeout. Each run's versions are one probe of batch_call_history_run_idx (migration 0009).
 * Rows are picked by ctid: one a concurrent writer moved is skipped (the re-check fails) and found again next batch.
 * No history trigger fires: they watch other columns.
 */
const DETACH_OLD_VERSIONS = `${DELETABLE_RUNS}, doomed AS (
  SELECT d.id FROM deletable d ORDER BY d.id LIMIT $2::int
), links AS (
  SELECT l.ctid
  FROM doomed d
  CROSS JOIN LATERAL (SELECT h.ctid FROM batch_call_history h WHERE h.run_id = d.id LIMIT $2::int) l
  LIMIT $2::int
)
UPDATE batch_call_history h SET run_id = NULL
WHERE h.ctid = ANY (ARRAY(SELECT links.ctid FROM links)) AND h.run_id IS NOT NULL
`;

export async function detachOldVersions(sql: postgres.Sql, days: number, batch: number): Promise<number> {
  const result = await sql.unsafe(DETACH_OLD_VERSIONS, [days, batch]);
  return result.count;
}
