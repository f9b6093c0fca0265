import type postgres from 'postgres';
import { FINAL_STATUSES } from '../../api/schemas.ts';

/** Ids of the live jobs we hold in a state that can still change (unknown new statuses included). */
export async function nonFinalIds(sql: postgres.Sql, workspace: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    SELECT id FROM batch_calls
    WHERE workspace = ${workspace} AND deleted_at IS NULL AND status <> ALL(${[...FINAL_STATUSES]}::text[])`;
  return rows.map((r) => r.id);
}
