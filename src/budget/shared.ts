import type { Config } from '../config.ts';
import { remainingIn, type BudgetLimit } from './rule.ts';
import type { BudgetStore } from './store.ts';
import { keyFingerprint } from '../api/key-fingerprint.ts';
import { createBudget, DEFAULT_MARGIN_MS, type BudgetOptions, type RequestBudget } from './budget.ts';
import { createMemoryStore } from './memory-store.ts';
/** In-process budget: enough for one process alone on its key. `key` is the API key's fingerprint. */
export function createMemoryBudget(limits: BudgetLimit[], key = 'default', options: BudgetOptions = {}): RequestBudget {
  return createBudget(createMemoryStore(), key, limits, options);
}

export interface KeyRemaining {
  /** API key fingerprint. */
  key: string;
  window: string;
  remaining: number;
}

export interface SharedBudgets {
  /** The budget of one API key, shared with every process using the same store. */
  forKey(apiKey: string, options?: Pick<BudgetOptions, 'onWait'>): RequestBudget;
  /** Requests left in each window now, for every key this process has used or is configured with (metrics). */
  remaining(): Promise<KeyRemaining[]>;
  close(): Promise<void>;
}

export interface SharedBudgetOptions {
  /** Every wait of every key, as it ends (threetone_sync_budget_wait_seconds_total). */
  onWaited?: (key: string, ms: number) => void;
}

export type BudgetConfig = Pick<Config, 'budget'> & Partial<Pick<Config, 'budgetMarginMs' | 'budgetFreshReserve' | 'workspaces'>>;

/** Budgets of `store` with the config's limits and margin; `close` closes the store's connection. */
export function sharedBudgets(config: BudgetConfig, store: BudgetStore, options: SharedBudgetOptions, close: () => Promise<void>): SharedBudgets {
  const marginMs = config.budgetMarginMs ?? DEFAULT_MARGIN_MS;
  const keys = new Set((config.workspaces ?? []).map((w) => keyFingerprint(w.apiKey)));
  return {
    forKey(apiKey, budgetOptions = {}) {
      const key = keyFingerprint(apiKey);
      keys.add(key);
      return createBudget(store, key, config.budget, {
        marginMs,
        ...(config.budgetFreshReserve !== undefined ? { freshReserve: config.budgetFreshReserve } : {}),
        onWait: budgetOptions.onWait,
        onWaited: options.onWaited ? (ms) => options.onWaited!(key, ms) : undefined,
      });
    },
    async remaining() {
      const all = await Promise.all(
        [...keys].map(async (key) => {
          const s = await store.read(key, config.budget, marginMs);
          return remainingIn(s.times, s.now, config.budget, marginMs, s.block).map((r) => ({ key, ...r }));
        }),
      );
      return all.flat();
    },
    async close() {
      await store.close();
      await close();
    },
  };
}
