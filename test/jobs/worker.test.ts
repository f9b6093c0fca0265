import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import type { Config } from '../../src/config.ts';
import { openQueueStore } from '../../src/jobs/queue.ts';
import { registerSchedules } from '../../src/jobs/schedules.ts';
import { startWorker, type WorkerHandle } from '../../src/app/worker.ts';
import { silentLogger } from '../../src/log.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startThrowawayRedis } from '../http/fixture.ts';
import { spawnCli, type Child } from '../helpers/child.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { BACKENDS, deleteRedisKeys, dumpRedis, queueConfig } from '../helpers/queue.ts';
import { dumpTables, expectCopyMatches } from '../helpers/stored.ts';

const KEY_A = 'sk_worker_a_7d1e2f3a4b5c6d7e';
const KEY_B = 'sk_worker_b_0a9b8c7d6e5f4a3b';

interface RunRow {
  id: number;
  workspace: string;
  status: string;
  started: number;
  finished: number | null;
  pages: number;
  error: string | null;
}

describe.each(BACKENDS)('worker on %s', (backend) => {
  let database: TestDatabase;
  let simulator: Simulator;
  let config: Config;
  const workers: WorkerHandle[] = [];
  const children: Child[] = [];

  async function setup(sim: SimulatorOptions, overrides: Partial<Config> = {}, worker: Partial<Config['worker']> = {}): Promise<void> {
    simulator = await startSimulator({ apiKeys: [KEY_A, KEY_B], items: 500, ...sim });
    const queue = queueConfig(backend);
    const base = testConfig({ baseUrl: simulator.url, pageSize: 100 });
    config = {
      ...base,
      databaseUrl: database.url,
      redisUrl: queue.redisUrl,
      workspaces: [{ name: 'alpha', apiKey: KEY_A }],
      ...overrides,
      worker: { ...base.worker, ...queue.worker, syncEveryMs: 3_600_000, attempts: 2, backoffMs: 200, lockMs: 2_000, shutdownTimeoutMs: 20_000, ...worker },
    };
  }

  async function start(c: Config = config): Promise<WorkerHandle> {
    const handle = await startWorker(c, silentLogger);
    workers.push(handle);
    return handle;
  }

  /** The worker as its own process, as in production. */
  function spawnWorker(extra: Record<string, string> = {}): Child {
    const child = spawnCli(['worker'], {
      DATABASE_URL: database.url,
      REDIS_URL: config.redisUrl,
      THREETONE_BASE_URL: config.baseUrl,
      THREETONE_WORKSPACES: JSON.stringify(Object.fromEntries(config.workspaces.map((w) => [w.name, w.apiKey]))),
      THREETONE_PAGE_SIZE: String(config.pageSize),
      THREETONE_RETRY_BASE_MS: '10',
      THREETONE_REQUESTS_PER_MINUTE: '100000',
      THREETONE_REQUESTS_PER_HOUR: '1000000',
      QUEUE_PREFIX: config.worker.queuePrefix,
      SYNC_EVERY: '1h',
      WORKER_LOCK_MS: '2000',
      JOB_BACKOFF_MS: '200',
      LOG_LEVEL: 'info',
      HTTP_PORT: '0',
      ...extra,
    });
    children.push(child);
    return child;
  }

  async function runs(workspace?: string): Promise<RunRow[]> {
    const rows = await database.sql<RunRow[]>`
      select id::int, workspace, status, pages, error,
             (extract(epoch from started_at) * 1000)::float8 as started,
             (extract(epoch from finished_at) * 1000)::float8 as finished
      from sync_runs where ${workspace === undefined ? database.sql`true` : database.sql`workspace = ${workspace}`}
      order by id`;
    return rows.map((r) => ({ ...r }));
  }

  const succeeded = async (workspace: string) => (await runs(workspace)).filter((r) => r.status === 'succeeded').length;

  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      await child.exited;
    }
    for (const handle of workers.splice(0)) await handle.close();
    await simulator?.close();
    await deleteRedisKeys(config.worker.queuePrefix);
    await database.drop();
  });

  it('registers each schedule once however often it starts, and a new interval replaces the old', async () => {
    await setup({}, { workspaces: [{ name: 'alpha', apiKey: KEY_A }, { name: 'beta', apiKey: KEY_B }] });
    const store = openQueueStore(config, database.url);
    const queue = store.openQueue();
    try {
      for (let i = 0; i < 3; i++) await registerSchedules(queue, config, config.workspaces, silentLogger);
      const first = await queue.getJobSchedulers(0, -1, true);
      expect(first.map((s) => s.key).sort()).toEqual(['reconcile:alpha', 'reconcile:beta', 'sync:alpha', 'sync:beta']);
      expect(first.find((s) => s.key === 'reconcile:alpha')).toMatchObject({ pattern: '0 3 * * *', tz: 'UTC' });

      await registerSchedules(queue, { worker: { ...config.worker, syncEveryMs: 90_000 } }, [config.workspaces[0]!], silentLogger);
      const second = await queue.getJobSchedulers(0, -1, true);
      expect(second.map((s) => s.key).sort()).toEqual(['reconcile:alpha', 'sync:alpha']);
      expect(Number(second.find((s) => s.key === 'sync:alpha')!.every)).toBe(90_000);
    } finally {
      await queue.close();
      await store.close();
    }
  });

  it('refreshes by upserting only the schedulers missing or timed otherwise, not every one every minute', async () => {
    await setup({}, { workspaces: [{ name: 'alpha', apiKey: KEY_A }, { name: 'beta', apiKey: KEY_B }] });
    const store = openQueueStore(config, database.url);
    const queue = store.openQueue();
    try {
      await registerSchedules(queue, config, config.workspaces, silentLogger);
      const upsert = vi.spyOn(queue, 'upsertJobScheduler');
      await registerSchedules(queue, config, config.workspaces, silentLogger, { refresh: true });
      expect(upsert).not.toHaveBeenCalled();

      await queue.removeJobScheduler('sync:beta');
      const moved = { worker: { ...config.worker, reconcileCron: '0 4 * * *' } };
      const { missing } = await registerSchedules(queue, moved, config.workspaces, silentLogger, { refresh: true });
      expect(missing).toEqual(['sync:beta']);
      expect(upsert.mock.calls.map((call) => call[0]).sort()).toEqual(['reconcile:alpha', 'reconcile:beta', 'sync:beta']);
      const after = await queue.getJobSchedulers(0, -1, true);
      expect(after.filter((s) => s.key.startsWith('reconcile:')).map((s) => s.pattern)).toEqual(['0 4 * * *', '0 4 * * *']);
    } finally {
      await queue.close();
      await store.close();
    }
  });

  it('syncs again and again on a short SYNC_EVERY', async () => {
    await setup({}, {}, { syncEveryMs: 1_000 });
    await start();
    await expect.poll(() => succeeded('alpha'), { timeout: 20_000, interval: 200 }).toBeGreaterThanOrEqual(3);
    await expectCopyMatches(database, 'alpha', simulator.truth());
  });

  it('syncs two workspaces in parallel into separate rows', async () => {
    await setup({ latencyMs: 150 }, { workspaces: [{ name: 'alpha', apiKey: KEY_A }, { name: 'beta', apiKey: KEY_B }] }, { concurrency: 2 });
    await start();
    await expect.poll(async () => (await succeeded('alpha')) + (await succeeded('beta')), { timeout: 20_000, interval: 200 }).toBeGreaterThanOrEqual(2);
    await expectCopyMatches(database, 'alpha', simulator.truth());
    await expectCopyMatches(database, 'beta', simulator.truth());
    const [a] = await runs('alpha');
    const [b] = await runs('beta');
    // Each walk takes several 150 ms pages; with concurrency 2 they overlap in time.
    expect(a!.started).toBeLessThan(b!.finished!);
    expect(b!.started).toBeLessThan(a!.finished!);
  });

  it('never runs one workspace twice at once across two workers', async () => {
    await setup({ latencyMs: 100 }, {}, { syncEveryMs: 300, concurrency: 3 });
    await start();
    await start();
    await expect.poll(() => succeeded('alpha'), { timeout: 30_000, interval: 200 }).toBeGreaterThanOrEqual(4);
    for (const handle of workers.splice(0)) await handle.close();
    const done = (await runs('alpha')).filter((r) => r.finished !== null);
    for (let i = 1; i < done.length; i++) expect(done[i]!.started).toBeGreaterThanOrEqual(done[i - 1]!.finished!);
    // Only closing the workers (above) may have interrupted a run, and that is not a failure.
    for (const run of done) expect(['succeeded', 'interrupted']).toContain(run.status);
    for (const run of done.filter((r) => r.status === 'interrupted')) expect(run.error).toMatch(/shutting down/);
  });

  it('keeps two workers on one key within that key\'s request budget', async () => {
    await setup(
      { items: 3_000 },
      { workspaces: [{ name: 'alpha', apiKey: KEY_A }, { name: 'beta', apiKey: KEY_A }], budget: [{ points: 10, windowMs: 2_000 }] },
      { syncEveryMs: 1_000, concurrency: 1 },
    );
    await start();
    await start();
    await expect.poll(() => simulator.stats.requests, { timeout: 30_000, interval: 200 }).toBeGreaterThanOrEqual(30);
    const times = simulator.stats.requestTimes;
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 2_000).length).toBeLessThanOrEqual(10);
  });

  it('applies the run retention at start: old runs go, the newest of each kind stays', async () => {
    await setup({ items: 10 }, { retention: { runDays: 30, rejectedDays: 30 } }, { syncEveryMs: 3_600_000 });
    const old = await database.sql<{ id: number }[]>`
      insert into sync_runs (workspace, kind, status, started_at, finished_at, stop_reason)
      values ('alpha', 'full', 'succeeded', now() - interval '200 days', now() - interval '200 days', 'end'),
             ('alpha', 'full', 'succeeded', now() - interval '100 days', now() - interval '100 days', 'end')
      returning id::int`;
    await start();
    await expect.poll(async () => (await database.sql`select id::int from sync_runs where id = ${old[0]!.id}`).length, { timeout: 20_000, interval: 100 }).toBe(0);
    // The same pass kept the newest full walk, however old: resume and the incremental stop rule read it.
    expect((await database.sql`select id::int from sync_runs where id = ${old[1]!.id}`).length).toBe(1);
  });

  it('keeps the API key out of the queue store and the tables', async () => {
    await setup({}, {}, { syncEveryMs: 1_000 });
    await start();
    await expect.poll(() => succeeded('alpha'), { timeout: 20_000, interval: 200 }).toBeGreaterThanOrEqual(2);
    const store = backend === 'redis' ? await dumpRedis(config.worker.queuePrefix) : '';
    expect(store.length + (await dumpTables(database)).length).toBeGreaterThan(100);
    expect(store).not.toContain(KEY_A);
    expect(await dumpTables(database)).not.toContain(KEY_A);
    if (backend === 'postgres') {
      const tables = await database.sql<{ name: string }[]>`select table_name as name from information_schema.tables where table_schema = 'threetone_queue'`;
      expect(tables.map((t) => t.name)).toContain('job');
      for (const { name } of tables) {
        const [row] = await database.sql.unsafe<{ t: string | null }[]>(`select string_agg(r::text, E'\\n') as t from threetone_queue."${name}" r`);
        expect(row!.t ?? '', name).not.toContain(KEY_A);
      }
    }
  });

  it('on SIGTERM lets the page in flight commit, hands the job back and exits 0', async () => {
    await setup({ latencyMs: 700, items: 1_000 });
    const child = spawnWorker();
    await expect.poll(async () => (await runs('alpha'))[0]?.pages ?? 0, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(1);
    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    expect(child.output()).toMatch(/shut down cleanly/);
    const [run] = await runs('alpha');
    // A shutdown is not a failure: recorded as interrupted, logged at info, nothing at error level.
    expect(run).toMatchObject({ status: 'interrupted' });
    expect(run!.error).toMatch(/interrupted \(shutting down\); the next run resumes after the last committed page/);
    expect(child.output()).toMatch(/"level":30[^\n]*"msg":"sync interrupted"/);
    expect(child.output()).not.toMatch(/"level":50/);
    expect(run!.pages).toBeLessThan(10);
    // Whole pages only: every committed page holds exactly 100 jobs.
    const [{ n }] = (await database.sql`select count(*)::int as n from batch_calls`) as unknown as [{ n: number }];
    expect(n).toBe(run!.pages * 100);
    // The job went back to the queue: a new worker finishes the work.
    await start();
    await expect.poll(() => succeeded('alpha'), { timeout: 30_000, interval: 200 }).toBe(1);
    await expectCopyMatches(database, 'alpha', simulator.truth());
  });

  it('recovers the job of a SIGKILLed worker in another worker and marks the dead run failed', async () => {
    await setup({ latencyMs: 300, items: 2_000 });
    const child = spawnWorker();
    await expect.poll(async () => (await runs('alpha'))[0]?.pages ?? 0, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    child.process.kill('SIGKILL');
    await child.exited;
    expect((await runs('alpha'))[0]!.status).toBe('running');
    simulator.setLatency(0);
    await start();
    await expect.poll(() => succeeded('alpha'), { timeout: 30_000, interval: 200 }).toBe(1);
    // A scheduled sync is incremental, and an incremental run starts again from the top rather than
    // resuming (its stop rule needs to see the newest pages); full runs resume (see sync-run tests).
    const all = await runs('alpha');
    expect(all).toHaveLength(2);
    expect(all[0]).toMatchObject({ status: 'failed', error: 'abandoned: its process stopped before the run finished' });
    expect(all[1]).toMatchObject({ status: 'succeeded' });
    await expectCopyMatches(database, 'alpha', simulator.truth());
  });

  // Needs a redis-server binary of its own to kill and restart, so it is only defined where Redis runs.
  if (backend === 'redis') it('waits out a Redis outage and carries on, without crashing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'redis-'));
    let redis = await startThrowawayRedis({ dir });
    try {
      await setup({ items: 300 }, { redisUrl: redis.url });
      const child = spawnWorker({ SYNC_EVERY: '1s' });
      await expect.poll(() => succeeded('alpha'), { timeout: 30_000, interval: 200 }).toBeGreaterThanOrEqual(1);
      await redis.kill();
      const during = await succeeded('alpha');
      // Redis stays away for a while; the worker must neither exit nor spin.
      await expect.poll(() => child.output(), { timeout: 15_000, interval: 200 }).toMatch(/worker error|ECONNREFUSED|Connection is closed/);
      expect(child.process.exitCode).toBeNull();
      redis = await startThrowawayRedis({ port: redis.port, dir });
      await expect.poll(() => succeeded('alpha'), { timeout: 30_000, interval: 200 }).toBeGreaterThanOrEqual(during + 2);
      expect(child.process.exitCode).toBeNull();
    } finally {
      await redis.kill();
    }
  });
});