import type postgres from 'postgres';
import type { ListResource } from '../../resources/resource.ts';

/** Jobs of the workspace not marked deleted: what a walk is expected to list (the runaway-walk bound). */
export async function countLive(sql: postgres.Sql, resource: ListResource, workspace: string): Promise<number> {
  const [row] = await sql.unsafe<{ n: number }[]>(
    `SELECT pg_catalog.count(*)::int AS n FROM ${resource.tables.current} WHERE workspace = $1 AND deleted_at IS NULL`,
    [workspace],
  );
  return row?.n ?? 0;
}
