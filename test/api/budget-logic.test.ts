import { describe, expect, it } from 'vitest';
import { admit, limitLabel, remainingIn } from '../../src/budget/rule.ts';
import { createBudget } from '../../src/budget/budget.ts';
import { expectedPages, walkEta } from '../../src/budget/eta.ts';
import { learnFrom } from '../../src/budget/learn.ts';
import { createMemoryStore } from '../../src/budget/memory-store.ts';
import type { BudgetStore } from '../../src/budget/store.ts';

const API = [
  { points: 100, windowMs: 60_000 },
  { points: 1000, windowMs: 3_600_000 },
];

/** Admits greedily at the earliest moment the rule allows; the times it picks. */
function schedule(n: number, limits = API, marginMs = 0, log: number[] = [], from = 0): number[] {
  const times = [...log];
  let t = from;
  for (let i = 0; i < n; i++) {
    for (;;) {
      const verdict = admit(times, t, limits, marginMs);
      if (verdict.ok) break;
      t += verdict.waitMs;
    }
    times.push(t);
  }
  return times.slice(log.length);
}

/** The largest number of `times` in any window (t - windowMs, t]. */
function peak(times: number[], windowMs: number): number {
  let best = 0;
  for (const end of times) best = Math.max(best, times.filter((t) => t > end - windowMs && t <= end).length);
  return best;
}

describe('admit: exact sliding windows', () => {
  it('admits a whole burst up to the limit at once, then refuses with the exact wait and the limit named', () => {
    const log: number[] = [];
    for (let i = 0; i < 100; i++) {
      expect(admit(log, 5_000, API, 0)).toEqual({ ok: true });
      log.push(5_000);
    }
    expect(admit(log, 5_000, API, 0)).toEqual({ ok: false, waitMs: 60_000, limit: '100/min' });
    expect(admit(log, 64_999, API, 0)).toMatchObject({ ok: false, waitMs: 1 });
    // The window is (now - 60 s, now]: the burst leaves it exactly 60 s later.
    expect(admit(log, 65_000, API, 0)).toEqual({ ok: true });
  });

  it('adds the margin to every window', () => {
    const log = Array.from({ length: 100 }, () => 0);
    expect(admit(log, 60_000, API, 1000)).toEqual({ ok: false, waitMs: 1000, limit: '100/min' });
    expect(admit(log, 61_000, API, 1000)).toEqual({ ok: true });
  });

  it('the fastest schedule for 150 requests is 100 at once and 50 a minute later; 1100 meets the hourly limit', () => {
    const times = schedule(150);
    expect(times.filter((t) => t === 0)).toHaveLength(100);
    expect(times.slice(100).every((t) => t === 60_000)).toBe(true);
    const long = schedule(1100);
    expect(long[999]).toBe(540_000);
    expect(long[1000]).toBe(3_600_000);
    expect(peak(long, 60_000)).toBe(100);
    expect(peak(long, 3_600_000)).toBe(1000);
  });

  it('admits every request the windows allow and no other (spread-out history)', () => {
    const limits = [
      { points: 3, windowMs: 1000 },
      { points: 5, windowMs: 4000 },
    ];
    const log = [0, 100, 900, 2000];
    // 1000 ms window at t=2050: (1050, 2050] holds 1 → fine; 4000 ms window holds 4 → fine.
    expect(admit(log, 2050, limits, 0)).toEqual({ ok: true });
    const full = [...log, 2050];
    // Now the 4 s window holds 5: room when t=0 leaves, at 4000.
    expect(admit(full, 2100, limits, 0)).toEqual({ ok: false, waitMs: 1900, limit: '5/4s' });
    expect(admit(full, 4000, limits, 0)).toEqual({ ok: true });
    const times = schedule(30, limits);
    expect(peak(times, 1000)).toBeLessThanOrEqual(3);
    expect(peak(times, 4000)).toBeLessThanOrEqual(5);
    // And it is the fastest: every fifth request waits exactly until the first of its window leaves.
    expect(times.slice(0, 10)).toEqual([0, 0, 0, 1000, 1000, 4000, 4000, 4000, 5000, 5000]);
  });

  it('a learned block holds everything until it ends, named by its reason', () => {
    expect(admit([], 1000, API, 0, { until: 4000, reason: 'API Retry-After' })).toEqual({ ok: false, waitMs: 3000, limit: 'API Retry-After' });
    expect(admit([], 4000, API, 0, { until: 4000, reason: 'API Retry-After' })).toEqual({ ok: true });
    expect(remainingIn([], 1000, API, 0, { until: 4000, reason: 'x' })).toEqual([
      { window: '100/min', remaining: 0 },
      { window: '1000/h', remaining: 0 },
    ]);
  });

  it('counts what is left in each window', () => {
    const log = [...Array.from({ length: 30 }, () => 0), ...Array.from({ length: 10 }, () => 70_000)];
    expect(remainingIn(log, 75_000, API, 0)).toEqual([
      { window: '100/min', remaining: 90 },
      { window: '1000/h', remaining: 960 },
    ]);
    expect([limitLabel({ points: 20, windowMs: 2000 }), limitLabel({ points: 5, windowMs: 1500 })]).toEqual(['20/2s', '5/1500ms']);
  });
});

