import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockWorkspace, workspaceLockKey } from '../../src/db/workspace-lock.ts';
import { SyncLockedError } from '../../src/errors/SyncLockedError.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

const lockSessions = async () =>
  (
    await database.sql<{ n: number }[]>`select count(*)::int as n from pg_catalog.pg_stat_activity
      where application_name = 'threetone-sync-lock' and datname = pg_catalog.current_database()`
  )[0]!.n;

describe('lockWorkspace', () => {
  it('holds the workspace against a second taker until released, and leaves no session behind', async () => {
    const lock = await lockWorkspace(database.url, 'w1');
    await expect(lockWorkspace(database.url, 'w1')).rejects.toBeInstanceOf(SyncLockedError);
    await lock.release();
    const again = await lockWorkspace(database.url, 'w1');
    await again.release();
    expect(again.lost.aborted).toBe(false);
    expect(await lockSessions()).toBe(0);
  });

  it('gives each lane of a workspace its own lock: an incremental sync runs beside a reconciliation, never beside another sync', async () => {
    const walk = await lockWorkspace(database.url, 'lanes', { lane: 'walk' });
    const fresh = await lockWorkspace(database.url, 'lanes', { lane: 'fresh' });
    await expect(lockWorkspace(database.url, 'lanes', { lane: 'fresh' })).rejects.toBeInstanceOf(SyncLockedError);
    await expect(lockWorkspace(database.url, 'lanes')).rejects.toBeInstanceOf(SyncLockedError);
    // No workspace's name makes its walk key equal another workspace's fresh key.
    expect(workspaceLockKey('fresh:lanes', 'walk')).not.toBe(workspaceLockKey('lanes', 'fresh'));
    expect(workspaceLockKey('-fresh:lanes', 'walk')).not.toBe(workspaceLockKey('lanes', 'fresh'));
    await Promise.all([walk.release(), fresh.release()]);
  });

  it('notices at once when its session is terminated, so the run can stop', async () => {
    const lock = await lockWorkspace(database.url, 'w2');
    const lost = new Promise<unknown>((resolve) => lock.lost.addEventListener('abort', () => resolve(lock.lost.reason)));
    await database.sql`select pg_catalog.pg_terminate_backend(${lock.pid}::int)`;
    expect(String(await lost)).toMatch(/the workspace lock of "w2" was lost: its Postgres connection closed/);
    await lock.release();
  });

  it('notices through its heartbeat when its session stops answering without closing (a network partition)', async () => {
    const target = new URL(database.url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    const lock = await lockWorkspace(viaProxy.toString(), 'w3', { heartbeatMs: 100 });
    const lost = new Promise<unknown>((resolve) => lock.lost.addEventListener('abort', () => resolve(lock.lost.reason)));
    proxy.stall();
    expect(String(await lost)).toMatch(/the workspace lock of "w3" was lost: its Postgres session did not answer within 100 ms/);
    await proxy.close();
    await lock.release();
  });
});
