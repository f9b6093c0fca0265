import { firstAfter } from '../util/sorted.ts';

/**
 * The budget's rule, as plain functions over a log of request times (ms, ascending): a request at `now` is admitted
 * when, for every limit, the requests already logged in the sliding window `(now - window - margin, now]` number fewer
 * than the limit's points, and no block learned from the API (a 429, a RateLimit header) is still in force. Every
 * request that keeps each window at or under its limit is admitted, and no other. The stores (memory, Redis, Postgres)
 * apply this rule atomically; nothing here does I/O.
 */

export interface BudgetLimit {
  /** Requests allowed in any sliding window of `windowMs`. */
  points: number;
  windowMs: number;
}

/** A block learned from the API: nothing is admitted before `until` (same clock as the log). */
export interface BudgetBlock {
  until: number;
  /** Why, for the wait's message: e.g. `Retry-After`. */
  reason: string;
}

export type Admission = { ok: true } | { ok: false; waitMs: number; limit: string };

/** `100/min`, `1000/h`, `20/2s`: how a limit is named in log lines, metrics and the progress line. */
export function limitLabel(limit: BudgetLimit): string {
  const { points, windowMs } = limit;
  if (windowMs === 60_000) return `${points}/min`;
  if (windowMs === 3_600_000) return `${points}/h`;
  if (windowMs === 86_400_000) return `${points}/day`;
  if (windowMs % 1000 === 0) return `${points}/${windowMs / 1000}s`;
  return `${points}/${windowMs}ms`;
}


/**
 * Whether a request may go at `now`; if not, how long until it may (assuming no other request is admitted meanwhile)
 * and which limit binds. `log` must be ascending and hold no time after `now`.
 */
export function admit(log: readonly number[], now: number, limits: readonly BudgetLimit[], marginMs: number, block?: BudgetBlock | null): Admission {
  let waitMs = 0;
  let binding = '';
  if (block && block.until > now) {
    waitMs = block.until - now;
    binding = block.reason;
  }
  for (const limit of limits) {
    const window = limit.windowMs + marginMs;
    const inWindow = log.length - firstAfter(log, now - window);
    if (inWindow < limit.points) continue;
    // The window holds `inWindow` requests, the newest last: room appears when the one `points` places from the end leaves.
    const leaving = log[log.length - limit.points] as number;
    const wait = leaving + window - now;
    if (wait > waitMs || (wait === waitMs && binding === '')) {
      waitMs = Math.max(1, wait);
      binding = limitLabel(limit);
    }
  }
  return waitMs > 0 ? { ok: false, waitMs, limit: binding } : { ok: true };
}

/** Requests each window would still admit right now (a learned block makes every window 0). */
export function remainingIn(
  log: readonly number[],
  now: number,
  limits: readonly BudgetLimit[],
  marginMs: number,
  block?: BudgetBlock | null,
): { window: string; remaining: number }[] {
  const blocked = block !== undefined && block !== null && block.until > now;
  return limits.map((limit) => {
    const inWindow = log.length - firstAfter(log, now - limit.windowMs - marginMs);
    return { window: limitLabel(limit), remaining: blocked ? 0 : Math.max(0, limit.points - inWindow) };
  });
}

/**
 * The limits a bulk request (a full walk, a reconciliation) is admitted under: each window's last `reserve` share
 * (rounded up, at least one request when the share is above 0, never the whole window) is left to the requests that
 * keep the copy fresh. Both kinds count in the same log, so a fresh request finds room whenever bulk ones leave it.
 */
export function bulkLimits(limits: readonly BudgetLimit[], reserve: number): BudgetLimit[] {
  if (reserve <= 0) return [...limits];
  return limits.map((l) => ({ ...l, points: Math.max(1, l.points - Math.ceil(l.points * reserve)) }));
}

/** Times older than every window: a store may forget them. */
export function horizon(now: number, limits: readonly BudgetLimit[], marginMs: number): number {
  return now - Math.max(0, ...limits.map((l) => l.windowMs)) - marginMs;
}
