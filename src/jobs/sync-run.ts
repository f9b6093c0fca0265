import { clientFromConfig } from '../api/client-from-config.ts';
import type { ThreetoneClient } from '../api/client.ts';
import type { RequestBudget } from '../budget/budget.ts';
import { walkPages, type WalkedPage } from '../api/walk-pages.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { countLive } from '../db/runs/count-live.ts';
import type { ReconcileCounts } from '../db/runs/finish-reconcile.ts';
import { RunLedger } from '../db/runs/run-ledger.ts';
import { LANE_OF_KIND, lockWorkspace } from '../db/workspace-lock.ts';
import { addCounters, emptyCounters, type RunCounters } from '../domain/run-counters.ts';
import type { ListOrder, RunKind, RunStatus, StopReason } from '../domain/runs.ts';
import { ApiRequestRejectedError } from '../errors/ApiRequestRejectedError.ts';
import { CursorRejectedError } from '../errors/CursorRejectedError.ts';
import { describeError } from '../errors/describe-error.ts';
import { RunOwnershipLostError } from '../errors/RunOwnershipLostError.ts';
import type { Logger } from '../log.ts';
import { preparePage, type DriftNote } from '../pages/prepare-page.ts';
import { batchCalls } from '../resources/batch-calls.ts';
import type { ListResource } from '../resources/resource.ts';
import { withTimeout } from '../util/with-timeout.ts';
import type { WalkTrust } from './delete-guard.ts';
import { headBoundary, nextSweepBoundary, SWEEP_CLOCK_MARGIN_S, SWEEP_MAX_ROUNDS, sweepRoundReached } from './head-sweep.ts';
import { ListOrderWatch, worstOrder } from './list-order.ts';
import { RUN_POLICIES, type RunContext, type RunPolicy } from './run-kinds.ts';
import { RunEvents } from './run-events.ts';
import { stoppedRun } from './run-outcome.ts';
import { WalkBound } from './walk-bound.ts';

export interface SyncTarget {
  workspace: string;
  /** Resolved from config when the run starts; never stored or logged. */
  apiKey: string;
  /** Where the key was configured (WorkspaceConfig.keySource), named when the API rejects it. */
  keySource?: string | undefined;
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
  /** Where the run tells what happens (metrics, a progress line, tests); default: a bus nobody listens to. */
  events?: RunEvents;
}

/** Counters of one attempt, as it goes (a resumed run's row also counts earlier attempts). */
export interface SyncProgress extends RunCounters {
  runId: number;
  workspace: string;
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
  /** The order the API served this attempt's pages in (undefined before a page). */
  listOrder?: ListOrder | undefined;
  /** Walks started again from the top in this attempt because the API rejected a cursor. */
  walkRestarts: number;
}

/**
 * One run, top to bottom: lock the workspace → open (or resume) the run
 * through its ledger → walk the API's pages, checking the list's order and
 * the walk's bound → prepare each page (src/pages) and commit it in its own
 * transaction → a reconciliation reads the head again if the list moves →
 * close the run with the kind's finish (a reconciliation marks deletes) in one
 * transaction. What differs between kinds is in run-kinds.ts; what happens is
 * told on `events`. Throws after recording why the run stopped.
 */
