import type postgres from 'postgres';
import type { ListResource } from '../../resources/resource.ts';

/**
 * Jobs of the workspace not marked deleted: what a walk is expected to list (the runaway-walk bound). One row of
 * the resource's live counter when it has one (batch_call_live_jobs, migration 0013), instead of counting the workspace.
 */
export async function countLive(sql: postgres.Sql, resource: ListResource, workspace: string): Promise<number> {
  const [row] = await sql.unsafe<{ n: number }[]>(
    resource.tables.live === undefined
      ? `SELECT pg_catalog.count(*)::int AS n FROM ${resource.tables.current} WHERE workspace = $1 AND deleted_at IS NULL`
      : `SELECT jobs::int AS n FROM ${resource.tables.live} WHERE workspace = $1`,
    [workspace],
  );
  return row?.n ?? 0;
}
