import { randomUUID } from 'node:crypto';
import { clientFromConfig } from '../api/client-from-config.ts';
import type { ThreetoneClient } from '../api/client.ts';
import type { BudgetWait, RequestBudget } from '../api/budget/budget.ts';
import { validateItems, type DriftNote } from '../api/validate.ts';
import { walkPages, type WalkedPage } from '../api/walk-pages.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { toPageRows } from '../db/page-rows.ts';
import { abandonRuns } from '../db/runs/abandon-runs.ts';
import type { ReconcileCounts } from '../db/runs/finish-reconcile.ts';
import { finishRun, type RunOutcome } from '../db/runs/finish-run.ts';
import { resumeRun, type ResumedRun } from '../db/runs/resume-run.ts';
import type { RunOwner } from '../db/runs/run-owner.ts';
import { startRun } from '../db/runs/start-run.ts';
import { lockWorkspace } from '../db/workspace-lock.ts';
import { writePage } from '../db/write-page.ts';
import type { RunKind, RunStatus, StopReason } from '../domain/runs.ts';
import { ApiRequestRejectedError } from '../errors/ApiRequestRejectedError.ts';
import { describeError } from '../errors/describe-error.ts';
import { RunOwnershipLostError } from '../errors/RunOwnershipLostError.ts';
import type { Logger } from '../log.ts';
import { batchCalls } from '../resources/batch-calls.ts';
import type { ListResource } from '../resources/resource.ts';
import { withTimeout } from '../util/with-timeout.ts';
import { RUN_POLICIES, type RunContext } from './run-kinds.ts';
import { stoppedRun } from './run-outcome.ts';
import { addPage, emptyProgress, type SyncProgress } from './run-progress.ts';

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
  /** The list endpoint synced. Default: batch calls. */
  resource?: ListResource;
  /** Shared budget (worker); default: an in-process one from config. */
  budget?: RequestBudget;
  /** Asks the run to stop (Ctrl-C, shutdown): the page being written still commits, and the run is recorded as interrupted. */
  signal?: AbortSignal;
  /** Called after each committed page (progress display). */
  onPage?: (progress: SyncProgress) => void;
  /** Called before each wait for the request budget (progress display). */
  onWait?: (wait: BudgetWait) => void;
  /** Called once the run is recorded, whatever its outcome (metrics). */
  onFinish?: (summary: SyncSummary) => void;
}

export interface SyncSummary extends SyncProgress {
  kind: RunKind;
  status: Exclude<RunStatus, 'running'>;
  error: string | null;
  stopReason: StopReason;
  /** Whether this attempt carried on an earlier attempt of the run. */
  resumed: boolean;
  /** 1-based number of the last page committed, counting earlier attempts (where a resumed run goes on from). */
  lastPage: number;
  durationMs: number;
  /** API responses by HTTP status, or `network` / `timeout`. */
  apiResponses: Record<string, number>;
  /** Reconciliation only. */
  reconcile?: ReconcileCounts;
}

/**
 * One run, top to bottom: lock the workspace → open (or resume) the run row →
 * walk the API's pages → validate each → write each page in its own
 * transaction → the kind's finish (a reconciliation marks deletes) → close
 * the run row. What differs between kinds is in run-kinds.ts. Throws after
 * recording why the run stopped.
 */
