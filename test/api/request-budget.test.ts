import { describe, expect, it } from 'vitest';
import { createMemoryBudget, subWindows } from '../../src/api/request-budget.ts';

describe('subWindows', () => {
  it('keeps any sliding window at or under the limit', () => {
    for (const points of [2, 5, 100, 1000]) {
      const { points: per, durationSec } = subWindows({ points, windowMs: 60_000 });
      const k = Math.round(60 / durationSec);
      // A sliding window of the full length meets at most k+1 sub-windows.
      expect(per * (k + 1)).toBeLessThanOrEqual(points);
      expect(per).toBeGreaterThanOrEqual(1);
    }
    expect(subWindows({ points: 100, windowMs: 60_000 })).toEqual({ points: 10, durationSec: 60 / 9 });
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
