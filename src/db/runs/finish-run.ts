import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../connection.ts';
import { syncRuns } from '../schema.ts';

export interface RunOutcome {
  status: 'succeeded' | 'failed';
  /** One line; null on success. */
  error: string | null;
  requests: number;
  retries: number;
}

/** Closes a run. Page counters were advanced by each page's own transaction. */
export async function finishRun(db: Db, runId: number, outcome: RunOutcome): Promise<void> {
  await db
    .update(syncRuns)
    .set({
      status: outcome.status,
      error: outcome.error,
      requests: outcome.requests,
      retries: outcome.retries,
      finished_at: sql`now()`,
    })
    .where(and(eq(syncRuns.id, runId), eq(syncRuns.status, 'running')));
}
