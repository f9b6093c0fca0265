import pg from 'pg';
import { Redis } from 'ioredis';
import type { Config } from '../../config.ts';
import { keyFingerprint } from '../key-fingerprint.ts';
import { remainingIn, type BudgetLimit } from './admission.ts';
import { createBudget, DEFAULT_MARGIN_MS, type BudgetOptions, type RequestBudget } from './budget.ts';
import { createMemoryStore } from './memory-store.ts';
import { createPostgresStore } from './postgres-store.ts';
import { createRedisStore } from './redis-store.ts';
import type { BudgetStore } from './store.ts';

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

type BudgetConfig = Pick<Config, 'budget'> & Partial<Pick<Config, 'budgetMarginMs' | 'workspaces'>>;

/**
 * One request budget per API key across every process, kept in the queue's own store: Redis when REDIS_URL is set,
 * else Postgres (tables in the queue's schema). Keys are stored by fingerprint only.
 */
export async function openSharedBudgets(
  config: BudgetConfig & Pick<Config, 'redisUrl' | 'worker'>,
  databaseUrl: string,
  options: SharedBudgetOptions = {},
): Promise<SharedBudgets> {
  const prefix = `${config.worker.queuePrefix}:${config.worker.queueName}`;
  if (config.redisUrl) {
    const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 20 });
    return sharedBudgets(config, createRedisStore(redis, prefix), options, async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, application_name: 'threetone-sync-budget' });
  try {
    const store = await createPostgresStore(pool, config.worker.queueSchema);
    return sharedBudgets(config, store, options, () => pool.end());
  } catch (error) {
    await pool.end();
    throw error;
  }
}

/**
 * The budget of a CLI `sync`/`reconcile`: shared with the workers through Redis when REDIS_URL is set (same keys as
 * `openSharedBudgets`), else in this process only. Close it when the command ends.
 */
export async function openBudgetForCli(
  config: BudgetConfig & Pick<Config, 'redisUrl' | 'worker'>,
  options: SharedBudgetOptions = {},
): Promise<SharedBudgets> {
  if (config.redisUrl) return openSharedBudgets(config, '', options);
  return sharedBudgets(config, createMemoryStore(), options, async () => undefined);
}

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
