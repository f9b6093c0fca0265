import { and, eq, isNull, notInArray } from 'drizzle-orm';
import { FINAL_STATUSES } from '../../api/schemas.ts';
import type { Db } from '../connection.ts';
import { batchCalls } from '../schema.ts';

/** Ids of the live jobs we hold in a state that can still change (unknown new statuses included). */
export async function nonFinalIds(db: Db, workspace: string): Promise<string[]> {
  const rows = await db
    .select({ id: batchCalls.id })
    .from(batchCalls)
    .where(and(eq(batchCalls.workspace, workspace), isNull(batchCalls.deleted_at), notInArray(batchCalls.status, [...FINAL_STATUSES])));
  return rows.map((r) => r.id);
}
