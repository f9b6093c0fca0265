import { ApiAuthError } from '../errors/ApiAuthError.ts';
import { ApiBodyError } from '../errors/ApiBodyError.ts';
import { ApiHttpError } from '../errors/ApiHttpError.ts';
import { ApiNetworkError } from '../errors/ApiNetworkError.ts';
import { ApiRequestRejectedError } from '../errors/ApiRequestRejectedError.ts';

export interface RetryOptions {
  /** Attempts per request, the first included. Default 6. */
  maxAttempts: number;
  /** First backoff step in ms; doubles per attempt. Default 500. */
  baseDelayMs: number;
  /** Backoff ceiling in ms. Default 30000. */
  maxDelayMs: number;
  /** A `Retry-After` longer than this fails the request instead of waiting. Default 120000. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
};

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; why: string };

/**
 * The one place that decides whether a failed request is tried again.
 * Auth and validation errors never are: they would fail the same way.
 * `attempt` counts attempts made so far (1 after the first failure).
 */
export function decideRetry(
  error: unknown,
  attempt: number,
  options: RetryOptions,
  random: () => number = Math.random,
): RetryDecision {
  if (error instanceof ApiAuthError || error instanceof ApiRequestRejectedError) {
    return { retry: false, why: 'not retryable' };
  }
  const retryable = error instanceof ApiHttpError || error instanceof ApiNetworkError || error instanceof ApiBodyError;
  if (!retryable) return { retry: false, why: 'not retryable' };
  if (attempt >= options.maxAttempts) return { retry: false, why: 'gave up' };

  const backoff = fullJitter(attempt, options, random);
  if (error instanceof ApiHttpError && error.retryAfterMs !== undefined) {
    if (error.retryAfterMs > options.maxRetryAfterMs) {
      return { retry: false, why: `Retry-After of ${Math.ceil(error.retryAfterMs / 1000)}s exceeds the ${Math.ceil(options.maxRetryAfterMs / 1000)}s we wait` };
    }
    // Waiting exactly Retry-After makes every client return at the same instant; a little jitter spreads them.
    return { retry: true, delayMs: error.retryAfterMs + Math.floor(random() * Math.min(1000, options.baseDelayMs)) };
  }
  return { retry: true, delayMs: backoff };
}

/** "Full jitter" exponential backoff: uniform in [0, min(cap, base * 2^(attempt-1))]. */
export function fullJitter(attempt: number, options: RetryOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** `Retry-After` as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
