import type { Db } from '../connection.ts';
import { syncRuns } from '../schema.ts';

/** `sync`: every page. `incremental`: stops once caught up. `reconcile`: every page, then marks deletes. */
export type RunKind = 'sync' | 'incremental' | 'reconcile';

/** Opens a `running` row; its id ties every page, version and rejected item to this run. */
export async function startRun(db: Db, workspace: string, kind: RunKind): Promise<number> {
  const [row] = await db.insert(syncRuns).values({ workspace, kind, status: 'running' }).returning({ id: syncRuns.id });
  if (!row) throw new Error('inserting the sync_runs row returned nothing');
  return row.id;
}
