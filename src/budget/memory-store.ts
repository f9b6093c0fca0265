import { firstAfter } from '../util/sorted.ts';
import { admit, horizon, type BudgetBlock } from './rule.ts';
import type { BudgetStore } from './store.ts';

/** One process's budget: a log per key in memory. `now` is injectable for tests. */
export function createMemoryStore(now: () => number = Date.now): BudgetStore {
  const logs = new Map<string, number[]>();
  const blocks = new Map<string, BudgetBlock>();
  const logOf = (key: string, limits: Parameters<BudgetStore['take']>[1], marginMs: number, t: number): number[] => {
    let log = logs.get(key);
    if (!log) logs.set(key, (log = []));
    const stale = firstAfter(log, horizon(t, limits, marginMs));
    if (stale > 0) log.splice(0, stale);
    return log;
  };
  return {
    async take(key, limits, marginMs) {
      const t = now();
      const log = logOf(key, limits, marginMs, t);
      const verdict = admit(log, t, limits, marginMs, blocks.get(key));
      if (verdict.ok) log.push(Math.max(t, log.at(-1) ?? t));
      return verdict;
    },
    async block(key, ms, reason) {
      const until = now() + ms;
      const current = blocks.get(key);
      if (!current || current.until < until) blocks.set(key, { until, reason });
    },
    async read(key, limits, marginMs) {
      const t = now();
      const block = blocks.get(key);
      return { now: t, times: [...logOf(key, limits, marginMs, t)], block: block && block.until > t ? { ...block } : null };
    },
    async close() {
      logs.clear();
      blocks.clear();
    },
  };
}
