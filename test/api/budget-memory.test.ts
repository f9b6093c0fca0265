import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBudget } from '../../src/budget/shared.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { captureLogs } from '../helpers/logs.ts';
import { walkWithBudget } from './budget-walk.ts';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('memory budget', () => {
  it('admits a burst up to the limit without waiting, and keeps every sliding window at the limit', async () => {
    const budget = createMemoryBudget([{ points: 4, windowMs: 600 }], 'fp', { marginMs: 0 });
    const waits: number[] = [];
    const times: number[] = [];
    for (let i = 0; i < 9; i++) {
      waits.push(await budget.take());
      times.push(Date.now());
    }
    expect(waits.slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(waits[4]).toBeGreaterThan(500);
    for (let i = 0; i < times.length; i++) {
      // The rule's window: (t - 600 ms, t], on the clock the budget reads.
      const inWindow = times.filter((t) => t > times[i]! - 600 && t <= times[i]!).length;
      expect(inWindow).toBeLessThanOrEqual(4);
    }
  });

  it('stops waiting when aborted', async () => {
    const budget = createMemoryBudget([{ points: 2, windowMs: 60_000 }]);
    await budget.take();
    await budget.take();
    const controller = new AbortController();
    const waiting = budget.take(controller.signal, { onWait: () => controller.abort(new Error('shutdown')) });
    await expect(waiting).rejects.toThrow('shutdown');
  });

  it('a walk under the enforcing simulator meets no 429, and a long wait says so on one info line', async () => {
    sim = await startSimulator({ items: 25, apiKeys: ['k'], rateLimit: { perMinute: 20, minuteMs: 2500, perHour: 100, hourMs: 60_000 } });
    const budget = createMemoryBudget([{ points: 20, windowMs: 2500 }, { points: 100, windowMs: 60_000 }], 'fp', { marginMs: 100 });
    const { log, lines } = captureLogs('info');
    const walk = await walkWithBudget({ baseUrl: sim.url, apiKey: 'k', budget, pageSize: 1, log });
    expect(walk.pages).toBe(25);
    expect(sim.stats.byStatus).toEqual({ '200': 25 });
    // One long wait once 20 are spent; the requests after it may wait a few ms each as the burst's slots free up one by one (debug lines).
    expect(walk.waits.filter((w) => w.ms > 2000)).toHaveLength(1);
    const waiting = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.msg.startsWith('waiting'));
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatchObject({ level: 30 });
    expect(waiting[0]!.msg).toMatch(/^waiting [1-3] s for the request budget \(20\/2500ms\)$/);
  });
});
