import { ThreetoneClient } from '../../src/api/client.ts';
import type { BudgetWait, RequestBudget } from '../../src/budget/budget.ts';
import { DEFAULT_RETRY } from '../../src/api/retry-policy.ts';
import { walkPages } from '../../src/api/walk-pages.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import { batchCalls } from '../../src/resources/batch-calls.ts';

export interface WalkResult {
  pages: number;
  byStatus: Record<string, number>;
  budgetWaitMs: number;
  waits: BudgetWait[];
  ms: number;
}

/** Every page of the simulator behind `baseUrl` through the production client and walker, `pageSize` items a page. */
export async function walkWithBudget(options: { baseUrl: string; apiKey: string; budget: RequestBudget; pageSize: number; log?: Logger }): Promise<WalkResult> {
  const waits: BudgetWait[] = [];
  const client = new ThreetoneClient({
    resource: batchCalls,
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    pageSize: options.pageSize,
    timeoutMs: 5_000,
    maxBodyBytes: 10_000_000,
    retry: { ...DEFAULT_RETRY, baseDelayMs: 10 },
    budget: options.budget,
    log: options.log ?? silentLogger,
    onWait: (wait) => waits.push(wait),
  });
  const started = performance.now();
  let pages = 0;
  // Sequential, as a sync walks: the prefetch keeps one request in flight ahead.
  for await (const _page of walkPages(client)) pages++;
  return { pages, byStatus: { ...client.stats.byStatus }, budgetWaitMs: client.stats.budgetWaitMs, waits, ms: performance.now() - started };
}
