import { randomUUID } from 'node:crypto';
import { ThreetoneClient } from '../api/client.ts';
import { keyFingerprint } from '../api/key-fingerprint.ts';
import { createMemoryBudget, type RequestBudget } from '../api/request-budget.ts';
import { DEFAULT_RETRY } from '../api/retry-policy.ts';
import { validateItems, type DriftNote } from '../api/validate.ts';
import { walkPages, type WalkedPage } from '../api/walk-pages.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { toPageRows } from '../db/page-rows.ts';
import { abandonRuns } from '../db/runs/abandon-runs.ts';
import { dropOtherSeen } from '../db/runs/drop-other-seen.ts';
import { finishReconcile, type ReconcileCounts } from '../db/runs/finish-reconcile.ts';
import { finishRun, type StopReason } from '../db/runs/finish-run.ts';
import { hasCompleteWalk } from '../db/runs/has-complete-walk.ts';
import { nonFinalIds } from '../db/runs/non-final-ids.ts';
import { resumeRun } from '../db/runs/resume-run.ts';
import type { RunOwner } from '../db/runs/run-owner.ts';
import { startRun, type RunKind } from '../db/runs/start-run.ts';
import { lockWorkspace } from '../db/workspace-lock.ts';
import { writePage } from '../db/write-page.ts';
import { ApiRequestRejectedError } from '../errors/ApiRequestRejectedError.ts';
import { describeError } from '../errors/describe-error.ts';
import { isPermanent } from '../errors/is-permanent.ts';
import { ReconcileRefusedError } from '../errors/ReconcileRefusedError.ts';
import { RunOwnershipLostError } from '../errors/RunOwnershipLostError.ts';
import type { Logger } from '../log.ts';
import { withTimeout } from '../util/with-timeout.ts';
import { refuseDeletes } from './delete-guard.ts';
import { IncrementalStop } from './incremental-stop.ts';

export interface SyncTarget {
  workspace: string;
  /** Resolved from config when the run starts; never stored or logged. */
  apiKey: string;
  kind: RunKind;
  /** Reconciliation: mark deletes even past RECONCILE_MAX_DELETE_RATIO (`reconcile --allow-mass-delete`). */
  allowMassDelete?: boolean;
}

export interface SyncDeps {
  config: Config;
  database: Database;
  log: Logger;
  /** Shared budget (worker); default: an in-process one from config. */
  budget?: RequestBudget;
  /** Stops between pages; the page being written still commits. */
  signal?: AbortSignal;
  /** Called after each committed page (progress display). */
  onPage?: (progress: SyncProgress) => void;
  /** Called once the run is recorded, succeeded or failed (metrics). */
  onFinish?: (summary: SyncSummary) => void;
}

export interface SyncProgress {
  runId: number;
  workspace: string;
  /** Pages and items of this attempt (a resumed run's row also counts earlier attempts). */
  pages: number;
  itemsSeen: number;
  versionsAdded: number;
  versionsAmended: number;
  rowsInserted: number;
  rowsUpdated: number;
  rejected: number;
  undeleted: number;
  requests: number;
  retries: number;
}

export interface SyncSummary extends SyncProgress {
  kind: RunKind;
  status: 'succeeded' | 'failed';
  error: string | null;
  stopReason: StopReason;
  /** The cursor this attempt resumed from, when it continued an earlier attempt. */
  resumed: boolean;
  durationMs: number;
  /** API responses by HTTP status, or `network` / `timeout`. */
  apiResponses: Record<string, number>;
  /** Reconciliation only. */
  reconcile?: ReconcileCounts;
}

/**
 * One run, top to bottom: lock the workspace → open (or resume) a run record
 * → walk the API's pages → validate each → write each page in its own
 * transaction → for a reconciliation, mark deletes → close the run record.
 * Throws after recording the failure.
 */
