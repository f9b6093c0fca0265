import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { findWorkspace, type Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { ApiHttpError } from '../errors/ApiHttpError.ts';
import { describeError } from '../errors/describe-error.ts';
import { isPermanent } from '../errors/is-permanent.ts';
import { SyncLockedError } from '../errors/SyncLockedError.ts';
import type { Logger } from '../log.ts';
import { parseJobData, type SyncJobData } from './job-data.ts';
import type { SyncQueue, SyncProcessor } from './queue.ts';
import { enqueueRun } from './schedules.ts';
import type { SharedBudgets } from '../budget/shared.ts';
import type { RunEvents } from './run-events.ts';
import { runSync } from './sync-run.ts';

/** How long a run waits when another run of its lane holds its workspace (e.g. the nightly reconciliation meets a full walk; src/db/workspace-lock.ts). */
export const LOCKED_RETRY_MS = 30_000;

export interface ProcessorDeps {
  config: Config;
  database: Database;
  budgets: SharedBudgets;
  queue: SyncQueue;
  log: Logger;
  /** Where every run tells what happens (metrics subscribe). */
  events?: RunEvents;
}

/**
 * The one place that decides what a failed run means for its job:
 * - shutdown: back to waiting, for this or another worker, no attempt spent;
 * - workspace busy, or rate limited beyond what the client waits: delayed, no attempt spent,
 *   never longer than JOB_MAX_DELAY_MS (an API asking for a day's pause is asked again sooner);
 * - auth, a rejected request, broken pagination, unknown workspace: failed now, retrying cannot help;
 * - anything else (API down, database away): retried with exponential backoff (capped at JOB_MAX_DELAY_MS) up to JOB_ATTEMPTS.
 * Errors leave as one line, so the queue store never holds a stack or a parameter list.
 */
export function createProcessor(deps: ProcessorDeps): SyncProcessor {
  // Declared with three parameters: BullMQ only passes the abort signal to processors that take one.
  return async (job: Job<SyncJobData, unknown, string>, token?: string, signal?: AbortSignal) => {
    // runSync adds the run id and workspace to its own lines.
    const log = deps.log.child({ jobId: job.id });
    const data = parseJobData(job.name, job.data);
    if (job.name === 'tick') {
      const { jobId } = await enqueueRun(deps.queue, deps.config, data);
      return { enqueued: jobId };
    }
    try {
      const workspace = findWorkspace(deps.config, data.workspace);
      const summary = await runSync(
        { config: deps.config, database: deps.database, log, budget: deps.budgets.forKey(workspace.apiKey), signal, ...(deps.events ? { events: deps.events } : {}) },
        { workspace: workspace.name, apiKey: workspace.apiKey, keySource: workspace.keySource, kind: data.kind },
      );
      return summary;
    } catch (error) {
      if (signal?.aborted && token) {
        log.info({ workspace: data.workspace }, 'shutting down: run handed back to the queue');
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const delayMs = delayFor(error, deps.config.worker.maxDelayMs);
      if (delayMs !== undefined && token) {
        log.info({ workspace: data.workspace, delayMs, reason: describeError(error) }, 'run postponed');
        await job.moveToDelayed(Date.now() + delayMs, token);
        throw new DelayedError();
      }
      const message = describeError(error);
      if (isPermanent(error)) throw new UnrecoverableError(message);
      throw new Error(message);
    }
  };
}

/** How long to postpone a run that failed with `error`, at most `maxDelayMs`; undefined: do not postpone. */
export function delayFor(error: unknown, maxDelayMs: number): number | undefined {
  if (error instanceof SyncLockedError) return Math.min(LOCKED_RETRY_MS, maxDelayMs);
  const last = error instanceof Error && error.cause instanceof ApiHttpError ? error.cause : undefined;
  if (last?.status === 429 && last.retryAfterMs !== undefined) return Math.min(last.retryAfterMs, maxDelayMs);
  return undefined;
}
