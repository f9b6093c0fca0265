import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.ts';
import { startWorker } from '../../src/app/worker.ts';
import { openQueueStore } from '../../src/jobs/queue.ts';
import { registerSchedules } from '../../src/jobs/schedules.ts';
import { silentLogger } from '../../src/log.ts';
import { cliEnv } from '../helpers/child.ts';
import { cliChildren } from '../helpers/cli-children.ts';
import { testConfig } from '../helpers/config.ts';
import { captureLogs } from '../helpers/logs.ts';
import { BACKENDS, deleteRedisKeys, queueConfig } from '../helpers/queue.ts';
import { expectCopyMatches } from '../helpers/stored.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { useSimulator } from '../helpers/use.ts';
import { startThrowawayRedis, type ThrowawayRedis } from '../http/fixture.ts';

const KEY = 'sk_redisrestart_8e7d6c5b4a39';
const WS = 'redisrestart';

const cleanups: (() => Promise<unknown>)[] = [];
const children = cliChildren();
afterEach(async () => {
  await children.stopAll();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const { start: simulator } = useSimulator();

describe('a worker whose Redis comes back empty', () => {
  /**
   * Job schedulers live in Redis. A Redis restarted without persistence (or a failover to a replica that had
   * not caught up) comes back without them, and a worker that registered them only at start would then never
   * sync again until it restarted. Here the worker's only scheduled run is the first tick of an hourly
   * schedule, so a run after the restart can only come from the schedules being registered again.
   */
  it('registers its schedules again and syncs, without a restart and without printing every reconnect', { timeout: 90_000 }, async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    let redis: ThrowawayRedis = await startThrowawayRedis();
    cleanups.push(() => redis.kill());
    const sim = await simulator({ apiKeys: [KEY], items: 300 });
    const env = cliEnv(
      { databaseUrl: database.url, baseUrl: sim.url, apiKey: KEY, workspace: WS },
      { REDIS_URL: redis.url, HTTP_PORT: '0', LOG_LEVEL: 'info', SYNC_EVERY: '1h', WORKER_LOCK_MS: '2000', JOB_BACKOFF_MS: '200' },
    );
    const worker = children.spawn(['worker'], env);
    const died = worker.exited.then((code) => {
      throw new Error(`the worker exited (${code ?? worker.process.signalCode}):\n${worker.output().slice(-4_000)}`);
    });
    died.catch(() => undefined);
    const whileAlive = <T>(wait: Promise<T>): Promise<T> => Promise.race([wait, died]);
    const succeededSince = async (since: Date) =>
      Number((await database.sql`select count(*)::int as n from sync_runs where status = 'succeeded' and started_at > ${since}`)[0]!.n);

    await whileAlive(expect.poll(() => succeededSince(new Date(0)), { timeout: 30_000, interval: 100 }).toBe(1));
    await redis.kill();
    // The worker notices (one line), and keeps trying while Redis stays away.
    await whileAlive(expect.poll(() => worker.output(), { timeout: 15_000, interval: 100 }).toMatch(/"msg":"(queue|worker) error/));
    const outageLines = worker.output().split('\n').length;
    await new Promise<void>((resolve) => setTimeout(resolve, 3_000)); // Redis stays away for a while: several reconnect attempts.
    const [{ now: restartedAt }] = (await database.sql`select now()`) as unknown as [{ now: Date }];
    redis = await startThrowawayRedis({ port: redis.port });

    await whileAlive(expect.poll(() => succeededSince(restartedAt), { timeout: 30_000, interval: 100 }).toBe(1));
    expect(worker.output()).toMatch(/schedules missing from the queue store \(was it emptied\?\), registered again: sync:redisrestart, reconcile:redisrestart/);
    await expectCopyMatches(database, WS, sim.truth());
    // Three seconds of reconnect attempts: no line per attempt, and none from a client nobody listens to.
    expect(worker.output()).not.toMatch(/\[ioredis\] Unhandled error event/);
    expect(worker.output().split('\n').length - outageLines).toBeLessThan(6);
    worker.process.kill('SIGTERM');
    expect(await worker.exited, worker.output()).toBe(0);
  });
});

describe.each(BACKENDS)('registering the schedules again, on %s', (backend) => {
  it('neither moves nor adds a tick, and puts back a scheduler the store lost, with a tick at once', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const settings = queueConfig(backend);
    const base = testConfig({ baseUrl: 'http://127.0.0.1:1' });
    const config: Config = {
      ...base,
      databaseUrl: database.url,
      redisUrl: settings.redisUrl,
      workspaces: [{ name: 'alpha', apiKey: KEY }],
      worker: { ...base.worker, ...settings.worker, syncEveryMs: 3_600_000, queuePrefix: `t${randomBytes(5).toString('hex')}` },
    };
    cleanups.push(() => deleteRedisKeys(config.worker.queuePrefix));
    const store = openQueueStore(config, database.url);
    cleanups.push(() => store.close());
    const queue = store.openQueue();
    cleanups.push(() => queue.close());
    const ticks = async () => (await queue.getJobs(['waiting', 'delayed', 'prioritized'])).map((job) => job.id).sort();

    expect(await registerSchedules(queue, config, config.workspaces, silentLogger)).toEqual({ missing: ['sync:alpha', 'reconcile:alpha'] });
    // The sync scheduler's first tick is due now, the reconciliation's at 03:00; a tick's id holds its due time.
    const first = await ticks();
    expect(first).toHaveLength(2);
    for (let i = 0; i < 10; i++) expect(await registerSchedules(queue, config, config.workspaces, silentLogger, { refresh: true })).toEqual({ missing: [] });
    expect(await ticks()).toEqual(first);

    // As a store that lost everything: neither the schedulers nor their pending ticks are left.
    await queue.obliterate({ force: true });
    expect(await ticks()).toEqual([]);
    const logs = captureLogs('info');
    expect(await registerSchedules(queue, config, config.workspaces, logs.log, { refresh: true })).toEqual({ missing: ['sync:alpha', 'reconcile:alpha'] });
    expect(logs.text()).toMatch(/"level":40.*registered again: sync:alpha, reconcile:alpha/);
    const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized']);
    expect(jobs).toHaveLength(2);
    expect(jobs.find((job) => job.repeatJobKey === 'sync:alpha')!.delay).toBe(0);
  });
});

describe.each(BACKENDS)('a worker on %s whose store loses its schedulers without a reconnect', (backend) => {
  it('puts them back at its next refresh', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const sim = await simulator({ apiKeys: [KEY], items: 10 });
    const settings = queueConfig(backend);
    const base = testConfig({ baseUrl: sim.url });
    const config: Config = {
      ...base,
      databaseUrl: database.url,
      redisUrl: settings.redisUrl,
      workspaces: [{ name: 'alpha', apiKey: KEY }],
      worker: { ...base.worker, ...settings.worker, syncEveryMs: 3_600_000 },
    };
    cleanups.push(() => deleteRedisKeys(config.worker.queuePrefix));
    const logs = captureLogs('info');
    const worker = await startWorker(config, logs.log, { scheduleRefreshMs: 200 });
    cleanups.push(() => worker.close());
    const schedulers = async () => (await worker.queue.getJobSchedulers(0, -1, true)).map((s) => s.key).sort();
    expect(await schedulers()).toEqual(['reconcile:alpha', 'sync:alpha']);

    // A FLUSHALL, a restore from an old backup, a hand-run cleanup: the connection never dropped.
    await worker.queue.removeJobScheduler('sync:alpha');
    await worker.queue.removeJobScheduler('reconcile:alpha');
    await expect.poll(schedulers, { timeout: 10_000, interval: 50 }).toEqual(['reconcile:alpha', 'sync:alpha']);
    expect(logs.text()).toMatch(/registered again: sync:alpha, reconcile:alpha/);
  });
});
