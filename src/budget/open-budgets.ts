import postgres from 'postgres';
import { Redis } from 'ioredis';
import { sharedBudgets, type BudgetConfig, type SharedBudgetOptions, type SharedBudgets } from './shared.ts';
import { createMemoryStore } from './memory-store.ts';
import { createRedisStore } from './redis-store.ts';
import type { Config } from '../config.ts';
import { keepTransactionsOffDeadConnections } from '../db/connection.ts';
import { createPostgresStore } from './postgres-store.ts';

/**
 * One request budget per API key across every process, kept beside the queue: Redis when REDIS_URL is set, else
 * Postgres (schema threetone_budget, made by `migrate`). Keys are stored by fingerprint only.
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
  const pool = openBudgetPool(databaseUrl);
  // Closed after the worker, so no take is in flight: what the timeout cuts is a connection postgres.js still
  // counts busy after its session was lost mid-take, which it would otherwise wait out for good.
  return sharedBudgets(config, createPostgresStore(pool), options, () => pool.end({ timeout: 1 }));
}

/**
 * The Postgres budget's connections: a pool of its own, not the sync's, so a take never queues for a connection
 * behind page writes (a worker running as many runs as the sync's pool has connections keeps them all in
 * transactions), nor they behind it; its application_name names its sessions in pg_stat_activity. Nothing to listen
 * to: postgres.js reports a lost session by rejecting the queries on it, not with an 'error' event that would end the
 * process. The wrapper keeps a take whose connection died from writing its ROLLBACK to the dead socket (postgres.js
 * 3.4.10's uncatchable TypeError, see src/db/connection.ts).
 */
export function openBudgetPool(databaseUrl: string): postgres.Sql {
  // idle_timeout as node-postgres's pool had it (10 s): a worker between runs holds no budget session.
  const pool = postgres(databaseUrl, { max: 2, idle_timeout: 10, connect_timeout: 10, onnotice: () => undefined, connection: { application_name: 'threetone-sync-budget' } });
  return keepTransactionsOffDeadConnections(pool);
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

