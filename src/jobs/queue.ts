import {
  type BackoffStrategy,
  createPostgresBackend,
  createRedisBackend,
  withBackend,
  type IQueueBackend,
  type JobsOptions,
  type Processor,
  type Queue,
  type Worker,
} from 'bullmq';
import { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { redactUrl } from '../util/redact-url.ts';
import { pingRedis } from '../util/ping-redis.ts';
import type { SyncJobData } from './job-data.ts';

// Job types fixed, backend left open: the same code drives Redis and Postgres. Names (`tick`: fired by a
// schedule, enqueues a `run` unless one is pending; `run`: one sync) are `string` because BullMQ types a
// scheduler's id with the job-name type.
export type SyncQueue = Queue<SyncJobData, unknown, string, SyncJobData, unknown, string, IQueueBackend, any>;
export type SyncWorker = Worker<SyncJobData, unknown, string, IQueueBackend, any, any>;
export type SyncProcessor = Processor<SyncJobData, unknown, string>;

export interface QueueStore {
  /** `redis` when REDIS_URL is set; otherwise BullMQ's Postgres backend in the same database. */
  kind: 'redis' | 'postgres';
  openQueue(): SyncQueue;
  openWorker(processor: SyncProcessor, options: { concurrency: number; lockDuration: number; stalledInterval?: number }): SyncWorker;
  /**
   * Calls `listener` each time the store comes back after its connection was lost (Redis: the queue's connection is
   * ready again). A Redis restarted without its data, or a failover to an empty replica, has lost the job schedulers.
   */
  onReconnect(listener: () => void): void;
  /** Closes the connections this store opened itself (after the queue and workers are closed). */
  close(): Promise<void>;
}

/**
 * Where the queue lives. Redis connections are created here (BullMQ needs
 * `maxRetriesPerRequest: null` for workers, so a Redis outage makes them wait
 * and reconnect instead of failing jobs); the Postgres backend opens its own
 * pools per queue and worker, and creates its schema on first use.
 */
export function openQueueStore(config: Pick<Config, 'redisUrl' | 'worker'>, databaseUrl: string): QueueStore {
  const { queueName, queuePrefix, queueSchema } = config.worker;
  const settings = { backoffStrategy: runBackoffStrategy(config.worker.maxDelayMs) };
  if (config.redisUrl) {
    const redisUrl = config.redisUrl;
    const { Queue, Worker } = withBackend(createRedisBackend);
    const clients: Redis[] = [];
    const connect = () => {
      const client = new Redis(redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
      // BullMQ forwards a client's errors as its Queue's and Worker's 'error' events, which the caller logs; before
      // BullMQ attaches and after it lets go, ioredis would print each reconnect attempt to stderr instead.
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    };
    let queueClient: Redis | undefined;
    const reconnectListeners: (() => void)[] = [];
    return {
      kind: 'redis',
      openQueue: () => {
        const client = connect();
        if (!queueClient) {
          queueClient = client;
          let connected = false;
          client.on('ready', () => {
            if (connected) for (const listener of reconnectListeners) listener();
            connected = true;
          });
        }
        return new Queue<SyncJobData, unknown, string>(queueName, { connection: client, prefix: queuePrefix }) as SyncQueue;
      },
      openWorker: (processor, options) =>
        new Worker<SyncJobData, unknown, string>(queueName, cappingBackoff(processor), { connection: connect(), prefix: queuePrefix, settings, ...options }) as SyncWorker,
      onReconnect(listener) {
        reconnectListeners.push(listener);
      },
      async close() {
        await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
      },
    };
  }
  const { Queue, Worker } = withBackend(createPostgresBackend);
  const connection = { connectionString: databaseUrl, schema: queueSchema, migrate: true, max: 4, application_name: 'threetone-sync-queue' };
  return {
    kind: 'postgres',
    openQueue: () => new Queue<SyncJobData, unknown, string>(queueName, { connection }) as unknown as SyncQueue,
    openWorker: (processor, options) =>
      new Worker<SyncJobData, unknown, string>(queueName, cappingBackoff(processor), { connection, settings, ...options }) as unknown as SyncWorker,
    // The schedulers live in the database, which a restart does not empty.
    onReconnect() {},
    async close() {},
  };
}

/**
 * The capped backoff of `run` jobs: exponential from JOB_BACKOFF_MS, never above JOB_MAX_DELAY_MS.
 * BullMQ 6's built-in `exponential` has no ceiling (30 attempts from 30 s would wait years), and has no
 * setting for one, so the cap is a custom strategy registered on every Worker (`settings.backoffStrategy`),
 * which BullMQ only asks about types it does not know.
 *
 * Jobs are stored with the built-in `exponential` all the same (RUN_BACKOFF_STORED): a job carries its
 * backoff type wherever it runs, and during a rolling deploy a worker of a release that lacks this strategy
 * fails on a type it does not know. Ours apply the cap by giving the job this type in memory when they take it
 * (`cappingBackoff`); an older worker backs off without a ceiling, as it always did. Jobs already stored with
 * this type keep running here.
 */
export const RUN_BACKOFF = 'capped-exponential';

/** The backoff type `run` jobs are stored with: built into every BullMQ version. */
export const RUN_BACKOFF_STORED = 'exponential';

/**
 * The Worker's processor, after giving each job the capped backoff in memory (`job.opts` of this attempt
 * only: BullMQ reads it to decide the retry, and never writes it back to the store).
 */
export function cappingBackoff(processor: SyncProcessor): SyncProcessor {
  // Three parameters: BullMQ only passes the abort signal to processors that take one.
  return (job, token, signal) => {
    const backoff = job.opts.backoff;
    if (typeof backoff === 'object' && backoff.type === RUN_BACKOFF_STORED) job.opts.backoff = { ...backoff, type: RUN_BACKOFF };
    return processor(job, token, signal);
  };
}

/** Delay before retry `attemptsMade + 1`: base, 2 x base, 4 x base, ... never above `maxMs`. */
export function cappedExponentialDelay(attemptsMade: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, Math.round(baseMs * 2 ** Math.max(0, attemptsMade - 1)));
}

/** The Worker's custom backoff: RUN_BACKOFF with the job's own base delay. */
export function runBackoffStrategy(maxDelayMs: number): BackoffStrategy {
  return (attemptsMade, type, _error, job) => {
    if (type !== RUN_BACKOFF) throw new Error(`unknown backoff type "${type}": run jobs use "${RUN_BACKOFF}"`);
    const backoff = job?.opts.backoff;
    const baseMs = typeof backoff === 'number' ? backoff : (backoff?.delay ?? 0);
    return cappedExponentialDelay(attemptsMade, baseMs, maxDelayMs);
  };
}

/** Options every `run` job gets: retries with capped backoff, bounded history in the store. */
export function runJobOptions(config: Pick<Config, 'worker'>): JobsOptions {
  const w = config.worker;
  return {
    attempts: w.attempts,
    backoff: { type: RUN_BACKOFF_STORED, delay: w.backoffMs },
    removeOnComplete: { count: w.keepCompleted },
    removeOnFail: { count: w.keepFailed },
  };
}

/**
 * Fails fast, with the variable to fix, when Redis does not answer. The
 * queue's own clients retry forever (right for an outage mid-run, wrong for a
 * typo in REDIS_URL at start).
 */
export async function checkRedis(redisUrl: string, timeoutMs = 3000): Promise<void> {
  try {
    await pingRedis(redisUrl, timeoutMs);
  } catch (cause) {
    throw new Error(`cannot reach Redis at ${redactUrl(redisUrl)}: ${(cause as Error).message}; check REDIS_URL`, { cause });
  }
}