export async function runSync(deps: SyncDeps, target: SyncTarget): Promise<SyncSummary> {
  const { config, database } = deps;
  const resource = deps.resource ?? batchCalls;
  const policy = RUN_POLICIES[target.kind];
  const started = Date.now();
  const lock = await lockWorkspace(database.url, target.workspace);
  // Stops the walk between (or in the middle of) requests when asked to, or at once when the workspace lock is gone.
  const signal = deps.signal ? AbortSignal.any([deps.signal, lock.lost]) : lock.lost;
  try {
    const { owner, resumed } = await openRun(deps, target, lock.pid);
    const log = deps.log.child({ runId: owner.runId, workspace: target.workspace });
    const ctx: RunContext = { config, database, resource, owner, log, allowMassDelete: target.allowMassDelete === true };
    const client = clientFromConfig(config, { resource, apiKey: target.apiKey, budget: deps.budget, log, signal, onWait: deps.onWait });
    const record = new RunRecord(client);
    let progress = emptyProgress(owner.runId, target.workspace);
    const summarize = (outcome: Pick<SyncSummary, 'status' | 'error' | 'stopReason' | 'reconcile'>): SyncSummary => ({
      ...progress,
      requests: client.stats.requests,
      retries: client.stats.retries,
      apiResponses: { ...client.stats.byStatus },
      kind: target.kind,
      ...outcome,
      resumed: resumed !== undefined,
      lastPage: (resumed?.pages ?? 0) + progress.pages,
      durationMs: Date.now() - started,
    });

    try {
      await policy.open(ctx);
      const stopRule = await policy.stopRule(ctx);
      log.info({ kind: target.kind, resumedFromPage: resumed ? resumed.pages + 1 : undefined }, 'sync started');
      const commit = pageCommitter(ctx, policy.recordsSeen, record);
      let stopReason: StopReason = 'end';
      for await (const page of pagesFrom(client, resumed?.cursor ?? null, { signal, prefetch: stopRule === undefined, log })) {
        const committed = await commit(page, (resumed?.pages ?? 0) + progress.pages + 1);
        progress = addPage(progress, { ...committed, requests: client.stats.requests, retries: client.stats.retries });
        deps.onPage?.(progress);
        if (signal.aborted) throw signal.reason ?? new Error('sync interrupted');
        if (stopRule?.afterPage(committed.listedValidIds, committed.changed)) {
          stopReason = 'caught_up';
          break;
        }
      }
      if (stopReason === 'end') stopRule?.atEnd?.(log);
      const reconcile = await policy.finish(ctx);
      await finishRun(database.sql, owner, { status: 'succeeded', error: null, stopReason, resumable: true, ...record.unrecorded() });
      const summary = summarize({ status: 'succeeded', error: null, stopReason, reconcile });
      deps.onFinish?.(summary);
      const { runId: _id, workspace: _ws, ...counts } = summary;
      log.info(counts, 'sync finished');
      return summary;
    } catch (caught) {
      const error = lock.lost.aborted && !(caught instanceof RunOwnershipLostError) ? new RunOwnershipLostError(owner.runId, target.workspace, describeError(lock.lost.reason)) : caught;
      const stopped = stoppedRun(error, deps.signal);
      if (stopped.status === 'interrupted') log.info({ stopReason: stopped.stopReason, lastPage: (resumed?.pages ?? 0) + progress.pages }, 'sync interrupted');
      else log.error({ error: stopped.message, stopReason: stopped.stopReason }, 'sync failed');
      await recordStop(database, owner, { status: stopped.status, error: stopped.message, stopReason: stopped.stopReason, resumable: stopped.resumable, ...record.unrecorded() }, log);
      deps.onFinish?.(summarize({ status: stopped.status, error: stopped.message, stopReason: stopped.stopReason }));
      throw error;
    }
  } finally {
    // If the database went away, Postgres drops the advisory lock with the connection anyway.
    await withTimeout(lock.release(), DB_WAIT_MS, 'releasing the workspace lock').catch((error: unknown) =>
      deps.log.warn({ error: describeError(error) }, 'could not release the workspace lock'),
    );
  }
}

/** How long a stopping run waits for the database to record its end before giving up (bounded: it may be the database that failed). */
const DB_WAIT_MS = 5_000;

/**
 * Under the workspace lock: closes runs of a dead process, then reopens the
 * kind's unfinished run if it resumes, else opens a new one. Each attempt
 * gets a fresh fencing token: whichever attempt opened or resumed the run
 * last owns it.
 */
async function openRun(deps: SyncDeps, target: SyncTarget, lockPid: number): Promise<{ owner: RunOwner; resumed: ResumedRun | undefined }> {
  const { sql } = deps.database;
  const abandoned = await abandonRuns(sql, target.workspace);
  if (abandoned.length > 0) deps.log.warn({ workspace: target.workspace, runIds: abandoned }, 'marked runs of a stopped process as failed');
  const token = randomUUID();
  const resumed = RUN_POLICIES[target.kind].resumes ? await resumeRun(sql, target.workspace, target.kind, token) : undefined;
  const runId = resumed?.runId ?? (await startRun(sql, target.workspace, target.kind, token));
  return { owner: { runId, workspace: target.workspace, token, lockPid }, resumed };
}

