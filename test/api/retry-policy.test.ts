import { describe, expect, it } from 'vitest';
import { decideRetry, DEFAULT_RETRY, fullJitter, parseRetryAfter } from '../../src/api/retry-policy.ts';
import { ApiAuthError } from '../../src/errors/ApiAuthError.ts';
import { ApiBodyError } from '../../src/errors/ApiBodyError.ts';
import { ApiHttpError } from '../../src/errors/ApiHttpError.ts';
import { ApiNetworkError } from '../../src/errors/ApiNetworkError.ts';
import { ApiRequestRejectedError } from '../../src/errors/ApiRequestRejectedError.ts';

const req = { method: 'GET', url: 'http://x/v1' };
const half = () => 0.5;

describe('decideRetry', () => {
  it('never retries 401, 403 or 422', () => {
    expect(decideRetry(new ApiAuthError({ ...req, status: 401 }, undefined), 1, DEFAULT_RETRY).retry).toBe(false);
    expect(decideRetry(new ApiAuthError({ ...req, status: 403 }, undefined), 1, DEFAULT_RETRY).retry).toBe(false);
    expect(decideRetry(new ApiRequestRejectedError({ ...req, status: 422 }, 'limit'), 1, DEFAULT_RETRY).retry).toBe(false);
  });

  it('retries 5xx, network errors, timeouts and unusable bodies until attempts run out', () => {
    const errors = [
      new ApiHttpError({ ...req, status: 503 }),
      new ApiNetworkError(req, false, new Error('reset')),
      new ApiNetworkError(req, true, new Error('timeout')),
      new ApiBodyError({ ...req, status: 200 }, 'invalid JSON'),
    ];
    for (const error of errors) {
      expect(decideRetry(error, 1, DEFAULT_RETRY, half)).toEqual({ retry: true, delayMs: 250 });
      expect(decideRetry(error, DEFAULT_RETRY.maxAttempts, DEFAULT_RETRY, half)).toEqual({ retry: false, why: 'gave up' });
    }
  });

  it('does not retry errors it does not know', () => {
    expect(decideRetry(new Error('bug'), 1, DEFAULT_RETRY).retry).toBe(false);
  });

  it('waits at least Retry-After on a 429, and fails when Retry-After exceeds what we wait for', () => {
    const decision = decideRetry(new ApiHttpError({ ...req, status: 429 }, 2000), 1, DEFAULT_RETRY, () => 0.99);
    expect(decision.retry).toBe(true);
    if (decision.retry) {
      expect(decision.delayMs).toBeGreaterThanOrEqual(2000);
      expect(decision.delayMs).toBeLessThan(3000);
    }
    const tooLong = decideRetry(new ApiHttpError({ ...req, status: 429 }, 3_600_000), 1, DEFAULT_RETRY);
    expect(tooLong).toEqual({ retry: false, why: 'Retry-After of 3600s exceeds the 120s we wait' });
  });
});

describe('fullJitter', () => {
  it('doubles its ceiling per attempt up to the cap', () => {
    const max = () => 0.999999;
    expect(fullJitter(1, DEFAULT_RETRY, max)).toBe(499);
    expect(fullJitter(2, DEFAULT_RETRY, max)).toBe(999);
    expect(fullJitter(3, DEFAULT_RETRY, max)).toBe(1999);
    expect(fullJitter(20, DEFAULT_RETRY, max)).toBe(DEFAULT_RETRY.maxDelayMs - 1);
    expect(fullJitter(3, DEFAULT_RETRY, () => 0)).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, ignores junk', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
  });
});
