import { expectedPages } from '../budget/eta.ts';
import { openBudgetForCli } from '../budget/open-budgets.ts';
import type { Config, WorkspaceConfig } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { workspaceTotals } from '../db/workspace-totals.ts';
import type { RunKind } from '../domain/runs.ts';
import { describeError } from '../errors/describe-error.ts';
import { RunEvents } from '../jobs/run-events.ts';
import { runSync, type SyncSummary } from '../jobs/sync-run.ts';
import type { Logger } from '../log.ts';
import { progressLine } from './progress-line.ts';

/** The shell's code for a process stopped by Ctrl-C: scripts and supervisors read it as "interrupted", not "failed". */
export const EXIT_INTERRUPTED = 130;

export interface RunHereResult {
  summaries: SyncSummary[];
  /** One line per workspace whose run failed; the others still ran. */
  failures: string[];
  /** Set when Ctrl-C or SIGTERM stopped the runs. */
  interrupted: boolean;
}

/**
 * `sync` and `reconcile` in this process, one workspace after the other,
 * with the terminal's progress line and the key's request budget (shared
 * with the workers through Redis when REDIS_URL is set). The first Ctrl-C or
 * SIGTERM lets the page being written commit, records the run as interrupted
 * and stops; a second one exits at once. A workspace that fails does not stop
 * the others.
 */
export async function runHere(
  config: Config,
  log: Logger,
  database: Database,
  workspaces: WorkspaceConfig[],
  target: { kind: RunKind; allowMassDelete?: boolean },
): Promise<RunHereResult> {
  const budgets = await openBudgetForCli(config);
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(EXIT_INTERRUPTED);
    stop.abort(new Error(signal === 'SIGINT' ? 'Ctrl-C' : signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const result: RunHereResult = { summaries: [], failures: [], interrupted: false };
  try {
    for (const workspace of workspaces) {
      if (stop.signal.aborted) break;
      const budget = budgets.forKey(workspace.apiKey);
      // The walk's length is guessed from what the copy holds. No ETA where that says nothing: an incremental walk
      // stops early, a first walk has nothing stored yet, and a walk already past the guess has outgrown it.
      const stored = target.kind === 'incremental' ? 0 : (await workspaceTotals(database.sql, workspace.name)).jobs;
      const pages = stored > 0 ? expectedPages(stored, config.pageSize) : undefined;
      const progress = progressLine(process.stderr, {
        eta: pages === undefined || !budget.eta ? undefined : async (p) => (p.pages >= pages ? null : (await budget.eta!(pages - p.pages)).ms),
      });
      let summary: SyncSummary | undefined;
      const events = new RunEvents();
      events.on('page:committed', progress.onPage);
      events.on('budget:wait', progress.onWait);
      events.on('run:finished', (s) => (summary = s));
      try {
        await runSync(
          { config, database, log, budget, signal: stop.signal, events },
          { workspace: workspace.name, apiKey: workspace.apiKey, keySource: workspace.keySource, kind: target.kind, allowMassDelete: target.allowMassDelete === true },
        );
      } catch (error) {
        if (summary?.status === 'interrupted') result.interrupted = true;
        else result.failures.push(`${workspace.name}: ${describeError(error)}`);
      } finally {
        progress.done();
      }
      if (summary) result.summaries.push(summary);
      if (summary?.status === 'interrupted') {
        const resumes = target.kind === 'incremental' ? 'the next `sync --incremental` walks from the top again' : `the next \`${target.kind === 'full' ? 'sync' : 'reconcile'}\` resumes from page ${summary.lastPage + 1}`;
        process.stderr.write(`interrupted: "${workspace.name}" stopped after page ${summary.lastPage} (run ${summary.runId}); ${resumes}\n`);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await budgets.close();
  }
  return result;
}
