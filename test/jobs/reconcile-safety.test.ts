import postgres from 'postgres';
import { SyncLockedError } from '../../src/errors/SyncLockedError.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import type { Config } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/connection.ts';
import { runMigrations } from '../../src/db/migrate.ts';
import type { RunKind } from '../../src/domain/runs.ts';
import { runSync, type SyncDeps, type SyncSummary } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { startPrivatePostgres } from '../helpers/private-postgres.ts';
import { expectCopyMatches } from '../helpers/stored.ts';
import { afterEachPage, type PageHook } from '../helpers/run-events.ts';

const KEY_A = 'sk_safety_a_1b2c3d4e5f6a7b8c';
const KEY_B = 'sk_safety_b_9c8d7e6f5a4b3c2d';

/** Cleanups of the running test, released in reverse. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});

async function simulator(key: string, items: number): Promise<Simulator> {
  const sim = await startSimulator({ apiKeys: [key], items });
  cleanups.push(() => sim.close());
  return sim;
}

function runner(database: Database, sim: Simulator, workspace: string, key: string, overrides: Partial<Config> = {}) {
  const config = testConfig({ baseUrl: sim.url, pageSize: 100, maxAttempts: 1, ...overrides });
  return (kind: RunKind, extra: Partial<SyncDeps> & { allowMassDelete?: boolean } = {}): Promise<SyncSummary> => {
    const { allowMassDelete, ...deps } = extra;
    return runSync({ config, database, log: silentLogger, ...deps }, { workspace, apiKey: key, kind, allowMassDelete });
  };
}

/** onPage hook: the API answers 503 from the page after the `n`-th committed one (one attempt allowed, so the run fails). */
function failAfterPage(sim: Simulator, n: number): PageHook {
  return (progress) => {
    if (progress.pages === n) sim.injectFaults('503');
  };
}

const deletedIds = async (database: Database, workspace: string) =>
  (await database.sql<{ id: string }[]>`select id from batch_calls where workspace = ${workspace} and deleted_at is not null order by id`).map((r) => r.id);

async function testDatabase(): Promise<Database> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  return database;
}

describe('a reconciliation resumed across attempts', () => {
  it('marks exactly the API\'s deletes when another workspace reconciled in between', async () => {
    const database = await testDatabase();
    const simA = await simulator(KEY_A, 1_000);
    const simB = await simulator(KEY_B, 300);
    const a = runner(database, simA, 'ws-a', KEY_A);
    const b = runner(database, simB, 'ws-b', KEY_B);
    await a('full');
    await b('full');
    const { deleted } = simA.mutate({ delete: 5 });

    await expect(a('reconcile', afterEachPage(failAfterPage(simA, 3)))).rejects.toThrow(/503/);
    // The page after the third was already prefetched, so the walk stops after the third or fourth.
    const [failed] = await database.sql`select status, pages from sync_runs where workspace = 'ws-a' and kind = 'reconcile'`;
    expect(failed!.status).toBe('failed');
    expect(failed!.pages).toBeGreaterThanOrEqual(3);
    expect(failed!.pages).toBeLessThan(10);

    await b('reconcile');
    const resumed = await a('reconcile');
    expect(resumed).toMatchObject({ resumed: true, status: 'succeeded' });
    expect(resumed.reconcile).toMatchObject({ deleted: 5 });
    expect(await deletedIds(database, 'ws-a')).toEqual([...deleted].sort());
    await expectCopyMatches(database, 'ws-a', simA.truth(), deleted);
  });

  it('does not mark jobs created at the head, and stored by a sync, while it was waiting to resume', async () => {
    const database = await testDatabase();
    const sim = await simulator(KEY_A, 1_000);
    const run = runner(database, sim, 'ws-a', KEY_A);
    await run('full');
    const { deleted } = sim.mutate({ delete: 5 });
    await expect(run('reconcile', afterEachPage(failAfterPage(sim, 3)))).rejects.toThrow(/503/);

    const { created } = sim.mutate({ create: 30 });
    expect((await run('incremental')).versionsAdded).toBeGreaterThanOrEqual(30);
    const resumed = await run('reconcile');
    expect(resumed.resumed).toBe(true);
    expect(await deletedIds(database, 'ws-a')).toEqual([...deleted].sort());
    const [{ live }] = (await database.sql`select count(*)::int as live from batch_calls where deleted_at is null and id = any(${created})`) as unknown as [{ live: number }];
    expect(live).toBe(created.length);
  });

  it('keeps what it saw across a Postgres crash and restart between attempts', { timeout: 120_000 }, async () => {
    const server = await startPrivatePostgres();
    cleanups.push(() => server.destroy());
    const admin = postgres(server.url, { max: 1, onnotice: () => undefined });
    await admin`create database sync`;
    await admin.end();
    const database = await openDatabase({ databaseUrl: server.url.replace(/\/postgres$/, '/sync'), embeddedPg: { dir: '', port: 0 } }, silentLogger);
    cleanups.push(() => database.close());
    await runMigrations(database);

    const sim = await simulator(KEY_A, 1_000);
    const run = runner(database, sim, 'ws-a', KEY_A);
    await run('full');
    const { deleted } = sim.mutate({ delete: 5 });
    await expect(run('reconcile', afterEachPage(failAfterPage(sim, 3)))).rejects.toThrow(/503/);
    const [before] = await database.sql`select (select count(*)::int from reconcile_seen) as seen, pages from sync_runs where kind = 'reconcile'`;
    expect(before!.seen).toBe(before!.pages * 100);
    expect(before!.pages).toBeLessThan(10);

    await server.crash();
    await server.start();
    const [after] = await database.sql`select count(*)::int as seen from reconcile_seen`;
    expect(after!.seen).toBe(before!.seen);
    const resumed = await run('reconcile');
    expect(resumed).toMatchObject({ resumed: true, status: 'succeeded' });
    expect(await deletedIds(database, 'ws-a')).toEqual([...deleted].sort());
  });
});

