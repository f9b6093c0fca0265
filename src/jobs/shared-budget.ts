import pg from 'pg';
import { Redis } from 'ioredis';
import { RateLimiterPostgres, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { keyFingerprint } from '../api/key-fingerprint.ts';
import { budgetLimiters, createRequestBudget, type RequestBudget } from '../api/request-budget.ts';
import type { Config } from '../config.ts';

export interface SharedBudgets {
  /** The budget of one API key, shared with every process using the same store. */
  forKey(apiKey: string): RequestBudget;
  close(): Promise<void>;
}

/**
 * One request budget per API key across all worker processes, kept in the
 * queue's own store: Redis when REDIS_URL is set, else Postgres (a table per
 * window in the queue's schema). Keys are stored by fingerprint only.
 */
export async function openSharedBudgets(config: Pick<Config, 'redisUrl' | 'budget' | 'worker'>, databaseUrl: string): Promise<SharedBudgets> {
  let limiters: RateLimiterAbstract[];
  let close: () => Promise<void>;
  const prefix = `${config.worker.queuePrefix}:${config.worker.queueName}`;
  if (config.redisUrl) {
    const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 20 });
    limiters = budgetLimiters(
      config.budget,
      (opts) => new RateLimiterRedis({ ...opts, keyPrefix: `${prefix}:${opts.keyPrefix}`, storeClient: redis }),
      true,
    );
    close = async () => {
      await redis.quit().catch(() => redis.disconnect());
    };
  } else {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, application_name: 'threetone-sync-budget' });
    const schema = config.worker.queueSchema;
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    const pending: Promise<void>[] = [];
    // Whole seconds here too: the Postgres store writes `now + duration * 1000` into a bigint.
    limiters = budgetLimiters(config.budget, (opts) => {
      let limiter!: RateLimiterPostgres;
      pending.push(
        new Promise<void>((resolve, reject) => {
          limiter = new RateLimiterPostgres(
            { ...opts, storeClient: pool, schemaName: schema, tableName: `request_budget_${opts.keyPrefix.replace(/\W/g, '_')}` },
            (error?: Error) => (error ? reject(error) : resolve()),
          );
        }),
      );
      return limiter;
    }, true);
    await Promise.all(pending);
    close = () => pool.end();
  }
  return {
    forKey: (apiKey) => createRequestBudget(limiters, keyFingerprint(apiKey)),
    close,
  };
}