/**
 * The run row's request counters are written with each page, so a run that
 * stops (or a process that dies) still shows what it spent; this tracks what
 * the row does not have yet.
 */
class RunRecord {
  private recorded = { requests: 0, retries: 0 };

  constructor(private readonly client: ThreetoneClient) {}

  /** Requests and retries not yet on the run row; counts them as recorded. */
  unrecorded(): { requests: number; retries: number } {
    const { requests, retries } = this.client.stats;
    const delta = { requests: requests - this.recorded.requests, retries: retries - this.recorded.retries };
    this.recorded = { requests, retries };
    return delta;
  }
}

interface CommittedPage {
  items: number;
  rejected: number;
  written: Awaited<ReturnType<typeof writePage>>;
  /** Ids of the page's valid items, for the stop rule. */
  listedValidIds: string[];
  /** Versions added or amended. */
  changed: number;
}

/** Validates one page and commits it, with the run's progress, in one transaction. */
function pageCommitter(ctx: RunContext, recordSeen: boolean, record: RunRecord): (page: WalkedPage, pageNumber: number) => Promise<CommittedPage> {
  const { database, resource, owner, log } = ctx;
  const warnDrift = driftWarner(log);
  return async (page, pageNumber) => {
    const { valid, rejected, drift } = validateItems(resource, page.items);
    warnDrift(drift);
    const listedValidIds = valid.map((v) => String(v.item[resource.idField]));
    const written = await writePage(database.sql, {
      resource,
      owner,
      page: pageNumber,
      rows: toPageRows(resource, valid),
      rejected,
      itemsSeen: page.items.length,
      nextCursor: page.nextCursor,
      listedIds: [...listedValidIds, ...rejected.flatMap((r) => (r.itemId === null ? [] : [r.itemId]))],
      recordSeen,
      ...record.unrecorded(),
    });
    if (rejected.length > 0) log.warn({ page: pageNumber, rejected: rejected.length, firstReason: rejected[0]?.reason }, 'items rejected');
    if (written.refused.length > 0) {
      log.warn({ page: pageNumber, rejected: written.refused.length, firstReason: written.refused[0]?.reason }, 'items refused by Postgres: set aside, the rest of the page is stored');
    }
    if (written.undeleted > 0) log.info({ page: pageNumber, undeleted: written.undeleted }, 'jobs marked deleted are listed again: mark cleared');
    const { refused: _refused, ...counts } = written;
    log.debug({ page: pageNumber, items: page.items.length, ...counts }, 'page committed');
    return { items: page.items.length, rejected: rejected.length, written, listedValidIds, changed: written.versionsAdded + written.versionsAmended };
  };
}

/**
 * The pages from `cursor` on. A saved cursor can expire: if the API rejects
 * it before this attempt committed any page, the walk starts again from the
 * top (a resumed run's recorded progress stays; seen ids are only added to).
 */
async function* pagesFrom(
  client: ThreetoneClient,
  cursor: string | null,
  options: { signal: AbortSignal; prefetch: boolean; log: Logger },
): AsyncGenerator<WalkedPage> {
  let yielded = false;
  try {
    for await (const page of walkPages(client, { startCursor: cursor, signal: options.signal, prefetch: options.prefetch })) {
      yielded = true;
      yield page;
    }
  } catch (error) {
    if (cursor === null || yielded || !(error instanceof ApiRequestRejectedError)) throw error;
    options.log.warn({ error: describeError(error) }, 'the API rejected the saved cursor; walking again from the top');
    yield* walkPages(client, { startCursor: null, signal: options.signal, prefetch: options.prefetch });
  }
}

/** Records how a run stopped, within DB_WAIT_MS: the database itself may be what failed, and then the next run finds the row still running and takes it over. */
async function recordStop(database: Database, owner: RunOwner, outcome: RunOutcome, log: Logger): Promise<void> {
  await withTimeout(finishRun(database.sql, owner, outcome), DB_WAIT_MS, 'recording how the run stopped').catch((closeError: unknown) =>
    log.error({ error: describeError(closeError) }, 'could not record how the run stopped'),
  );
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
