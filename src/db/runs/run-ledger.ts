import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import type { RunKind } from '../../domain/runs.ts';
import type { RunCounters } from '../../domain/run-counters.ts';
import { withTimeout } from '../../util/with-timeout.ts';
import { writePage, type PageWrite, type PageWriteResult } from '../write-page.ts';
import { abandonRuns } from './abandon-runs.ts';
import { announceWait } from './announce-wait.ts';
import { finishRun, type RunOutcome } from './finish-run.ts';
import { resumeRun, type ResumedRun } from './resume-run.ts';
import type { RunOwner } from './run-owner.ts';
import { startRun } from './start-run.ts';
import { KINDS_OF_LANE, LANE_OF_KIND } from '../workspace-lock.ts';

/** Budget waits at least this long are recorded on the run (noteWait). */
export const LONG_WAIT_MS = 60_000;

/** The API's running totals of one attempt (the client's stats); the row gets what it does not have yet. */
export type ApiTotals = Pick<RunCounters, 'requests' | 'retries'>;

/** How a run stopped, without the request counts (the ledger adds what the row lacks). */
export type RunClose = Omit<RunOutcome, 'requests' | 'retries'>;

/**
 * One run's life in the database, in one place: opened (dead runs of its
 * lane abandoned, then resumed or started, with a fresh fencing token),
 * its pages committed with their counters (each proving the run is still this
 * attempt's), and closed (the kind's finish and the status in one
 * transaction). Each SQL operation stays in a file of its own beside this one;
 * this is the only caller a run needs.
 *
 * Only open one while holding the workspace's lock of the kind's lane (src/db/workspace-lock.ts).
 */
export class RunLedger {
  private recorded: ApiTotals = { requests: 0, retries: 0 };

  private constructor(
    private readonly sql: postgres.Sql,
    readonly owner: RunOwner,
    /** The earlier attempt this one carries on, if it resumed. */
    readonly resumed: ResumedRun | undefined,
    /** Runs of a dead process this open marked failed. */
    readonly abandoned: number[],
  ) {}

  /**
   * Closes runs of a dead process, then reopens the kind's unfinished run when
   * `resumes`, else starts one. Whichever attempt opened or resumed the run
   * last owns it.
   */
  static async open(sql: postgres.Sql, run: { workspace: string; kind: RunKind; resumes: boolean; lockPid: number }): Promise<RunLedger> {
    const abandoned = await abandonRuns(sql, run.workspace, KINDS_OF_LANE[LANE_OF_KIND[run.kind]]);
    const token = randomUUID();
    const resumed = run.resumes ? await resumeRun(sql, run.workspace, run.kind, token) : undefined;
    const { runId, openedAt } = resumed ?? (await startRun(sql, run.workspace, run.kind, token));
    return new RunLedger(sql, { runId, workspace: run.workspace, token, lockPid: run.lockPid, openedAt }, resumed, abandoned);
  }

  /** One page and the run's progress, in one transaction; `api` is the attempt's running totals. */
  async commitPage(write: Omit<PageWrite, 'owner' | 'requests' | 'retries'>, api: ApiTotals): Promise<PageWriteResult> {
    // Taken now: a request fetched ahead while this page is written counts for the next one.
    const totals = { requests: api.requests, retries: api.retries };
    const written = await writePage(this.sql, { ...write, owner: this.owner, ...this.unrecorded(totals) });
    this.recorded = totals;
    return written;
  }

  /**
   * A budget wait longer than LONG_WAIT_MS is written down (`alive_at`), so the status page does not call the run
   * stuck while it waits; shorter ones are covered by the pages around them. Never throws: a missed note only
   * risks a false "stuck", and the page write after the wait reports a lost database anyway.
   */
  async noteWait(untilMs: number, now = Date.now()): Promise<void> {
    if (untilMs - now < LONG_WAIT_MS) return;
    await announceWait(this.sql, this.owner, untilMs).catch(() => undefined);
  }

  /**
   * Closes the run: `finish` (a reconciliation's deletes) and the status commit
   * together or not at all. A close that fails leaves the row's counts for the
   * next close of this attempt.
   */
  async close<T>(outcome: RunClose, api: ApiTotals, finish?: (tx: postgres.TransactionSql) => Promise<T>): Promise<T | undefined> {
    const totals = { requests: api.requests, retries: api.retries };
    const result = await finishRun(this.sql, this.owner, { ...outcome, ...this.unrecorded(totals) }, finish);
    this.recorded = totals;
    return result;
  }

  /**
   * Records how the run stopped, within `ms`: the database itself may be what
   * failed, and then the next run finds the row still running and takes it
   * over. Never throws; returns the error it could not record with.
   */
  async recordStop(outcome: RunClose, api: ApiTotals, ms: number): Promise<unknown> {
    try {
      await withTimeout(this.close(outcome, api), ms, 'recording how the run stopped');
      return undefined;
    } catch (error) {
      return error;
    }
  }

  private unrecorded(api: ApiTotals): ApiTotals {
    return { requests: api.requests - this.recorded.requests, retries: api.retries - this.recorded.retries };
  }
}
