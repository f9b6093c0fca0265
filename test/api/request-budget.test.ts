import { describe, expect, it } from 'vitest';
import { createMemoryBudget, subWindows } from '../../src/api/request-budget.ts';

describe('subWindows', () => {
  it('keeps any sliding window at or under the limit', () => {
    for (const wholeSeconds of [false, true]) {
      for (const points of [2, 5, 100, 1000]) {
        for (const windowMs of [2_000, 60_000, 3_600_000]) {
          const { points: per, durationSec } = subWindows({ points, windowMs }, wholeSeconds);
          const n = Math.ceil(windowMs / 1000 / durationSec);
          // A sliding window of the full length meets at most n+1 sub-windows.
          expect(per * (n + 1)).toBeLessThanOrEqual(points);
          expect(per).toBeGreaterThanOrEqual(1);
          if (wholeSeconds) expect(Number.isInteger(durationSec)).toBe(true);
        }
      }
    }
    expect(subWindows({ points: 100, windowMs: 60_000 })).toEqual({ points: 10, durationSec: 60 / 9 });
    expect(subWindows({ points: 100, windowMs: 60_000 }, true)).toEqual({ points: 9, durationSec: 6 });
  });
});

describe('memory budget', () => {
  it('paces requests so no window holds more than the limit', async () => {
    const budget = createMemoryBudget([{ points: 4, windowMs: 600 }]);
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      await budget.take();
      times.push(performance.now());
    }
    for (let i = 0; i < times.length; i++) {
      const inWindow = times.filter((t) => t >= times[i]! && t < times[i]! + 600).length;
      expect(inWindow).toBeLessThanOrEqual(4);
    }
  });

  it('stops waiting when aborted', async () => {
    const budget = createMemoryBudget([{ points: 2, windowMs: 60_000 }]);
    await budget.take();
    const controller = new AbortController();
    const waiting = budget.take(controller.signal);
    controller.abort(new Error('shutdown'));
    await expect(waiting).rejects.toThrow('shutdown');
  });
});
