import type postgres from 'postgres';
import type { ListResource } from '../../resources/resource.ts';

/** Ids of the live items we hold in a state that can still change (unknown new statuses included). */
export async function nonFinalIds(sql: postgres.Sql, resource: ListResource, workspace: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    SELECT ${sql(resource.idField)} AS id FROM ${sql(resource.tables.current)}
    WHERE workspace = ${workspace} AND deleted_at IS NULL AND status <> ALL(${[...resource.finalStatuses]}::text[])`;
  return rows.map((r) => r.id);
}
