import type postgres from 'postgres';
import type { ListOrder } from '../../domain/runs.ts';

/** The list order the workspace's newest run that read a page was served in, or undefined before any. */
export async function lastListOrder(sql: postgres.Sql, workspace: string): Promise<ListOrder | undefined> {
  const [row] = await sql<{ order: ListOrder }[]>`
    SELECT list_order AS order FROM sync_runs
    WHERE workspace = ${workspace} AND list_order IS NOT NULL
    ORDER BY started_at DESC, id DESC LIMIT 1`;
  return row?.order;
}
