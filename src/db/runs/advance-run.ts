import type postgres from 'postgres';
import { RUN_COUNTER_COLUMNS, RUN_COUNTERS, type RunCounters } from '../../domain/run-counters.ts';

// One increment per counter, in RUN_COUNTERS order from $2: a fixed shape, so one prepared statement each.
const increments = RUN_COUNTERS.map((name, i) => `${RUN_COUNTER_COLUMNS[name]} = ${RUN_COUNTER_COLUMNS[name]} + $${i + 2}`).join(', ');
// alive_at: a committed page is the progress the status page's stuck rule looks for.
const ADVANCE = `UPDATE sync_runs SET ${increments}, alive_at = pg_catalog.now() WHERE id = $1`;
const ADVANCE_AND_MOVE = `UPDATE sync_runs SET ${increments}, alive_at = pg_catalog.now(), next_cursor = $${RUN_COUNTERS.length + 2} WHERE id = $1`;

/**
 * Adds `delta` to the run's counters inside the caller's transaction (a page's,
 * or the run's close), and with a page also saves the cursor of the next page
 * (null once the walk is complete), so a resumed run goes on after it.
 */
export async function advanceRun(tx: postgres.TransactionSql, runId: number, delta: Partial<RunCounters>, next?: { cursor: string | null }): Promise<void> {
  const values: (number | string | null)[] = [runId, ...RUN_COUNTERS.map((name) => delta[name] ?? 0)];
  if (next) values.push(next.cursor);
  await tx.unsafe(next ? ADVANCE_AND_MOVE : ADVANCE, values, { prepare: true });
}
