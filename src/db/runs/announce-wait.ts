import type postgres from 'postgres';
import type { RunOwner } from './run-owner.ts';

/**
 * Moves the run's `alive_at` to the end of a budget wait it is starting: a walk that waits out the hour's budget
 * commits no page for that long, and must not look stuck meanwhile. Only the owning attempt's row moves.
 */
export async function announceWait(sql: postgres.Sql, owner: RunOwner, untilMs: number): Promise<void> {
  await sql`
    UPDATE sync_runs SET alive_at = GREATEST(alive_at, pg_catalog.to_timestamp(${untilMs / 1000}::float8))
    WHERE id = ${owner.runId} AND owner = ${owner.token} AND status = 'running'`;
}
