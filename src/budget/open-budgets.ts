import pg from 'pg';
import { Redis } from 'ioredis';
import { sharedBudgets, type BudgetConfig, type SharedBudgetOptions, type SharedBudgets } from './shared.ts';
import { createMemoryStore } from './memory-store.ts';
import { createRedisStore } from './redis-store.ts';
import type { Config } from '../config.ts';
import { createPostgresStore } from './postgres-store.ts';

// `pg` (node-postgres) beside postgres.js: BullMQ's Postgres backend is written against it, and so is this Postgres
// store of the budget, which shares the queue's schema and connection settings.

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
    // A command that gets no answer (a half-open connection, a Redis stalled mid-failover) fails after the timeout
    // instead of holding its run, and the run's workspace lock, for good.
    const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 20, commandTimeout: BUDGET_COMMAND_TIMEOUT_MS });
    // Without a listener ioredis prints every reconnect attempt's error to stderr. An outage reaches the run as its
    // budget command failing, and the log through the queue's own connections to the same Redis.
    redis.on('error', () => undefined);
    return sharedBudgets(config, createRedisStore(redis, prefix), options, async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, application_name: 'threetone-sync-budget' });
  // An idle client whose session ends (Postgres restarting) makes the pool emit 'error'; unheard, that ends the
  // process. The pool drops that client and connects anew; a take in flight fails on its own query.
  pool.on('error', () => undefined);
  try {
    const store = await createPostgresStore(pool, config.worker.queueSchema);
    return sharedBudgets(config, store, options, () => pool.end());
  } catch (error) {
    await pool.end();
    throw error;
  }
}

/** Longest wait for one budget command on Redis; the scripts themselves take well under a millisecond. */
export const BUDGET_COMMAND_TIMEOUT_MS = 5_000;

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