export async function runSync(deps: SyncDeps, target: SyncTarget): Promise<SyncSummary> {
  const { config, database } = deps;
  const resource = deps.resource ?? batchCalls;
  const policy = RUN_POLICIES[target.kind];
  const started = Date.now();
  const lock = await lockWorkspace(database.url, target.workspace, { lane: LANE_OF_KIND[target.kind] });
  // Stops the walk between (or in the middle of) requests when asked to, or at once when the workspace lock is gone.
  const signal = deps.signal ? AbortSignal.any([deps.signal, lock.lost]) : lock.lost;
  const events = deps.events ?? new RunEvents();
  try {
    const ledger = await RunLedger.open(database.sql, { workspace: target.workspace, kind: target.kind, resumes: policy.resumes, lockPid: lock.pid });
    const { owner, resumed } = ledger;
    if (ledger.abandoned.length > 0) deps.log.warn({ workspace: target.workspace, runIds: ledger.abandoned }, 'marked runs of a stopped process as failed');
    const log = deps.log.child({ runId: owner.runId, workspace: target.workspace });
    const ctx: RunContext = { config, database, resource, owner, log, allowMassDelete: target.allowMassDelete === true };
    const run = { runId: owner.runId, workspace: target.workspace };
    const client = clientFromConfig(config, {
      resource,
      apiKey: target.apiKey,
      keySource: target.keySource,
      budget: deps.budget,
      bulk: policy.bulk,
      log,
      signal,
      onWait: (wait) => {
        events.emit('budget:wait', { ...run, ...wait });
        void ledger.noteWait(wait.until);
      },
      onRetry: (retry) => events.emit('request:retry', { ...run, ...retry }),
    });
    const walk = new WalkState(ctx, target.kind, policy, ledger, client, signal, events);
    try {
      await policy.open(ctx);
      const stopRule = await policy.stopRule(ctx);
      const resumedFromPage = resumed ? resumed.pages + 1 : undefined;
      log.info({ kind: target.kind, resumedFromPage }, 'sync started');
      events.emit('run:started', { ...run, kind: target.kind, resumedFromPage });
      let stopReason: StopReason = 'end';
      for await (const page of walk.pages(resumed?.cursor ?? null, stopRule === undefined)) {
        const committed = await walk.commit(page);
        if (signal.aborted) throw signal.reason ?? new Error('sync interrupted');
        // An order that lets a job move anywhere makes "caught up" unknowable: walk on to the end.
        if (stopRule?.afterPage(committed.listedValidIds, committed.changed) && walk.order !== 'unknown') {
          stopReason = 'caught_up';
          break;
        }
      }
      if (stopReason === 'end') stopRule?.atEnd?.(log);
      const trust = stopReason === 'end' && policy.sweepsHead ? await walk.sweepHead() : walk.trust(true);
      const reconcile = await ledger.close({ status: 'succeeded', error: null, stopReason, resumable: true, ...walk.closing() }, client.stats, (tx) =>
        policy.finish(ctx, tx, trust),
      );
      const summary = walk.summary({ status: 'succeeded', error: null, stopReason, reconcile }, started);
      events.emit('run:finished', summary);
      const { runId: _id, workspace: _ws, ...counts } = summary;
      log.info(counts, 'sync finished');
      return summary;
    } catch (caught) {
      const error = lock.lost.aborted && !(caught instanceof RunOwnershipLostError) ? new RunOwnershipLostError(owner.runId, target.workspace, describeError(lock.lost.reason)) : caught;
      const stopped = stoppedRun(error, deps.signal);
      if (stopped.status === 'interrupted') log.info({ stopReason: stopped.stopReason, lastPage: walk.lastPage }, 'sync interrupted');
      else log.error({ error: stopped.message, stopReason: stopped.stopReason }, 'sync failed');
      const unrecorded = await ledger.recordStop(
        { status: stopped.status, error: stopped.message, stopReason: stopped.stopReason, resumable: stopped.resumable, ...walk.closing() },
        client.stats,
        DB_WAIT_MS,
      );
      if (unrecorded !== undefined) log.error({ error: describeError(unrecorded) }, 'could not record how the run stopped');
      events.emit('run:finished', walk.summary({ status: stopped.status, error: stopped.message, stopReason: stopped.stopReason }, started));
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

interface CommittedPage {
  /** Ids of the page's valid items, for the stop rule. */
  listedValidIds: string[];
  /** Last update of each valid item (API time, unix seconds), for the head sweep. */
  updatedTimes: number[];
  /** Versions added or amended. */
  changed: number;
}

/** A page from the walk; `restarted` on the first page of each walk from the top after a rejected cursor. */
interface RestartedPage extends WalkedPage {
  restarted: boolean;
}

/**
 * One attempt's walk: its pages from the API to the tables, and what the walk
 * learns on the way (the order the list comes in, how far it may go, how often
 * it started again), which decides whether its misses may count as deletes.
 */
class WalkState {
  progress: SyncProgress;
  restarts = 0;
  private readonly orders: ListOrder[] = [];
  private watch = new ListOrderWatch();
  private bound: WalkBound | undefined;
  private warnedOrder = false;
  /** The newest last update on the first page of this attempt's walk from the top (API time): where the head sweep reads down to. */
  private walkHeadS: number | undefined;
  /** Where an earlier segment's order broke. */
  private brokenEvidence: string | undefined;
  private readonly warnDrift: (notes: DriftNote[]) => void;
  /** When what moved may have moved past this run's cursor: its first attempt's start (local clock). */
  private readonly runStartedAtMs: number;

  private readonly resumed: RunLedger['resumed'];

  constructor(
    private readonly ctx: RunContext,
    private readonly kind: RunKind,
    private readonly policy: RunPolicy,
    private readonly ledger: RunLedger,
    private readonly client: ThreetoneClient,
    private readonly signal: AbortSignal,
    private readonly events: RunEvents,
  ) {
    const resumed = ledger.resumed;
    this.resumed = resumed;
    this.progress = { runId: ctx.owner.runId, workspace: ctx.owner.workspace, ...emptyCounters() };
    this.warnDrift = driftWarner(ctx.log);
    this.runStartedAtMs = resumed?.startedAtMs ?? Date.now();
    // Pages committed by earlier attempts count towards this run's deletes: so does the order they came in.
    if (resumed?.listOrder) this.orders.push(resumed.listOrder);
  }

  /** 1-based number of the last page committed, counting earlier attempts. */
  get lastPage(): number {
    return (this.resumed?.pages ?? 0) + this.progress.pages;
  }

  /** The least trusted order any segment of this attempt was served in so far; undefined before a page. */
  get order(): ListOrder | undefined {
    if (this.watch.pages === 0 && this.orders.length === 0) return undefined;
    return worstOrder(this.watch.pages === 0 ? this.orders : [...this.orders, this.watch.order]);
  }

  /**
   * The pages from `cursor` on. A cursor can expire, or an API deploy can
   * rotate every cursor handed out: when the API rejects one (the saved cursor
   * of a resumed run, or any cursor mid-walk), the walk starts again from the
   * top, up to WALK_MAX_RESTARTS times in this attempt. Committed pages and a
   * reconciliation's seen ids stay; only the first page's request, which
   * carries no cursor, is the request itself being wrong.
   */
  async *pages(cursor: string | null, prefetch: boolean): AsyncGenerator<RestartedPage> {
    const { config, log } = this.ctx;
    let from = cursor;
    let restarted = false;
    for (;;) {
      let yielded = false;
      this.startSegment();
      try {
        for await (const page of walkPages(this.client, { startCursor: from, signal: this.signal, prefetch })) {
          yield { ...page, restarted: restarted && !yielded };
          yielded = true;
        }
        return;
      } catch (error) {
        if (!(error instanceof ApiRequestRejectedError) || (from === null && !yielded)) throw error;
        if (this.restarts >= config.walk.maxRestarts) throw new CursorRejectedError(this.restarts, error);
        this.restarts++;
        log.warn(
          { error: describeError(error), restart: this.restarts, maxRestarts: config.walk.maxRestarts },
          `the API rejected the walk's cursor (expired or rotated); walking again from the top (restart ${this.restarts} of ${config.walk.maxRestarts})`,
        );
        from = null;
        restarted = true;
      }
    }
  }

  /** Validates one page and commits it, with the run's progress, in one transaction; then checks the walk's order and bound. */
  async commit(page: WalkedPage): Promise<CommittedPage> {
    const { database, resource, owner, log } = this.ctx;
    const pageNumber = this.lastPage + 1;
    const { rows, rejected, listedIds, validIds, drift, orderKeys } = preparePage(resource, page.items);
    this.warnDrift(drift);
    const written = await this.ledger.commitPage(
      { resource, page: pageNumber, rows, rejected, itemsSeen: page.items.length, nextCursor: page.nextCursor, listedIds, recordSeen: this.policy.recordsSeen, lendSeen: this.policy.lendsSeen },
      this.client.stats,
    );
    if (rejected.length > 0) log.warn({ page: pageNumber, rejected: rejected.length, firstReason: rejected[0]?.reason }, 'items rejected');
    if (written.refused.length > 0) {
      log.warn({ page: pageNumber, rejected: written.refused.length, firstReason: written.refused[0]?.reason }, 'items refused by Postgres: set aside, the rest of the page is stored');
    }
    if (written.undeleted > 0) log.info({ page: pageNumber, undeleted: written.undeleted }, 'jobs marked deleted are listed again: mark cleared');
    const { refused: _refused, ...counts } = written;
    log.debug({ page: pageNumber, items: page.items.length, ...counts }, 'page committed');
    // Requests as the client counts them: one fetched ahead is spent already, though the row gets it with the next page.
    const { requests, retries } = this.client.stats;
    this.progress = { ...this.progress, ...addCounters(this.progress, written.counters), requests, retries };
    this.events.emit('page:committed', { ...this.progress, page: pageNumber });

    // Only a walk that began at the top of the list, at this run's first page, knows the head from before it moved.
    if (this.lastPage === 1 && this.restarts === 0) this.walkHeadS = headBoundary(orderKeys.map((k) => k.updated), Date.now() / 1000);
    this.watch.observe(orderKeys);
    if (this.watch.order === 'unknown' && !this.warnedOrder) {
      this.warnedOrder = true;
      log.warn(
        { page: pageNumber, evidence: this.watch.evidence },
        'the API lists jobs in neither creation nor last-update order: this walk will not stop early, and a reconciliation will mark no deletes',
      );
    }
    this.bound ??= new WalkBound({ storedLive: await countLive(database.sql, resource, owner.workspace), pageSize: this.ctx.config.pageSize, maxPages: this.ctx.config.walk.maxPages });
    this.bound.afterPage(validIds);
    return { listedValidIds: validIds, updatedTimes: orderKeys.map((k) => k.updated), changed: written.versionsAdded + written.versionsAmended };
  }

  /**
   * After a complete walk: the head of the list again, in rounds, until
   * nothing can have moved past the cursor (head-sweep.ts). Only a list by
   * last update needs it: by creation nothing moves, and in an order not
   * recognised the deletes are refused anyway.
   */
  async sweepHead(): Promise<WalkTrust> {
    if (this.order !== 'updated') return this.trust(true);
    const { log } = this.ctx;
    // The walk's own first page, when this attempt read the list from its top; else the run's start by our clock.
    let boundaryS = this.walkHeadS ?? Math.floor(this.runStartedAtMs / 1000) - SWEEP_CLOCK_MARGIN_S;
    for (let round = 1; round <= SWEEP_MAX_ROUNDS; round++) {
      let pages = 0;
      let roundHeadS: number | undefined;
      for await (const page of this.pages(null, false)) {
        // A restart inside the round makes it a round of several requests: another round follows.
        const committed = await this.commit(page);
        if (page.restarted || pages === 0) roundHeadS = headBoundary(committed.updatedTimes, Date.now() / 1000);
        pages += page.restarted ? 2 : 1;
        if (this.signal.aborted) throw this.signal.reason ?? new Error('sync interrupted');
        if (sweepRoundReached(committed.updatedTimes, boundaryS, page.nextCursor === null)) break;
      }
      log.info({ round, pages, boundary: new Date(boundaryS * 1000).toISOString() }, 'list ordered by last update: read its head again for jobs that moved past the cursor');
      const next = nextSweepBoundary({ pages, headBoundaryS: roundHeadS ?? boundaryS });
      if (next === undefined) return this.trust(true);
      boundaryS = next;
    }
    return this.trust(false);
  }

  trust(headSettled: boolean): WalkTrust {
    return { order: this.order ?? 'created', orderEvidence: this.watch.evidence ?? this.brokenEvidence, headSettled };
  }

  /** What the run row gets when this attempt closes (not yet written: a close that rolls back leaves it for the next). */
  closing(): { listOrder: ListOrder | undefined; walkRestarts: number } {
    return { listOrder: this.order, walkRestarts: this.restarts };
  }

  summary(outcome: Pick<SyncSummary, 'status' | 'error' | 'stopReason' | 'reconcile'>, startedMs: number): SyncSummary {
    return {
      ...this.progress,
      requests: this.client.stats.requests,
      retries: this.client.stats.retries,
      apiResponses: { ...this.client.stats.byStatus },
      kind: this.kind,
      ...outcome,
      resumed: this.resumed !== undefined,
      lastPage: this.lastPage,
      durationMs: Date.now() - startedMs,
      listOrder: this.order,
      walkRestarts: this.restarts,
    };
  }

  /** Each walk (from a cursor, or from the top again) is watched afresh: its first page follows no earlier page. */
  private startSegment(): void {
    if (this.watch.pages > 0) {
      this.orders.push(this.watch.order);
      this.brokenEvidence ??= this.watch.evidence;
      this.watch = new ListOrderWatch();
    }
    this.bound = undefined;
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