export async function runSync(deps: SyncDeps, target: SyncTarget): Promise<SyncSummary> {
  const { config, database } = deps;
  const started = Date.now();
  const lock = await lockWorkspace(database.url, target.workspace);
  // Stops the walk between (or in the middle of) requests when asked to, or at once when the workspace lock is gone.
  const signal = deps.signal ? AbortSignal.any([deps.signal, lock.lost]) : lock.lost;
  try {
    const abandoned = await abandonRuns(database.sql, target.workspace);
    if (abandoned.length > 0) deps.log.warn({ workspace: target.workspace, runIds: abandoned }, 'marked runs of a stopped process as failed');
    // This attempt's fencing token: whichever attempt opened or resumed the run last owns it.
    const token = randomUUID();
    // An incremental run is cheap to redo and its stop rule needs the whole walk's view, so it never resumes.
    const resumed = target.kind === 'incremental' ? undefined : await resumeRun(database.sql, target.workspace, target.kind, token);
    const runId = resumed?.runId ?? (await startRun(database.sql, target.workspace, target.kind, token));
    const owner: RunOwner = { runId, workspace: target.workspace, token, lockPid: lock.pid };
    if (target.kind === 'reconcile') await dropOtherSeen(database.sql, target.workspace, runId);
    const log = deps.log.child({ runId, workspace: target.workspace });
    const client = new ThreetoneClient({
      baseUrl: config.baseUrl,
      apiKey: target.apiKey,
      pageSize: config.pageSize,
      timeoutMs: config.timeoutMs,
      maxBodyBytes: config.maxBodyBytes,
      retry: { ...DEFAULT_RETRY, maxAttempts: config.maxAttempts, baseDelayMs: config.retryBaseDelayMs, maxRetryAfterMs: config.maxRetryAfterMs },
      budget: deps.budget ?? createMemoryBudget(config.budget, keyFingerprint(target.apiKey)),
      log,
      signal,
    });
    const progress: SyncProgress = {
      runId,
      workspace: target.workspace,
      pages: 0,
      itemsSeen: 0,
      versionsAdded: 0,
      versionsAmended: 0,
      rowsInserted: 0,
      rowsUpdated: 0,
      rejected: 0,
      undeleted: 0,
      requests: 0,
      retries: 0,
    };
    const summarize = (status: SyncSummary['status'], error: string | null, stopReason: StopReason, reconcile?: ReconcileCounts): SyncSummary => ({
      ...progress,
      requests: client.stats.requests,
      retries: client.stats.retries,
      kind: target.kind,
      status,
      error,
      stopReason,
      resumed: resumed !== undefined,
      durationMs: Date.now() - started,
      apiResponses: { ...client.stats.byStatus },
      ...(reconcile ? { reconcile } : {}),
    });
    const warnDrift = driftWarner(log);
    const stopRule =
      target.kind === 'incremental' && (await hasCompleteWalk(database.sql, target.workspace))
        ? new IncrementalStop(await nonFinalIds(database.sql, target.workspace), config.incrementalQuietPages)
        : undefined;
    log.info({ kind: target.kind, resumedFromPage: resumed ? resumed.pages + 1 : undefined }, 'sync started');

    /** Validates and commits one page; true when an incremental walk may stop after it. */
    const commitPage = async (page: WalkedPage, pageNumber: number): Promise<boolean> => {
      const { valid, rejected, drift } = validateItems(page.items);
      warnDrift(drift);
      const written = await writePage(database.sql, {
        owner,
        page: pageNumber,
        rows: toPageRows(valid),
        rejected,
        itemsSeen: page.items.length,
        nextCursor: page.nextCursor,
        listedIds: [...valid.map((v) => v.item.id), ...rejected.flatMap((r) => (r.itemId === null ? [] : [r.itemId]))],
        recordSeen: target.kind === 'reconcile',
      });
      progress.pages++;
      progress.itemsSeen += page.items.length;
      progress.versionsAdded += written.versionsAdded;
      progress.versionsAmended += written.versionsAmended;
      progress.rowsInserted += written.rowsInserted;
      progress.rowsUpdated += written.rowsUpdated;
      progress.rejected += rejected.length + written.refused.length;
      progress.undeleted += written.undeleted;
      progress.requests = client.stats.requests;
      progress.retries = client.stats.retries;
      if (rejected.length > 0) log.warn({ page: pageNumber, rejected: rejected.length, firstReason: rejected[0]?.reason }, 'items rejected');
      if (written.refused.length > 0) {
        log.warn({ page: pageNumber, rejected: written.refused.length, firstReason: written.refused[0]?.reason }, 'items refused by Postgres: set aside, the rest of the page is stored');
      }
      if (written.undeleted > 0) log.info({ page: pageNumber, undeleted: written.undeleted }, 'jobs marked deleted are listed again: mark cleared');
      const { refused: _refused, ...counts } = written;
      log.debug({ page: pageNumber, items: page.items.length, ...counts }, 'page committed');
      deps.onPage?.({ ...progress });
      if (signal?.aborted) throw signal.reason ?? new Error('sync interrupted');
      return stopRule?.afterPage(
        valid.map((v) => v.item.id),
        written.versionsAdded + written.versionsAmended,
      ) ?? false;
    };

    let stopReason: StopReason = 'end';
    let reconcile: ReconcileCounts | undefined;
    try {
      let startCursor = resumed?.cursor ?? null;
      const firstPage = (resumed?.pages ?? 0) + 1;
      for (;;) {
        const committedBefore = progress.pages;
        try {
          for await (const page of walkPages(client, { startCursor, signal, prefetch: stopRule === undefined })) {
            if (await commitPage(page, firstPage + progress.pages)) {
              stopReason = 'caught_up';
              break;
            }
          }
          break;
        } catch (error) {
          const cursorRejected = startCursor !== null && progress.pages === committedBefore && error instanceof ApiRequestRejectedError;
          if (!cursorRejected) throw error;
          log.warn({ error: describeError(error) }, 'the API rejected the saved cursor; walking again from the top');
          startCursor = null;
        }
      }
      if (stopRule && stopReason === 'end' && stopRule.pending > 0) {
        log.info({ unseenNonFinal: stopRule.pending }, 'incremental walk read every page: some non-final jobs are no longer listed (reconciliation will mark them)');
      }
      if (target.kind === 'reconcile') {
        const guard = { maxRatio: config.reconcile.maxDeleteRatio, allowMassDelete: target.allowMassDelete === true };
        reconcile = await finishReconcile(database.sql, owner, (counts) => refuseDeletes(counts, guard));
      }
    } catch (caught) {
      const error = lock.lost.aborted && !(caught instanceof RunOwnershipLostError) ? new RunOwnershipLostError(runId, target.workspace, describeError(lock.lost.reason)) : caught;
      const interrupted = deps.signal?.aborted === true && !(error instanceof RunOwnershipLostError);
      const stopReason: StopReason = interrupted
        ? 'interrupted'
        : error instanceof RunOwnershipLostError
          ? 'lost_ownership'
          : error instanceof ReconcileRefusedError
            ? 'delete_guard'
            : 'error';
      const message = interrupted ? `interrupted (${describeError(deps.signal?.reason)}); the next attempt resumes after the last committed page` : describeError(error);
      log.error({ error: message, stopReason }, 'sync failed');
      await withTimeout(
        finishRun(database.sql, owner, {
          status: 'failed',
          error: message,
          requests: client.stats.requests,
          retries: client.stats.retries,
          stopReason,
          resumable: !isPermanent(error),
        }),
        DB_WAIT_MS,
        'recording the failed run',
      ).catch(
        // The database itself may be what failed; the next run finds this one still running and takes it over.
        (closeError: unknown) => log.error({ error: describeError(closeError) }, 'could not record the failed run'),
      );
      deps.onFinish?.(summarize('failed', message, stopReason));
      throw error;
    }

    await finishRun(database.sql, owner, {
      status: 'succeeded',
      error: null,
      requests: client.stats.requests,
      retries: client.stats.retries,
      stopReason,
      resumable: true,
    });
    const summary = summarize('succeeded', null, stopReason, reconcile);
    deps.onFinish?.(summary);
    const { runId: _id, workspace: _ws, ...counts } = summary;
    log.info(counts, 'sync finished');
    return summary;
  } finally {
    // If the database went away, Postgres drops the advisory lock with the connection anyway.
    await withTimeout(lock.release(), DB_WAIT_MS, 'releasing the workspace lock').catch((error: unknown) =>
      deps.log.warn({ error: describeError(error) }, 'could not release the workspace lock'),
    );
  }
}

/** How long a failing run waits for the database to record its end before giving up (bounded: it may be the database that failed). */
const DB_WAIT_MS = 5_000;

/** Warns once per run for each enum value the spec does not list. */
function driftWarner(log: Logger): (notes: DriftNote[]) => void {
  const seen = new Set<string>();
  return (notes) => {
    for (const note of notes) {
      const key = `${note.field}=${note.value}`;
      if (seen.has(key)) continue;
      seen.add(key);
      log.warn({ field: note.field, value: note.value }, 'API sent a value the spec does not list; stored as text');
    }
  };
}
