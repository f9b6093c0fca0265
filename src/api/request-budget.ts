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
 * Counting in n sub-windows of P/(n+1) points keeps every sliding window of
 * length D at or under P (it meets at most n+1 sub-windows), at the cost of
 * using n/(n+1) of the budget. The Redis store only keeps whole seconds.
 */
export function subWindows(limit: RequestBudgetLimit, wholeSeconds = false): { points: number; durationSec: number } {
  const k = Math.max(1, Math.min(9, limit.points - 1));
  let durationMs = limit.windowMs / k;
  if (wholeSeconds) durationMs = Math.max(1000, Math.floor(durationMs / 1000) * 1000);
  const n = Math.ceil(limit.windowMs / durationMs);
  return { points: Math.max(1, Math.floor(limit.points / (n + 1))), durationSec: durationMs / 1000 };
}

/** Builds the limiters of one budget; `make` chooses the store (memory here, Redis or Postgres for a shared budget). */
export function budgetLimiters(
  limits: RequestBudgetLimit[],
  make: (opts: { points: number; duration: number; keyPrefix: string }) => RateLimiterAbstract,
  wholeSeconds = false,
): RateLimiterAbstract[] {
  return limits.map((limit) => {
    const { points, durationSec } = subWindows(limit, wholeSeconds);
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

/**
 * 0 when every limiter granted a point, else ms until the refusing limiter
 * has room again. Points already granted by earlier limiters are given back,
 * so a refusal by the hourly limit does not drain the per-minute one.
 */
async function firstBlock(limiters: RateLimiterAbstract[], key: string): Promise<number> {
  for (let i = 0; i < limiters.length; i++) {
    try {
      await limiters[i]!.consume(key, 1);
    } catch (rejection) {
      await Promise.all(limiters.slice(0, i).map((granted) => granted.reward(key, 1)));
      if (rejection instanceof RateLimiterRes) return Math.max(1, rejection.msBeforeNext);
      throw rejection;
    }
  }
  return 0;
}
