import type { SharedBudgets } from '../budget/shared.ts';
import { openSharedBudgets } from '../budget/open-budgets.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { createMetrics, type Metrics } from '../http/metrics.ts';
import type { SyncQueue } from '../jobs/queue.ts';
import type { Logger } from '../log.ts';

/**
 * The shared request budgets and the metrics, made together: each budget wait
 * is counted by the metrics, and each scrape reads what is left of every
 * budget. Close `budgets` when done; the metrics hold no connection.
 */
export async function openBudgetsAndMetrics(
  config: Config,
  database: Database,
  queue: SyncQueue,
  log: Logger,
): Promise<{ budgets: SharedBudgets; metrics: Metrics }> {
  let metrics: Metrics | undefined;
  const budgets = await openSharedBudgets(config, database.url, { onWaited: (key, ms) => metrics?.observeBudgetWait(key, ms) });
  metrics = createMetrics({ database, queue, log, budgets });
  return { budgets, metrics };
}
