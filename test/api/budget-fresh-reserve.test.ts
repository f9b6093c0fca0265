import { describe, expect, it } from 'vitest';
import { createMemoryBudget } from '../../src/budget/shared.ts';
import { bulkLimits } from '../../src/budget/rule.ts';

describe('the fresh reserve', () => {
  it('leaves each window\'s last share to fresh requests, rounded up, never the whole window', () => {
    const limits = [
      { points: 100, windowMs: 60_000 },
      { points: 1000, windowMs: 3_600_000 },
    ];
    expect(bulkLimits(limits, 0.1)).toEqual([
      { points: 90, windowMs: 60_000 },
      { points: 900, windowMs: 3_600_000 },
    ]);
    expect(bulkLimits([{ points: 5, windowMs: 1000 }], 0.1)).toEqual([{ points: 4, windowMs: 1000 }]);
    expect(bulkLimits([{ points: 1, windowMs: 1000 }], 0.5)).toEqual([{ points: 1, windowMs: 1000 }]);
    expect(bulkLimits(limits, 0)).toEqual(limits);
  });

  it('stops a long walk at 90 of 100 while an incremental sync of the same key still gets the last 10 at once', async () => {
    const budget = createMemoryBudget([{ points: 100, windowMs: 3_600_000 }], 'k', { marginMs: 0, freshReserve: 0.1 });
    for (let i = 0; i < 90; i++) expect(await budget.take(undefined, { bulk: true })).toBe(0);
    const aborted = new AbortController();
    const waits: string[] = [];
    const bulk = budget.take(aborted.signal, { bulk: true, onWait: (w) => waits.push(w.limit) });
    for (let i = 0; i < 10; i++) expect(await budget.take()).toBe(0);
    aborted.abort(new Error('stop'));
    await expect(bulk).rejects.toThrow('stop');
    expect(waits[0]).toBe('90/h');
    expect(await budget.remaining!()).toEqual([{ window: '100/h', remaining: 0 }]);
  });
});