describe('walkEta', () => {
  it('is ~60 s for 150 pages on a fresh key (100 at once, 50 a minute later), plus the margin', () => {
    expect(walkEta({ requests: 150, log: [], now: 0, limits: API, marginMs: 0 })).toEqual({ ms: 60_000, at: 60_000, limit: '100/min' });
    expect(walkEta({ requests: 150, log: [], now: 0, limits: API, marginMs: 1000 }).ms).toBe(61_000);
    expect(walkEta({ requests: 100, log: [], now: 0, limits: API, marginMs: 1000 })).toEqual({ ms: 0, at: 0, limit: null });
    expect(walkEta({ requests: 0, log: [], now: 0, limits: API, marginMs: 0 }).ms).toBe(0);
  });

  it('counts the requests already made, a block, and time per request', () => {
    const log = Array.from({ length: 100 }, (_, i) => i * 100); // 100 in the last 10 s
    expect(walkEta({ requests: 1, log, now: 10_000, limits: API, marginMs: 0 }).ms).toBe(50_000);
    expect(walkEta({ requests: 5, log: [], now: 0, limits: API, marginMs: 0, block: { until: 3000, reason: 'API Retry-After' } })).toMatchObject({ ms: 3000, limit: 'API Retry-After' });
    expect(walkEta({ requests: 10, log: [], now: 0, limits: API, marginMs: 0, perRequestMs: 20 }).ms).toBe(200);
    // 1100 more on a fresh key: the hourly limit decides.
    expect(walkEta({ requests: 1100, log: [], now: 0, limits: API, marginMs: 0 })).toMatchObject({ ms: 3_600_000, limit: '1000/h' });
  });

  it('agrees with admit step by step', () => {
    const limits = [
      { points: 20, windowMs: 2000 },
      { points: 50, windowMs: 10_000 },
    ];
    const log = [100, 200, 300, 1500];
    const times = schedule(77, limits, 100, log, 1600);
    expect(walkEta({ requests: 77, log, now: 1600, limits, marginMs: 100 }).at).toBe(times.at(-1));
  });

  it('expects a page per pageSize stored jobs, at least one', () => {
    expect([expectedPages(0, 500), expectedPages(1, 500), expectedPages(500, 500), expectedPages(75_000, 500)]).toEqual([1, 1, 1, 150]);
  });
});

