import type { SharedBudgets } from '../budget/shared.ts';
import { openSharedBudgets } from '../budget/open-budgets.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { createMetrics, type Metrics } from '../http/metrics.ts';
import type { SyncQueue } from '../jobs/queue.ts';
import type { RunEvents } from '../jobs/run-events.ts';
import type { Logger } from '../log.ts';

/**
 * The shared request budgets and the metrics of one process, on its event
 * bus: every budget wait goes on the bus (whichever run waited), the metrics
 * subscribe to it, and each scrape reads what is left of every budget. Close
 * `budgets` when done; the metrics hold no connection.
 */
export async function openBudgetsAndMetrics(
  config: Config,
  database: Database,
  queue: SyncQueue,
  log: Logger,
  events: RunEvents,
): Promise<{ budgets: SharedBudgets; metrics: Metrics }> {
  const budgets = await openSharedBudgets(config, database.url, { onWaited: (key, ms) => events.emit('budget:waited', { key, ms }) });
  const metrics = createMetrics({ database, queue, log, budgets, events, health: config.health });
  return { budgets, metrics };
}
