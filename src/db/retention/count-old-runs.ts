import type postgres from 'postgres';
import { DELETABLE_RUNS } from './deletable-runs.ts';

/**
 * How many runs a retention pass has to delete, read once at its start so progress lines can say what is left.
 * One scan of sync_runs: tens of milliseconds at 300 k runs.
 */
const COUNT_OLD_RUNS = `${DELETABLE_RUNS}
SELECT pg_catalog.count(*)::int AS n FROM deletable
`;

export async function countOldRuns(sql: postgres.Sql, days: number): Promise<number> {
  const [row] = await sql.unsafe<{ n: number }[]>(COUNT_OLD_RUNS, [days]);
  return row?.n ?? 0;
}
