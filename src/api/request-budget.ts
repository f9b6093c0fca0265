import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RequestBudgetLimit } from '../config.ts';
import { sleep } from '../util/sleep.ts';

/** Every request to the API first takes a slot from the budget of its key. */
export interface RequestBudget {
  /** Resolves when a request may be sent; rejects if `signal` aborts while waiting. Returns ms waited. */
  take(signal?: AbortSignal): Promise<number>;
}

/**
 * rate-limiter-flexible counts in fixed windows, while an API may count in
 * sliding ones: a fixed window of P per D lets 2P through across a boundary.
 * Splitting D into k sub-windows of P/(k+1) points each keeps every sliding
 * window of length D at or under P (it meets at most k+1 sub-windows), at the
 * cost of using k/(k+1) of the budget.
 */
export function subWindows(limit: RequestBudgetLimit): { points: number; durationSec: number } {
  const k = Math.max(1, Math.min(9, limit.points - 1));
  const points = Math.max(1, Math.floor(limit.points / (k + 1)));
  return { points, durationSec: limit.windowMs / k / 1000 };
}

/** Builds the limiters of one budget; `make` chooses the store (memory here, Redis or Postgres for a shared budget). */
export function budgetLimiters(
  limits: RequestBudgetLimit[],
  make: (opts: { points: number; duration: number; keyPrefix: string }) => RateLimiterAbstract,
): RateLimiterAbstract[] {
  return limits.map((limit) => {
    const { points, durationSec } = subWindows(limit);
    return make({ points, duration: durationSec, keyPrefix: `threetone-budget-${limit.windowMs}` });
  });
}

/** A budget enforced by `limiters` for `key` (the API key's fingerprint, never the key itself). */
export function createRequestBudget(limiters: RateLimiterAbstract[], key: string): RequestBudget {
  return {
    async take(signal) {
      let waited = 0;
      for (;;) {
        const blockedFor = await firstBlock(limiters, key);
        if (blockedFor === 0) return waited;
        await sleep(blockedFor, signal);
        waited += blockedFor;
      }
    },
  };
}

/** In-process budget: enough for one process; the worker shares one through Redis or Postgres. */
export function createMemoryBudget(limits: RequestBudgetLimit[], key = 'default'): RequestBudget {
  return createRequestBudget(budgetLimiters(limits, (opts) => new RateLimiterMemory(opts)), key);
}

/** 0 when every limiter granted a point, else ms until the first refusing limiter has room again. */
async function firstBlock(limiters: RateLimiterAbstract[], key: string): Promise<number> {
  for (const limiter of limiters) {
    try {
      await limiter.consume(key, 1);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return Math.max(1, rejection.msBeforeNext);
      throw rejection;
    }
  }
  return 0;
}
