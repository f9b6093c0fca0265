import { and, eq } from 'drizzle-orm';
import type { Db } from '../connection.ts';
import { syncRuns } from '../schema.ts';

/**
 * Whether some run of the workspace ever walked every page. Until one has, the
 * copy may have gaps below the newest pages, so an incremental run must not
 * stop early.
 */
export async function hasCompleteWalk(db: Db, workspace: string): Promise<boolean> {
  const rows = await db
    .select({ id: syncRuns.id })
    .from(syncRuns)
    .where(and(eq(syncRuns.workspace, workspace), eq(syncRuns.status, 'succeeded'), eq(syncRuns.stop_reason, 'end')))
    .limit(1);
  return rows.length > 0;
}
