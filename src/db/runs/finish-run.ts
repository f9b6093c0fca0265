import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../connection.ts';
import { syncRuns } from '../schema.ts';

export type StopReason = 'end' | 'caught_up' | 'error' | 'interrupted';

export interface RunOutcome {
  status: 'succeeded' | 'failed';
  /** One line; null on success. */
  error: string | null;
  /** This attempt's; added to earlier attempts' when the run was resumed. */
  requests: number;
  retries: number;
  stopReason: StopReason;
  /** False for failures a retry would repeat (rejected key, broken pagination): the next attempt starts from the top. */
  resumable: boolean;
}

/** Closes a run. Page counters (and the resume cursor) were advanced by each page's own transaction. */
export async function finishRun(db: Db, runId: number, outcome: RunOutcome): Promise<void> {
  await db
    .update(syncRuns)
    .set({
      status: outcome.status,
      error: outcome.error,
      requests: sql`${syncRuns.requests} + ${outcome.requests}`,
      retries: sql`${syncRuns.retries} + ${outcome.retries}`,
      ...(outcome.resumable ? {} : { next_cursor: null }),
      stop_reason: outcome.stopReason,
      finished_at: sql`now()`,
    })
    .where(and(eq(syncRuns.id, runId), eq(syncRuns.status, 'running')));
}
