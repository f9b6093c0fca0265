import { parseRetryAfter } from '../api/retry-policy.ts';

/** What the budget learns from: one API response, `at` its arrival (Date.now()). */
export interface BudgetResponse {
  status: number;
  headers: Headers | Record<string, string | null | undefined>;
  at: number;
}

/** A block to record: nothing is sent on this key for `ms` from the response's arrival. */
export interface LearnedBlock {
  ms: number;
  reason: string;
}

export const RETRY_AFTER = 'API Retry-After';
export const RATE_LIMIT_HEADERS = 'API RateLimit headers';
export const BARE_429 = 'API 429';

/**
 * What a response says about the key's budget. A 429 blocks until its Retry-After (or its reset header; a bare 429
 * blocks `bare429Ms`, the shortest window: someone else spends this key, and that much is always enough for the API's
 * windows to have room again). Any response saying that nothing remains blocks until its reset. A response with room
 * left teaches nothing: our own log is the stricter count.
 */
export function learnFrom(response: BudgetResponse, bare429Ms: number): LearnedBlock | null {
  const get = (name: string): string | null => {
    const h = response.headers;
    if (typeof (h as Headers).get === 'function') return (h as Headers).get(name);
    const rec = h as Record<string, string | null | undefined>;
    const found = Object.keys(rec).find((k) => k.toLowerCase() === name);
    return found === undefined ? null : (rec[found] ?? null);
  };
  const quota = rateLimitHeaders(get, response.at);
  if (response.status === 429) {
    const retryAfter = parseRetryAfter(get('retry-after'), response.at);
    if (retryAfter !== undefined) return { ms: retryAfter, reason: RETRY_AFTER };
    if (quota?.resetMs !== undefined) return { ms: quota.resetMs, reason: RATE_LIMIT_HEADERS };
    return { ms: bare429Ms, reason: BARE_429 };
  }
  if (quota && quota.remaining !== undefined && quota.remaining <= 0 && quota.resetMs !== undefined && quota.resetMs > 0) {
    return { ms: quota.resetMs, reason: RATE_LIMIT_HEADERS };
  }
  return null;
}

/**
 * `RateLimit-Remaining`/`RateLimit-Reset` (IETF draft ≤ 06), `X-RateLimit-*` (GitHub and others; their reset is often
 * an epoch time, told apart by size) and the structured `RateLimit: r=…, t=…` (draft 07+, optionally after a policy name).
 */
export function rateLimitHeaders(get: (name: string) => string | null, at: number): { remaining?: number; resetMs?: number } | null {
  const structured = get('ratelimit');
  if (structured) {
    const r = /(?:^|[;,\s])r=(\d+)/.exec(structured);
    const t = /(?:^|[;,\s])t=(\d+)/.exec(structured);
    if (r || t) return { remaining: r ? Number(r[1]) : undefined, resetMs: t ? Number(t[1]) * 1000 : undefined };
  }
  for (const prefix of ['ratelimit-', 'x-ratelimit-']) {
    const remaining = numberOf(get(`${prefix}remaining`));
    const reset = numberOf(get(`${prefix}reset`));
    if (remaining === undefined && reset === undefined) continue;
    // Seconds since the epoch are > 1e9; a delta that large would be 30 years.
    const resetMs = reset === undefined ? undefined : reset > 1e9 ? Math.max(0, reset * 1000 - at) : reset * 1000;
    return { remaining, resetMs };
  }
  return null;
}

function numberOf(value: string | null): number | undefined {
  if (value === null) return undefined;
  // A list (several policies) counts by its tightest entry.
  const numbers = value.split(',').map((v) => Number(v.trim())).filter((n) => Number.isFinite(n) && n >= 0);
  return numbers.length === 0 ? undefined : Math.min(...numbers);
}