describe('learnFrom', () => {
  const at = 1_800_000_000_000;
  it('a 429 blocks for its Retry-After, else its reset header, else the shortest window', () => {
    expect(learnFrom({ status: 429, headers: new Headers({ 'retry-after': '7' }), at }, 61_000)).toEqual({ ms: 7000, reason: 'API Retry-After' });
    expect(learnFrom({ status: 429, headers: { 'RateLimit-Reset': '12', 'RateLimit-Remaining': '0' }, at }, 61_000)).toEqual({ ms: 12_000, reason: 'API RateLimit headers' });
    expect(learnFrom({ status: 429, headers: {}, at }, 61_000)).toEqual({ ms: 61_000, reason: 'API 429' });
  });

  it('remaining 0 blocks until the reset, in each header dialect; remaining > 0 teaches nothing', () => {
    expect(learnFrom({ status: 200, headers: new Headers({ 'ratelimit-remaining': '0', 'ratelimit-reset': '5' }), at }, 1)).toEqual({ ms: 5000, reason: 'API RateLimit headers' });
    expect(learnFrom({ status: 200, headers: new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(at / 1000 + 30) }), at }, 1)).toEqual({ ms: 30_000, reason: 'API RateLimit headers' });
    expect(learnFrom({ status: 200, headers: new Headers({ ratelimit: '"default";r=0;t=9' }), at }, 1)).toEqual({ ms: 9000, reason: 'API RateLimit headers' });
    expect(learnFrom({ status: 200, headers: new Headers({ ratelimit: 'r=0, t=4' }), at }, 1)).toEqual({ ms: 4000, reason: 'API RateLimit headers' });
    expect(learnFrom({ status: 200, headers: new Headers({ 'ratelimit-remaining': '3', 'ratelimit-reset': '5' }), at }, 1)).toBeNull();
    expect(learnFrom({ status: 200, headers: new Headers(), at }, 1)).toBeNull();
  });
});

describe('budget over the memory store, on a fake clock', () => {
  it('reports remaining, learns blocks, and computes the ETA from its own log', async () => {
    let now = 1_000_000;
    const store = createMemoryStore(() => now);
    const limits = [{ points: 3, windowMs: 1000 }];
    const budget = createBudget(store, 'fp', limits, { marginMs: 0 });
    for (let i = 0; i < 3; i++) expect(await store.take('fp', limits, 0)).toEqual({ ok: true });
    expect(await store.take('fp', limits, 0)).toEqual({ ok: false, waitMs: 1000, limit: '3/1s' });
    expect(await budget.remaining!()).toEqual([{ window: '3/1s', remaining: 0 }]);
    now += 1000;
    expect(await budget.remaining!()).toEqual([{ window: '3/1s', remaining: 3 }]);
    await store.block('fp', 500, 'API Retry-After');
    expect(await store.take('fp', limits, 0)).toEqual({ ok: false, waitMs: 500, limit: 'API Retry-After' });
    // A shorter block never shortens a longer one.
    await store.block('fp', 100, 'API RateLimit headers');
    expect(await store.take('fp', limits, 0)).toMatchObject({ waitMs: 500 });
    now += 500;
    expect(await store.take('fp', limits, 0)).toEqual({ ok: true });
  });
});

describe('take, while its store does not answer', () => {
  it('rejects with the run\'s abort reason as soon as the signal aborts, not when the store call settles', { timeout: 5_000 }, async () => {
    let called!: () => void;
    const inFlight = new Promise<void>((resolve) => (called = resolve));
    const memory = createMemoryStore();
    // A half-open connection: the call was sent, and no answer ever comes.
    const hung: BudgetStore = {
      ...memory,
      take: () => {
        called();
        return new Promise<never>(() => undefined);
      },
    };
    const budget = createBudget(hung, 'fp', API, { marginMs: 0 });
    const controller = new AbortController();
    const taking = budget.take(controller.signal);
    await inFlight;
    controller.abort(new Error('shutting down'));
    await expect(taking).rejects.toThrow('shutting down');
  });
});