describe('a run that loses its workspace lock', () => {
  it('stops with a clear error while the process that took over finishes: one writer, exact deletes', async () => {
    const database = await testDatabase();
    const sim = await simulator(KEY_A, 1_000);
    const run = runner(database, sim, 'ws-a', KEY_A, { maxAttempts: 3 });
    await run('full');
    const { deleted } = sim.mutate({ delete: 5 });

    let second: Promise<SyncSummary> | undefined;
    const takeOver = async () => {
      // As a failover or idle_session_timeout would: the lock's backend goes, and with it the lock.
      await database.sql`select pg_catalog.pg_terminate_backend(pid) from pg_catalog.pg_stat_activity
                         where application_name = 'threetone-sync-lock' and datname = pg_catalog.current_database()`;
      await expect.poll(async () => (await database.sql`select count(*)::int as n from pg_catalog.pg_locks l join pg_catalog.pg_database d on d.oid = l.database
                                                   where l.locktype = 'advisory' and d.datname = pg_catalog.current_database()`)[0]!.n).toBe(0);
      // The server dropped the lock; this process may read its session's close a moment later, and until then refuses
      // the key as a worker would (the job is postponed and tried again: process-job.ts).
      for (;;) {
        try {
          return await run('reconcile');
        } catch (error) {
          if (!(error instanceof SyncLockedError)) throw error;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    };
    const first = run('reconcile', {
      ...afterEachPage((progress) => {
        if (progress.pages !== 2 || second) return;
        // Slow enough that the first run is still walking when the second starts.
        sim.setLatency(100);
        second = takeOver();
      }),
    });
    await expect(first).rejects.toThrow(/^sync run \d+ of workspace "ws-a" lost its ownership/);
    sim.setLatency(0);
    const summary = await second!;
    expect(summary).toMatchObject({ status: 'succeeded', resumed: true });
    expect(await deletedIds(database, 'ws-a')).toEqual([...deleted].sort());
    await expectCopyMatches(database, 'ws-a', sim.truth(), deleted);
    const runs = await database.sql`select status, attempts, stop_reason from sync_runs where kind = 'reconcile'`;
    expect(runs.map((r) => ({ ...r }))).toEqual([{ status: 'succeeded', attempts: 2, stop_reason: 'end' }]);
  });
});

describe('the delete guard', () => {
  it('refuses a mass delete, marks nothing and says how to confirm; --allow-mass-delete then marks it', async () => {
    const database = await testDatabase();
    const sim = await simulator(KEY_A, 200);
    const run = runner(database, sim, 'ws-a', KEY_A, { reconcile: { maxDeleteRatio: 0.25 } });
    await run('full');
    const { deleted } = sim.mutate({ delete: 80 });

    const refused = run('reconcile');
    await expect(refused).rejects.toThrow(
      'reconciliation refused: it would mark 80 of 200 live jobs deleted (40%, limit 25% from RECONCILE_MAX_DELETE_RATIO), so it marked nothing; run "threetone-sync reconcile --allow-mass-delete" to confirm',
    );
    expect(await deletedIds(database, 'ws-a')).toEqual([]);
    const [row] = await database.sql`select status, stop_reason from sync_runs where kind = 'reconcile'`;
    expect({ ...row }).toEqual({ status: 'failed', stop_reason: 'delete_guard' });

    const allowed = await run('reconcile', { allowMassDelete: true });
    expect(allowed.resumed).toBe(false);
    expect(allowed.reconcile).toMatchObject({ deleted: 80 });
    expect(await deletedIds(database, 'ws-a')).toEqual([...deleted].sort());
  });

  it('refuses to empty a workspace when the API lists nothing', async () => {
    const database = await testDatabase();
    const sim = await simulator(KEY_A, 5);
    const run = runner(database, sim, 'ws-a', KEY_A);
    await run('full');
    sim.mutate({ delete: 5 });
    await expect(run('reconcile')).rejects.toThrow(/^reconciliation refused: the API listed no jobs but 5 are live here/);
    expect(await deletedIds(database, 'ws-a')).toEqual([]);
  });

  it('lets a small share of deletes through', async () => {
    const database = await testDatabase();
    const sim = await simulator(KEY_A, 200);
    const run = runner(database, sim, 'ws-a', KEY_A);
    await run('full');
    const { deleted } = sim.mutate({ delete: 20 });
    expect((await run('reconcile')).reconcile).toMatchObject({ deleted: 20 });
    expect(await deletedIds(database, 'ws-a')).toEqual([...deleted].sort());
  });
});

describe('a job marked deleted that the API lists again', () => {
  it('is live again after the next incremental sync, not the next reconciliation', async () => {
    const database = await testDatabase();
    const sim = await simulator(KEY_A, 300);
    const run = runner(database, sim, 'ws-a', KEY_A);
    await run('full');
    const newest = sim.truth()[0]!.id;
    await database.sql`update batch_calls set deleted_at = now() where id = ${newest}`;
    const summary = await run('incremental');
    expect(summary.undeleted).toBe(1);
    expect(await deletedIds(database, 'ws-a')).toEqual([]);
  });
});

describe('unstorable items', () => {
  it('are set aside one by one: the rest of each page lands, the workspace keeps syncing, and a resync adds no rejected rows', async () => {
    const database = await testDatabase();
    const sim = await simulator(KEY_A, 250);
    const run = runner(database, sim, 'ws-a', KEY_A);
    // At the very top of the list, so page 1 carries them all.
    sim.injectInvalid(12, 'unstorable');
    const first = await run('full');
    expect(first.status).toBe('succeeded');
    expect(first.rejected).toBe(12);
    await expectCopyMatches(database, 'ws-a', sim.truth());

    const reasons = (await database.sql<{ reason: string }[]>`select reason from rejected_records`).map((r) => r.reason);
    expect(reasons).toHaveLength(12);
    for (const reason of reasons) expect(reason).toMatch(/outside the timestamps Postgres can store|longer than the 256 an indexed column takes/);

    sim.mutate({ progress: 10, create: 5 });
    expect((await run('full')).status).toBe('succeeded');
    await expectCopyMatches(database, 'ws-a', sim.truth());
    const [{ rows, seen }] = (await database.sql`select count(*)::int as rows, sum(times_seen)::int as seen from rejected_records`) as unknown as [{ rows: number; seen: number }];
    expect({ rows, seen }).toEqual({ rows: 12, seen: 24 });
  });
});
