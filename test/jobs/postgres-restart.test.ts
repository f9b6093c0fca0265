import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, type Child } from '../helpers/child.ts';
import { cliChildren } from '../helpers/cli-children.ts';
import { startPrivateDatabase, type PrivateDatabase } from '../helpers/private-database.ts';
import { BACKENDS, deleteRedisKeys } from '../helpers/queue.ts';
import { expectCopyMatches } from '../helpers/stored.ts';
import { useSimulator } from '../helpers/use.ts';

const KEY = 'sk_pgrestart_4c3b2a1f0e9d8c7b';
const WS = 'pgrestart';

const cleanups: (() => Promise<void>)[] = [];
const children = cliChildren();
afterEach(async () => {
  await children.stopAll();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const { start: simulator } = useSimulator();

interface RunRow {
  id: number;
  kind: string;
  status: string;
  pages: number;
  attempts: number;
  error: string | null;
}

/**
 * The headline of issue 18: a worker outlives its Postgres. A worker process syncs a private Postgres that the
 * test crashes (SIGQUIT: every session cut at once, as by a power cut or an OOM kill) twice: once while a page
 * transaction is open, once while the worker's pools sit idle. Both times the worker stays up, and the next
 * runs bring the copy level with the API.
 */
describe.each(BACKENDS)('a worker on the %s queue, its Postgres crashed and restarted', (backend) => {
  it('stays up through a crash mid-page and a crash while idle, then finishes the interrupted run and the next', { timeout: 120_000 }, async () => {
    const pgServer: PrivateDatabase = await startPrivateDatabase();
    cleanups.push(() => pgServer.close());
    const { database } = pgServer;
    const sim = await simulator({ apiKeys: [KEY], items: 1_500, latencyMs: 150 });
    const prefix = `t${randomBytes(5).toString('hex')}`;
    if (backend === 'redis') cleanups.push(() => deleteRedisKeys(prefix));
    const env = cliEnv(
      { databaseUrl: pgServer.url, baseUrl: sim.url, apiKey: KEY, workspace: WS },
      {
        ...(backend === 'redis' ? { REDIS_URL: process.env.REDIS_URL! } : {}),
        QUEUE_PREFIX: prefix,
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
        SYNC_EVERY: '1h',
        WORKER_LOCK_MS: '2000',
        // Postgres is away for a second or two: plenty of quick attempts, none of them long.
        JOB_ATTEMPTS: '30',
        JOB_BACKOFF_MS: '200',
        JOB_MAX_DELAY_MS: '1000',
        THREETONE_RETRY_BASE_MS: '10',
      },
    );
    const runs = async (): Promise<RunRow[] | undefined> => {
      try {
        return (await database.sql<RunRow[]>`select id::int, kind, status, pages, attempts, error from sync_runs order by id`).map((r) => ({ ...r }));
      } catch {
        return undefined; // Postgres is down, or its restart is still under way.
      }
    };
    const enqueueFull = async () => {
      const cli = children.spawn(['sync', '--enqueue', '--full'], env);
      expect(await cli.exited, cli.output()).toBe(0);
    };
    const alive = (child: Child) => child.process.exitCode === null && child.process.signalCode === null;

    const worker = children.spawn(['worker'], env);
    // Every wait below ends at once, with the worker's last lines, if the worker dies meanwhile.
    const died = worker.exited.then((code) => {
      throw new Error(`the worker exited (${code ?? worker.process.signalCode}):\n${worker.output().slice(-4_000)}`);
    });
    died.catch(() => undefined);
    const whileAlive = <T>(wait: Promise<T>): Promise<T> => Promise.race([wait, died]);
    await enqueueFull();
    await whileAlive(expect.poll(async () => (await runs())?.[0]?.pages ?? 0, { timeout: 30_000, interval: 20 }).toBeGreaterThanOrEqual(2));
    const [inFlight] = (await runs())!;

    // Crash 1, mid-page: hold the run's row, so the worker's next page transaction is open and waiting on it.
    const blocker = new pg.Client({ connectionString: pgServer.url, application_name: 'threetone-test-blocker' });
    blocker.on('error', () => undefined); // It dies with the crash.
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('select 1 from sync_runs where id = $1 for update', [inFlight!.id]);
    const waitingPageWrites = async () =>
      Number(
        (await blocker.query(`select count(*) from pg_stat_activity where application_name = 'threetone-sync' and wait_event_type = 'Lock'`))
          .rows[0].count,
      );
    await whileAlive(expect.poll(waitingPageWrites, { timeout: 10_000, interval: 10 }).toBe(1));
    await pgServer.server.crash();
    await pgServer.server.start();
    await blocker.end().catch(() => undefined);

    // The interrupted full walk is retried, resumes after its last committed page and completes.
    await whileAlive(expect.poll(async () => (await runs())?.find((r) => r.id === inFlight!.id)?.status, { timeout: 60_000, interval: 50 }).toBe('succeeded'));
    expect(alive(worker), worker.output()).toBe(true);
    const afterFirst = (await runs())!;
    expect(afterFirst).toHaveLength(1);
    expect(afterFirst[0]).toMatchObject({ kind: 'full', pages: 15 });
    expect(afterFirst[0]!.attempts).toBeGreaterThanOrEqual(2);
    await expectCopyMatches(database, WS, sim.truth());

    // Crash 2, idle: no run in flight, every pool of the worker holds idle connections that die at once.
    sim.mutate({ progress: 10, create: 5, amend: 2 });
    await pgServer.server.crash();
    await pgServer.server.start();
    await enqueueFull();
    await whileAlive(expect.poll(async () => (await runs())?.filter((r) => r.status === 'succeeded').length, { timeout: 60_000, interval: 50 }).toBe(2));
    expect(alive(worker), worker.output()).toBe(true);
    await expectCopyMatches(database, WS, sim.truth());
    expect((await runs())!.filter((r) => r.status === 'running')).toEqual([]);

    // Nothing escaped as an uncaught error on the way; the worker then shuts down as usual.
    expect(worker.output()).not.toMatch(/TypeError|Unhandled|uncaught|BoundPool/i);
    worker.process.kill('SIGTERM');
    expect(await worker.exited, worker.output()).toBe(0);
  });
});
