import type postgres from 'postgres';
import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { dropOtherSeen } from '../db/runs/drop-other-seen.ts';
import { finishReconcile, type ReconcileCounts } from '../db/runs/finish-reconcile.ts';
import { hasCompleteWalk } from '../db/runs/has-complete-walk.ts';
import { lastListOrder } from '../db/runs/last-list-order.ts';
import { nonFinalIds } from '../db/runs/non-final-ids.ts';
import type { RunOwner } from '../db/runs/run-owner.ts';
import type { RunKind } from '../domain/runs.ts';
import type { Logger } from '../log.ts';
import type { ListResource } from '../resources/resource.ts';
import { refuseDeletes, refuseUntrustedWalk, type WalkTrust } from './delete-guard.ts';
import { IncrementalStop } from './incremental-stop.ts';

/** What a kind's hooks may use. */
export interface RunContext {
  config: Config;
  database: Database;
  resource: ListResource;
  owner: RunOwner;
  log: Logger;
  /** `reconcile --allow-mass-delete`. */
  allowMassDelete: boolean;
}

/** Decides after each committed page whether the walk may stop before the last page. */
export interface StopRule {
  afterPage(listedIds: string[], changed: number): boolean;
  /** Logged when the walk reached the last page anyway. */
  atEnd?(log: Logger): void;
}

/**
 * How one kind of run differs from the others; the run loop (sync-run.ts)
 * reads these and never asks which kind it runs.
 */
export interface RunPolicy {
  /** Whether a failed or interrupted attempt is carried on from its saved cursor rather than started again. */
  resumes: boolean;
  /** Whether each page records the ids it listed (for marking deletes at the end). */
  recordsSeen: boolean;
  /** Whether each page records the ids it listed as seen by a reconciliation running beside it (write-page.ts). */
  lendsSeen: boolean;
  /**
   * Whether its requests leave the budget's reserve (THREETONE_BUDGET_FRESH_RESERVE) to the runs that keep the copy
   * fresh: a long walk takes what incremental syncs of the same key leave.
   */
  bulk: boolean;
  /** Whether a complete walk reads the head of the list again for jobs that moved past the cursor (head-sweep.ts). */
  sweepsHead: boolean;
  /** Once the run is open, before the first page. */
  open(ctx: RunContext): Promise<void>;
  /** The rule to stop early, or undefined to walk every page. */
  stopRule(ctx: RunContext): Promise<StopRule | undefined>;
  /** After the last page, in the transaction that closes the run as succeeded; `walk` says what the walk saw of the list's order. */
  finish(ctx: RunContext, tx: postgres.TransactionSql, walk: WalkTrust): Promise<ReconcileCounts | undefined>;
}

const nothing = async () => undefined;

/** Every page; resumable, because a walk that restarts from the top after each transient error may never finish on a big workspace. */
const full: RunPolicy = { resumes: true, recordsSeen: false, lendsSeen: false, bulk: true, sweepsHead: false, open: nothing, stopRule: nothing, finish: nothing };

/** From the newest page until caught up. Cheap to redo, and its stop rule needs the whole walk's view, so it never resumes. */
const incremental: RunPolicy = {
  resumes: false,
  recordsSeen: false,
  lendsSeen: true,
  bulk: false,
  sweepsHead: false,
  open: nothing,
  async stopRule({ config, database, resource, owner, log }) {
    // Until some run has walked every page, the copy may have gaps further down.
    if (!(await hasCompleteWalk(database.sql, owner.workspace))) return undefined;
    // Stopping early trusts that a changed job moves toward the head; the run loop also stops trusting it mid-walk.
    if ((await lastListOrder(database.sql, owner.workspace)) === 'unknown') {
      log.warn('the last walk found the list in neither creation nor last-update order: this incremental sync walks every page');
      return undefined;
    }
    const rule = new IncrementalStop(await nonFinalIds(database.sql, resource, owner.workspace), config.incrementalQuietPages);
    return {
      afterPage: (listedIds, changed) => rule.afterPage(listedIds, changed),
      atEnd: (log) => {
        if (rule.pending > 0) {
          log.info({ unseenNonFinal: rule.pending }, 'incremental walk read every page: some non-final jobs are no longer listed (reconciliation will mark them)');
        }
      },
    };
  },
  finish: nothing,
};

/**
 * Every page (resumable), recording each listed id, then the head again until
 * nothing can have moved past the cursor; then marks what no attempt listed as
 * deleted, unless the list's order was not recognised, and within the delete guard.
 */
const reconcile: RunPolicy = {
  resumes: true,
  recordsSeen: true,
  lendsSeen: false,
  bulk: true,
  sweepsHead: true,
  async open({ database, owner }) {
    await dropOtherSeen(database.sql, owner.workspace, owner.runId);
  },
  stopRule: nothing,
  async finish({ config, owner, allowMassDelete }, tx, walk) {
    const guard = { maxRatio: config.reconcile.maxDeleteRatio, allowMassDelete };
    return finishReconcile(tx, owner, (counts) => refuseUntrustedWalk(counts, walk) ?? refuseDeletes(counts, guard));
  },
};

export const RUN_POLICIES: Record<RunKind, RunPolicy> = { full, incremental, reconcile };
