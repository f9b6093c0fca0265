import { on } from 'node:events';
import { createPostgresBackend, createRedisBackend, withBackend, type Job, type MinimalJob } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import type { Config } from '../../src/config.ts';
import { ApiHttpError } from '../../src/errors/ApiHttpError.ts';
import { SyncLockedError } from '../../src/errors/SyncLockedError.ts';
import type { SyncJobData } from '../../src/jobs/job-data.ts';
import { createProcessor, delayFor, LOCKED_RETRY_MS } from '../../src/jobs/process-job.ts';
import {
  cappedExponentialDelay,
  openQueueStore,
  RUN_BACKOFF,
  RUN_BACKOFF_STORED,
  runBackoffStrategy,
  runJobOptions,
  type QueueStore,
  type SyncProcessor,
  type SyncQueue,
  type SyncWorker,
} from '../../src/jobs/queue.ts';
import { enqueueRun } from '../../src/jobs/schedules.ts';
import { openSharedBudgets } from '../../src/budget/open-budgets.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { BACKENDS, deleteRedisKeys, queueConfig } from '../helpers/queue.ts';

const HOUR = 3_600_000;
const KEY = 'sk_delays_5e4d3c2b1a09f8e7';

describe('job delay ceiling, computed', () => {
  it('doubles the run backoff per attempt and never passes the ceiling', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => cappedExponentialDelay(n, 30_000, HOUR))).toEqual([
      30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, HOUR,
    ]);
    // JOB_ATTEMPTS may be 100: 2^99 steps would be years.
    expect(cappedExponentialDelay(100, 3_600_000, HOUR)).toBe(HOUR);
    expect(cappedExponentialDelay(1, 5_000, 1_000)).toBe(1_000);
  });

  it('is what the Worker\'s strategy answers for a run job, with the job\'s own base delay', () => {
    const strategy = runBackoffStrategy(10_000);
    const job = { opts: { backoff: { type: RUN_BACKOFF, delay: 3_000 } } } as MinimalJob;
    expect([1, 2, 3, 4].map((n) => strategy(n, RUN_BACKOFF, new Error('API down'), job))).toEqual([3_000, 6_000, 10_000, 10_000]);
    expect(() => strategy(1, 'linear', new Error('x'), job)).toThrow('unknown backoff type "linear"');
  });

  it('stores run jobs with BullMQ\'s built-in exponential type, which a worker of any release can retry', () => {
    const config = testConfig({ baseUrl: 'http://127.0.0.1:1' });
    expect(runJobOptions(config).backoff).toEqual({ type: 'exponential', delay: config.worker.backoffMs });
    expect(RUN_BACKOFF_STORED).toBe('exponential');
  });

  it('postpones a rate-limited or locked run by at most the ceiling', () => {
    const rateLimited = (retryAfterMs: number) =>
      new Error('gave up', { cause: new ApiHttpError({ method: 'GET', url: 'https://api.example/x', status: 429 }, retryAfterMs) });
    expect(delayFor(rateLimited(10 * HOUR), HOUR)).toBe(HOUR);
    expect(delayFor(rateLimited(90_000), HOUR)).toBe(90_000);
    expect(delayFor(new SyncLockedError('alpha'), HOUR)).toBe(LOCKED_RETRY_MS);
    expect(delayFor(new SyncLockedError('alpha'), 5_000)).toBe(5_000);
    expect(delayFor(new Error('API server error (503)'), HOUR)).toBeUndefined();
  });
});

