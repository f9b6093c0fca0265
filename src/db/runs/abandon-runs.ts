import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../connection.ts';
import { syncRuns } from '../schema.ts';

/**
 * Marks as failed every run of `workspace` still `running`. Only call while
 * holding the workspace lock: then no live process owns such a run, so its
 * process died (SIGKILL, crash) before it could close it.
 */
export async function abandonRuns(db: Db, workspace: string): Promise<number[]> {
  const rows = await db
    .update(syncRuns)
    .set({ status: 'failed', error: 'abandoned: its process stopped before the run finished', finished_at: sql`now()` })
    .where(and(eq(syncRuns.workspace, workspace), eq(syncRuns.status, 'running')))
    .returning({ id: syncRuns.id });
  return rows.map((r) => r.id);
}
