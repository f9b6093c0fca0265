import { parseRetryAfter } from '../api/retry-policy.ts';

export interface RetryTimings {
  /** First backoff ceiling; doubles per failure (full jitter). */
  baseDelayMs: number;
  /** Ceiling of the backoff. */
  maxDelayMs: number;
  /** Longest `Retry-After` honoured; a longer one waits this long. */
  maxRetryAfterMs: number;
  /** Paused after this many failures in a row… */
  pauseAfterFailures: number;
  /** …or after failing for this long (first failure of the streak to now). */
  pauseAfterMs: number;
  /** While paused: one attempt this often. */
  probeEveryMs: number;
}

/** Outcome of one attempt, as counted by threetone_webhook_deliveries_total{outcome}. */
export type AttemptOutcome = 'delivered' | 'rejected' | 'error' | 'timeout';

export interface AttemptResult {
  outcome: AttemptOutcome;
  /** HTTP status when the receiver answered. */
  status?: number;
  /** The receiver's Retry-After, raw. */
  retryAfter?: string | null;
  /** One line for the log and the status page: never the URL. */
  reason?: string;
}

/** A failing streak: how many attempts in a row failed and since when. */
export interface Streak {
  failures: number;
  since: number;
}

/** Whether a streak has reached the bound: the receiver is paused. */
export function isPaused(streak: Streak | undefined, timings: RetryTimings, now: number): boolean {
  if (!streak) return false;
  return streak.failures >= timings.pauseAfterFailures || now - streak.since >= timings.pauseAfterMs;
}

/**
 * How long to wait before the next attempt after a failed one: while paused, the probe interval; else the
 * receiver's `Retry-After` (seconds or an HTTP date) when it gave one, capped; else full-jitter exponential
 * backoff on the streak's length.
 */
export function nextDelayMs(
  streak: Streak,
  result: AttemptResult,
  timings: RetryTimings,
  now: number,
  random: () => number = Math.random,
): number {
  if (isPaused(streak, timings, now)) return timings.probeEveryMs;
  const retryAfter = parseRetryAfter(result.retryAfter ?? null, now);
  if (retryAfter !== undefined) return Math.min(retryAfter, timings.maxRetryAfterMs);
  const ceiling = Math.min(timings.maxDelayMs, timings.baseDelayMs * 2 ** Math.max(0, streak.failures - 1));
  return Math.floor(random() * ceiling);
}

/** Whether an HTTP status means delivered. Redirects are not followed: a 3xx is a failure. */
export const isDelivered = (status: number): boolean => status >= 200 && status < 300;