describe.each(BACKENDS)('job delay ceiling on %s', (backend) => {
  let database: TestDatabase | undefined;
  let simulator: Simulator | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await simulator?.close();
    await database?.drop();
    simulator = database = undefined;
  });

  async function openQueue(worker: Partial<Config['worker']>): Promise<{ config: Config; store: QueueStore; queue: SyncQueue }> {
    database = await createTestDatabase();
    const settings = queueConfig(backend);
    const base = testConfig({ baseUrl: simulator?.url ?? 'http://127.0.0.1:1' });
    const config: Config = {
      ...base,
      databaseUrl: database.url,
      redisUrl: settings.redisUrl,
      workspaces: [{ name: 'alpha', apiKey: KEY }],
      worker: { ...base.worker, ...settings.worker, ...worker },
    };
    cleanups.push(() => deleteRedisKeys(config.worker.queuePrefix));
    const store = openQueueStore(config, database.url);
    cleanups.push(() => store.close());
    const queue = store.openQueue();
    cleanups.push(() => queue.close());
    await queue.waitUntilReady();
    return { config, store, queue };
  }

  function startWorker(store: QueueStore, processor: SyncProcessor): SyncWorker {
    const worker = store.openWorker(processor, { concurrency: 1, lockDuration: 5_000 });
    cleanups.push(() => worker.close(true));
    return worker;
  }

  it('postpones a run whose API asks for a 10-hour pause by JOB_MAX_DELAY_MS, spending no attempt', async () => {
    simulator = await startSimulator({ apiKeys: [KEY], items: 50, retryAfterSeconds: 36_000 });
    simulator.injectFaults('429');
    const maxDelayMs = 4_000;
    const { config, queue, store } = await openQueue({ maxDelayMs, attempts: 3 });
    const budgets = await openSharedBudgets(config, database!.url);
    cleanups.push(() => budgets.close());
    const processor = createProcessor({ config, database: database!, budgets, queue, log: silentLogger });
    let finished!: () => void;
    const processed = new Promise<void>((resolve) => (finished = resolve));
    startWorker(store, async (job, token, signal) => {
      try {
        return await processor(job, token, signal);
      } finally {
        finished();
      }
    });
    const { jobId } = await enqueueRun(queue, config, { workspace: 'alpha', kind: 'full', trigger: 'manual' });
    await processed;

    expect(simulator.stats.byStatus).toEqual({ '429': 1 });
    const job = (await queue.getJob(jobId!)) as Job<SyncJobData> | undefined;
    expect(await queue.getJobState(jobId!)).toBe('delayed');
    expect(job!.attemptsMade).toBe(0);
    // Due within the ceiling, not in 10 hours (less the few ms between reading the clock and storing).
    expect(job!.delay).toBeLessThanOrEqual(maxDelayMs);
    expect(job!.delay).toBeGreaterThan(maxDelayMs - 1_000);
    expect((await queue.getDelayed()).map((j) => j.id)).toEqual([jobId]);
  });

  it('caps the retry backoff of a failing run at JOB_MAX_DELAY_MS', async () => {
    const { config, queue, store } = await openQueue({ attempts: 3, backoffMs: 10 * HOUR, maxDelayMs: 1_000 });
    const worker = startWorker(store, async () => {
      throw new Error('API server error (503) (gave up after 6 attempts)');
    });
    // Listening before the job exists: no failure can slip past.
    const failures = on(worker, 'failed');
    cleanups.push(async () => void (await failures.return?.()));
    const { jobId } = await enqueueRun(queue, config, { workspace: 'alpha', kind: 'full', trigger: 'manual' });

    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [job] = (await failures.next()).value as [Job<SyncJobData>];
      expect(job.id).toBe(jobId);
      if (attempt < 3) {
        expect(await queue.getJobState(jobId!)).toBe('delayed');
        delays.push((await queue.getJob(jobId!))!.delay);
      }
    }
    // Uncapped, the first retry would wait 10 hours and the second 20.
    expect(delays).toEqual([1_000, 1_000]);
    expect(await queue.getJobState(jobId!)).toBe('failed');
    expect((await queue.getJob(jobId!))!.attemptsMade).toBe(3);
  });

  /**
   * A worker of a release without this release's backoff strategy, during a rolling deploy: a plain BullMQ
   * Worker on the same queue, with no `settings.backoffStrategy`.
   */
  function startOlderWorker(config: Config, processor: SyncProcessor): SyncWorker {
    const { queueName, queuePrefix, queueSchema } = config.worker;
    let worker: SyncWorker;
    if (config.redisUrl) {
      const { Worker } = withBackend(createRedisBackend);
      const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
      worker = new Worker<SyncJobData, unknown, string>(queueName, processor, { connection, prefix: queuePrefix, concurrency: 1 }) as SyncWorker;
      cleanups.push(async () => void (await connection.quit()));
    } else {
      const { Worker } = withBackend(createPostgresBackend);
      const connection = { connectionString: database!.url, schema: queueSchema, migrate: true, max: 2 };
      worker = new Worker<SyncJobData, unknown, string>(queueName, processor, { connection, concurrency: 1 }) as unknown as SyncWorker;
    }
    cleanups.push(() => worker.close(true));
    return worker;
  }

  it('queues runs that a worker without the capped strategy (an older release) retries, uncapped as it always did', async () => {
    const { config, queue } = await openQueue({ attempts: 3, backoffMs: 700, maxDelayMs: 100 });
    const worker = startOlderWorker(config, async () => {
      throw new Error('API server error (503) (gave up after 6 attempts)');
    });
    // Whichever comes first: the job's failure handled (retry scheduled), or the worker unable to handle it.
    const outcome = new Promise<string>((resolve) => {
      worker.on('failed', () => resolve('failed'));
      worker.on('error', (error) => resolve(`worker error: ${error.message}`));
    });
    const { jobId } = await enqueueRun(queue, config, { workspace: 'alpha', kind: 'full', trigger: 'manual' });
    expect(await outcome).toBe('failed');
    expect(await queue.getJobState(jobId!)).toBe('delayed');
    expect((await queue.getJob(jobId!))!.delay).toBe(700);
  });

  it('still runs jobs an earlier release stored with the capped type, and caps them', async () => {
    const { config, queue, store } = await openQueue({ attempts: 3, backoffMs: 10 * HOUR, maxDelayMs: 1_000 });
    const worker = startWorker(store, async () => {
      throw new Error('API server error (503) (gave up after 6 attempts)');
    });
    const failed = new Promise<void>((resolve) => worker.once('failed', () => resolve()));
    const job = await queue.add('run', { workspace: 'alpha', kind: 'full', trigger: 'manual' }, { ...runJobOptions(config), backoff: { type: RUN_BACKOFF, delay: 10 * HOUR } });
    await failed;
    expect(await queue.getJobState(job.id!)).toBe('delayed');
    expect((await queue.getJob(job.id!))!.delay).toBe(1_000);
  });
});
