import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { deleteOldRejected } from '../db/retention/delete-old-rejected.ts';
import { deleteOldRuns } from '../db/retention/delete-old-runs.ts';
import type { Logger } from '../log.ts';

/** Rows per DELETE: each batch commits alone, so the sync's page transactions never wait long behind one. */
export const RETENTION_BATCH = 500;
/** How often a pass runs. Hourly keeps each pass small once the backlog of a first pass is gone. */
export const RETENTION_EVERY_MS = 3_600_000;

export interface RetentionOptions {
  config: Pick<Config, 'retention'>;
  database: Pick<Database, 'sql'>;
  log: Logger;
  /** Tests: how often a pass runs. */
  everyMs?: number;
}

export interface RetentionPass {
  runs: number;
  rejected: number;
}

/** Deletes in batches until a batch comes back short; `stopped` ends it between batches. */
async function drain(step: () => Promise<number>, stopped: () => boolean): Promise<number> {
  let total = 0;
  for (;;) {
    if (stopped()) return total;
    const deleted = await step();
    total += deleted;
    if (deleted < RETENTION_BATCH) return total;
  }
}

/** One pass of both retentions (0 days: that one is off). */
export async function runRetention(options: Pick<RetentionOptions, 'config' | 'database'>, stopped: () => boolean = () => false): Promise<RetentionPass> {
  const { runDays, rejectedDays } = options.config.retention;
  const { sql } = options.database;
  const rejected = rejectedDays > 0 ? await drain(() => deleteOldRejected(sql, rejectedDays, RETENTION_BATCH), stopped) : 0;
  const runs = runDays > 0 ? await drain(() => deleteOldRuns(sql, runDays, RETENTION_BATCH), stopped) : 0;
  return { runs, rejected };
}

/**
 * Runs retention now and then every hour, on an unref'd timer (it never keeps the process alive).
 * stop() cancels the timer and waits for a pass under way, which ends after its current batch.
 */
export function startRetention({ config, database, log, everyMs = RETENTION_EVERY_MS }: RetentionOptions): {
  stop(): Promise<void>;
  /** Resolves once no pass is under way (tests). */
  idle(): Promise<void>;
} {
  let stopped = false;
  let current: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const pass = async () => {
    try {
      const deleted = await runRetention({ config, database }, () => stopped);
      if (deleted.runs > 0 || deleted.rejected > 0) log.info({ deletedRuns: deleted.runs, deletedRejected: deleted.rejected }, 'retention deleted old rows');
    } catch (error) {
      // The code only: a driver message may carry query text and parameters.
      log.warn({ error: (error as Error)?.name, code: (error as { code?: string })?.code }, 'retention pass failed; the next one retries');
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      current = pass().finally(schedule);
    }, everyMs);
    timer.unref();
  };
  if (config.retention.runDays > 0 || config.retention.rejectedDays > 0) {
    current = pass().finally(schedule);
  }
  return {
    async idle() {
      await current;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
