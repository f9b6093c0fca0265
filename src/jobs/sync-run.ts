import { ThreetoneClient } from '../api/client.ts';
import { keyFingerprint } from '../api/key-fingerprint.ts';
import { createMemoryBudget, type RequestBudget } from '../api/request-budget.ts';
import { DEFAULT_RETRY } from '../api/retry-policy.ts';
import { validateItems, type DriftNote } from '../api/validate.ts';
import { walkPages } from '../api/walk-pages.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { toPageRows } from '../db/page-rows.ts';
import { abandonRuns } from '../db/runs/abandon-runs.ts';
import { finishRun } from '../db/runs/finish-run.ts';
import { startRun, type RunKind } from '../db/runs/start-run.ts';
import { lockWorkspace } from '../db/workspace-lock.ts';
import { writePage } from '../db/write-page.ts';
import { describeError } from '../errors/describe-error.ts';
import type { Logger } from '../log.ts';

export interface SyncTarget {
  workspace: string;
  /** Resolved from config when the run starts; never stored or logged. */
  apiKey: string;
  kind: RunKind;
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
  pages: number;
  itemsSeen: number;
  versionsAdded: number;
  versionsAmended: number;
  rowsInserted: number;
  rowsUpdated: number;
  rejected: number;
  requests: number;
  retries: number;
}

export interface SyncSummary extends SyncProgress {
  kind: RunKind;
  status: 'succeeded' | 'failed';
  error: string | null;
  durationMs: number;
  /** API responses by HTTP status, or `network` / `timeout`. */
  apiResponses: Record<string, number>;
}

/**
 * One run, top to bottom: lock the workspace → open a run record → walk the
 * API's pages → validate each → write each page in its own transaction →
 * close the run record. Throws after recording the failure.
 */
export async function runSync(deps: SyncDeps, target: SyncTarget): Promise<SyncSummary> {
  const { config, database, signal } = deps;
  const started = Date.now();
  const lock = await lockWorkspace(database.sql, target.workspace);
  try {
    const abandoned = await abandonRuns(database.db, target.workspace);
    if (abandoned.length > 0) deps.log.warn({ workspace: target.workspace, runIds: abandoned }, 'marked runs of a stopped process as failed');

    const runId = await startRun(database.db, target.workspace, target.kind);
    const log = deps.log.child({ runId, workspace: target.workspace });
    const client = new ThreetoneClient({
      baseUrl: config.baseUrl,
      apiKey: target.apiKey,
      pageSize: config.pageSize,
      timeoutMs: config.timeoutMs,
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
      requests: 0,
      retries: 0,
    };
    const warnDrift = driftWarner(log);
    const summarize = (status: SyncSummary['status'], error: string | null): SyncSummary => ({
      ...progress,
      requests: client.stats.requests,
      retries: client.stats.retries,
      kind: target.kind,
      status,
      error,
      durationMs: Date.now() - started,
      apiResponses: { ...client.stats.byStatus },
    });
    log.info({ kind: target.kind }, 'sync started');

    try {
      for await (const page of walkPages(client, { signal })) {
        const { valid, rejected, drift } = validateItems(page.items);
        warnDrift(drift);
        const written = await writePage(database.sql, {
          runId,
          workspace: target.workspace,
          page: page.number,
          rows: toPageRows(valid),
          rejected,
          itemsSeen: page.items.length,
          nextCursor: page.nextCursor,
        });
        progress.pages++;
        progress.itemsSeen += page.items.length;
        progress.versionsAdded += written.versionsAdded;
        progress.versionsAmended += written.versionsAmended;
        progress.rowsInserted += written.rowsInserted;
        progress.rowsUpdated += written.rowsUpdated;
        progress.rejected += rejected.length;
        progress.requests = client.stats.requests;
        progress.retries = client.stats.retries;
        if (rejected.length > 0) log.warn({ page: page.number, rejected: rejected.length, firstReason: rejected[0]?.reason }, 'items rejected');
        log.debug({ page: page.number, items: page.items.length, ...written }, 'page committed');
        deps.onPage?.({ ...progress });
        if (signal?.aborted) throw signal.reason ?? new Error('sync interrupted');
      }
    } catch (error) {
      const message = signal?.aborted ? `interrupted (${describeError(signal.reason)}); the next attempt walks again` : describeError(error);
      log.error({ error: message }, 'sync failed');
      await finishRun(database.db, runId, { status: 'failed', error: message, requests: client.stats.requests, retries: client.stats.retries }).catch(
        // The database itself may be what failed; the next run marks this one abandoned.
        (closeError: unknown) => log.error({ error: describeError(closeError) }, 'could not record the failed run'),
      );
      deps.onFinish?.(summarize('failed', message));
      throw error;
    }

    await finishRun(database.db, runId, { status: 'succeeded', error: null, requests: client.stats.requests, retries: client.stats.retries });
    const summary = summarize('succeeded', null);
    deps.onFinish?.(summary);
    const { runId: _id, workspace: _ws, ...counts } = summary;
    log.info(counts, 'sync finished');
    return summary;
  } finally {
    await lock.release();
  }
}

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
