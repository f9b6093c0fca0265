import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { FeedEntry } from '../../src/feed/line.ts';
import { selectEntries } from '../../src/webhooks/filter.ts';
import { buildBatch } from '../../src/webhooks/payload.ts';
import { isPaused, nextDelayMs, type RetryTimings } from '../../src/webhooks/policy.ts';
import { receiverFingerprint, secretKey, signedHeaders } from '../../src/webhooks/sign.ts';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const T: RetryTimings = { baseDelayMs: 1000, maxDelayMs: 300_000, maxRetryAfterMs: 600_000, pauseAfterFailures: 10, pauseAfterMs: 900_000, probeEveryMs: 300_000 };
const entry = (id: number, kind: FeedEntry['kind'] = 'created', status = 'pending'): FeedEntry => ({
  id: BigInt(id), xid: 900n, kind, workspace: 'a', jobId: `j${id}`, version: 1, status, previousStatus: null, observedAt: new Date(0), runId: null,
});

describe('signing', () => {
  it('matches the standardwebhooks package byte for byte, and takes the secret with or without whsec_', () => {
    const body = '{"type":"batch_calls.changes","data":[{"job_id":"é"}]}';
    const ours = signedHeaders(secretKey(SECRET), 'msg_1', 1_700_000_000, body);
    expect(ours['webhook-signature']).toBe(new Webhook(SECRET).sign('msg_1', new Date(1_700_000_000_000), body));
    expect(signedHeaders(secretKey(SECRET.slice(6)), 'msg_1', 1_700_000_000, body)).toEqual(ours);
  });

  it('refuses a secret that is not base64 of 24-64 bytes, without repeating it', () => {
    for (const bad of ['whsec_', 'whsec_abc', 'hunter2hunter2hunter2hunter2!!', `whsec_${Buffer.alloc(8).toString('base64')}`]) {
      expect(() => secretKey(bad)).toThrow();
      try {
        secretKey(bad);
      } catch (error) {
        if (bad.length > 8) expect((error as Error).message).not.toContain(bad);
      }
    }
  });

  it('names a receiver by host and a hash of the URL', () => {
    expect(receiverFingerprint('https://hooks.example.com/t/SECRET?x=1')).toMatch(/^hooks\.example\.com#[0-9a-f]{8}$/);
    expect(receiverFingerprint('https://hooks.example.com/a')).not.toBe(receiverFingerprint('https://hooks.example.com/b'));
  });
});

describe('payload and filter', () => {
  it('gives a batch an id from its first and last entries, the same for the same entries', () => {
    const a = buildBatch([entry(5), entry(9)], new Date(0));
    expect(a.id).toBe('msg_900_5-900_9');
    expect(JSON.parse(a.body)).toMatchObject({ type: 'batch_calls.changes', timestamp: '1970-01-01T00:00:00.000Z', data: [{ id: 5 }, { id: 9 }] });
    expect(buildBatch([entry(5), entry(9)], new Date(0))).toEqual(a);
  });

  it('keeps entries matching both lists, every entry when none is set', () => {
    const all = [entry(1, 'created', 'failed'), entry(2, 'deleted', 'failed'), entry(3, 'deleted', 'completed')];
    expect(selectEntries(all, {})).toHaveLength(3);
    expect(selectEntries(all, { kinds: ['deleted'] }).map((e) => e.id)).toEqual([2n, 3n]);
    expect(selectEntries(all, { statuses: ['failed'] }).map((e) => e.id)).toEqual([1n, 2n]);
    expect(selectEntries(all, { kinds: ['deleted'], statuses: ['failed'] }).map((e) => e.id)).toEqual([2n]);
  });
});

describe('retry and pause policy', () => {
  it('backs off with full jitter, doubling to the cap', () => {
    const max = (failures: number) => nextDelayMs({ failures, since: 0 }, { outcome: 'error' }, T, 0, () => 0.999999);
    expect(max(1)).toBe(999);
    expect(max(3)).toBe(3999);
    expect(max(9)).toBe(255_999);
    expect(nextDelayMs({ failures: 9, since: 0 }, { outcome: 'error' }, { ...T, pauseAfterFailures: 100 }, 0, () => 0.999999)).toBe(255_999);
    expect(nextDelayMs({ failures: 12, since: 0 }, { outcome: 'error' }, { ...T, pauseAfterFailures: 100 }, 0, () => 0.999999)).toBe(299_999);
    expect(nextDelayMs({ failures: 3, since: 0 }, { outcome: 'error' }, T, 0, () => 0)).toBe(0);
  });

  it('waits Retry-After (seconds or an HTTP date), capped', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const after = (value: string) => nextDelayMs({ failures: 1, since: now }, { outcome: 'rejected', retryAfter: value }, T, now);
    expect(after('120')).toBe(120_000);
    expect(after('Thu, 01 Jan 2026 00:02:00 GMT')).toBe(120_000);
    expect(after('86400')).toBe(600_000);
  });

  it('pauses after N failures in a row or M of failing, then probes at its interval', () => {
    expect(isPaused(undefined, T, 0)).toBe(false);
    expect(isPaused({ failures: 9, since: 0 }, T, 1000)).toBe(false);
    expect(isPaused({ failures: 10, since: 0 }, T, 1000)).toBe(true);
    expect(isPaused({ failures: 2, since: 0 }, T, 900_000)).toBe(true);
    expect(nextDelayMs({ failures: 10, since: 0 }, { outcome: 'rejected', retryAfter: '1' }, T, 1000)).toBe(300_000);
  });
});
