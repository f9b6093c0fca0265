import { firstAfter } from '../util/sorted.ts';
import { limitLabel, type BudgetBlock, type BudgetLimit } from './rule.ts';

export interface WalkEtaInput {
  /** Requests still to make. */
  requests: number;
  /** Requests already made on this key (ms, ascending, same clock as `now`); older than the longest window is ignored. */
  log: readonly number[];
  now: number;
  limits: readonly BudgetLimit[];
  marginMs: number;
  block?: BudgetBlock | null;
  /** Time each request takes on its own (latency); 0 gives the budget's floor. */
  perRequestMs?: number;
}

export interface WalkEta {
  /** From `now` until the last request may be sent (plus its own `perRequestMs`). */
  ms: number;
  /** `now + ms`. */
  at: number;
  /** Limit that decides the finish (the one whose wait came last), or null when nothing waits. */
  limit: string | null;
}

/**
 * The fastest schedule the limits allow for `requests` more requests, given the recent log: each request goes at the
 * earliest moment every sliding window has room. Greedy is optimal here: sending a request later never lets a later
 * request go sooner, because every constraint only looks at how many requests lie in a window behind it.
 */
export function walkEta(input: WalkEtaInput): WalkEta {
  const { limits, marginMs, now } = input;
  const perRequest = Math.max(0, input.perRequestMs ?? 0);
  const longest = Math.max(0, ...limits.map((l) => l.windowMs)) + marginMs;
  const times = input.log.filter((t) => t > now - longest && t <= now);
  let t = Math.max(now, input.block && input.block.until > now ? input.block.until : now);
  let limit: string | null = input.block && input.block.until > now ? input.block.reason : null;
  let last = now;
  for (let i = 0; i < input.requests; i++) {
    let earliest = t;
    for (const l of limits) {
      const window = l.windowMs + marginMs;
      const inWindow = times.length - firstAfter(times, earliest - window);
      if (inWindow < l.points) continue;
      const leaving = (times[times.length - l.points] as number) + window;
      if (leaving > earliest) {
        earliest = leaving;
        limit = limitLabel(l);
      }
    }
    times.push(earliest);
    last = earliest + perRequest;
    t = last;
  }
  return { ms: input.requests === 0 ? 0 : last - now, at: input.requests === 0 ? now : last, limit };
}

/** Pages a full walk of a workspace holding `storedJobs` jobs takes at `pageSize` a page (at least one page). */
export function expectedPages(storedJobs: number, pageSize: number): number {
  return Math.max(1, Math.ceil(storedJobs / Math.max(1, pageSize)));
}
