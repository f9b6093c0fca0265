import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import * as workspaceLock from '../../src/db/workspace-lock.ts';
import { lockWorkspace, workspaceLockKey, type WorkspaceLock } from '../../src/db/workspace-lock.ts';
import { proveOwnership } from '../../src/db/runs/prove-ownership.ts';
import { RunOwnershipLostError } from '../../src/errors/RunOwnershipLostError.ts';
import { SyncLockedError } from '../../src/errors/SyncLockedError.ts';
import { ownRun } from '../helpers/own-run.ts';
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
  it('holds the workspace against a second taker until released, and leaves no session behind once drained', async () => {
    const lock = await lockWorkspace(database.url, 'w1');
    await expect(lockWorkspace(database.url, 'w1')).rejects.toBeInstanceOf(SyncLockedError);
    await lock.release();
    const again = await lockWorkspace(database.url, 'w1');
    await again.release();
    expect(again.lost.aborted).toBe(false);
    // Kept for the next run, then closed when the last Database handle on the URL closes (openDatabase drains it).
    await workspaceLock.lockSessionPool(database.url).drain();
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

/** Resolves with the abort reason of `signal` when it is aborted. */
const lostReason = (signal: AbortSignal) =>
  new Promise<unknown>((resolve) => (signal.aborted ? resolve(signal.reason) : signal.addEventListener('abort', () => resolve(signal.reason))));

/** Whether backend `pid` holds the advisory lock of `key` (by key, not merely "some advisory lock"). */
const holdsKey = async (pid: number, key: string) =>
  (
    await database.sql<{ held: boolean }[]>`
      select exists (select 1 from pg_catalog.pg_locks l, lateral (select pg_catalog.hashtextextended(${key}::text, 0::bigint) as k) h
                     where l.locktype = 'advisory' and l.granted and l.pid = ${pid}::int and l.objsubid = 1
                       and l.classid = ((h.k >> 32) & 4294967295)::oid and l.objid = (h.k & 4294967295)::oid) as held`
  )[0]!.held;

/** Another process's attempt at `key`, on a connection of its own (as an older worker, or a second pool, would). */
async function otherProcessTakes(key: string): Promise<boolean> {
  const other = postgres(database.url, { max: 1, onnotice: () => undefined });
  try {
    const [row] = await other<{ locked: boolean }[]>`select pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended(${key}::text, 0::bigint)) as locked`;
    return row!.locked;
  } finally {
    await other.end({ timeout: 1 });
  }
}

describe('lock sessions shared by many locks', () => {
  it('holds many workspaces\' locks on a couple of sessions, each lock under its own key', async () => {
    const locks = await Promise.all(Array.from({ length: 40 }, (_, i) => lockWorkspace(database.url, `many-${i}`, { lane: i % 2 ? 'fresh' : 'walk' })));
    try {
      expect(await lockSessions()).toBeLessThanOrEqual(2);
      expect(new Set(locks.map((l) => l.pid)).size).toBeLessThanOrEqual(2);
      for (const [i, lock] of locks.entries()) expect(await holdsKey(lock.pid, workspaceLockKey(`many-${i}`, i % 2 ? 'fresh' : 'walk'))).toBe(true);
    } finally {
      await Promise.all(locks.map((l) => l.release()));
    }
  });

  it('refuses a second lock of the same workspace and lane in this process, though Postgres would grant it again on the same session', async () => {
    const first = await lockWorkspace(database.url, 'twice');
    try {
      const attempts = await Promise.allSettled(Array.from({ length: 5 }, () => lockWorkspace(database.url, 'twice')));
      expect(attempts.map((a) => a.status)).toEqual(Array(5).fill('rejected'));
      for (const a of attempts) expect((a as PromiseRejectedResult).reason).toBeInstanceOf(SyncLockedError);
    } finally {
      await first.release();
    }
    // Each grant on a session needs its own unlock: a re-entrant grant would leave the key held after this release.
    expect(await otherProcessTakes(workspaceLockKey('twice', 'walk'))).toBe(true);
  });

  it('frees the key as soon as release resolves, for another process', async () => {
    const lock = await lockWorkspace(database.url, 'freed', { lane: 'fresh' });
    expect(await otherProcessTakes(workspaceLockKey('freed', 'fresh'))).toBe(false);
    await lock.release();
    expect(await otherProcessTakes(workspaceLockKey('freed', 'fresh'))).toBe(true);
  });

  it('never lets two pools (two processes) hold the same workspace and lane', async () => {
    const { LockSessionPool } = workspaceLock;
    const a = new LockSessionPool(database.url);
    const b = new LockSessionPool(database.url);
    try {
      const results = await Promise.allSettled(['a', 'b', 'a', 'b'].map((p) => (p === 'a' ? a : b).lock('contended', 'fresh')));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SyncLockedError);
      await (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<WorkspaceLock>).value.release();
      const next = await b.lock('contended', 'fresh');
      await expect(a.lock('contended', 'fresh')).rejects.toBeInstanceOf(SyncLockedError);
      await next.release();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('aborts exactly the locks of a session whose backend is terminated; the others hold on, and new locks are taken again', async () => {
    const locks = await Promise.all(Array.from({ length: 12 }, (_, i) => lockWorkspace(database.url, `term-${i}`)));
    try {
      const victim = locks[0]!.pid;
      const onVictim = locks.filter((l) => l.pid === victim);
      const elsewhere = locks.filter((l) => l.pid !== victim);
      await database.sql`select pg_catalog.pg_terminate_backend(${victim}::int)`;
      for (const reason of await Promise.all(onVictim.map((l) => lostReason(l.lost)))) expect(String(reason)).toMatch(/was lost: its Postgres connection closed/);
      for (const lock of elsewhere) {
        expect(lock.lost.aborted).toBe(false);
        expect(await holdsKey(lock.pid, workspaceLockKey(`term-${locks.indexOf(lock)}`, 'walk'))).toBe(true);
      }
      // Once the run that lost it has stopped (released), the workspace can be taken again: its key went with the backend.
      await onVictim[0]!.release();
      const again = await lockWorkspace(database.url, `term-${locks.indexOf(onVictim[0]!)}`);
      expect(again.lost.aborted).toBe(false);
      await again.release();
    } finally {
      await Promise.all(locks.map((l) => l.release()));
    }
  });

  it('finds through its heartbeat a lock its session no longer holds, by key, while the session\'s other locks hold on', async () => {
    const pool = new workspaceLock.LockSessionPool(database.url, { sessions: 1, heartbeatMs: 50 });
    try {
      const kept = await pool.lock('beat-kept');
      const taken = await pool.lock('beat-taken');
      expect(kept.pid).toBe(taken.pid);
      // Unlocked behind the pool's back on its own session (the only way for one lock of a live session to go).
      const session = (pool as unknown as { sessions: { sql: postgres.Sql }[] }).sessions[0]!.sql;
      await session`select pg_catalog.pg_advisory_unlock(pg_catalog.hashtextextended(${workspaceLockKey('beat-taken', 'walk')}::text, 0::bigint))`;
      expect(String(await lostReason(taken.lost))).toMatch(/the workspace lock of "beat-taken" was lost: its session no longer holds it/);
      expect(kept.lost.aborted).toBe(false);
      await Promise.all([kept.release(), taken.release()]);
    } finally {
      await pool.close();
    }
  });

  it('keeps the number of sessions bounded under many concurrent locks coming and going', async () => {
    let peak = 0;
    let done = false;
    const watch = (async () => {
      while (!done) peak = Math.max(peak, await lockSessions());
    })();
    try {
      await Promise.all(
        Array.from({ length: 60 }, async (_, i) => {
          for (let round = 0; round < 5; round++) {
            const lock = await lockWorkspace(database.url, `churn-${i}`, { lane: round % 2 ? 'fresh' : 'walk' });
            await database.sql`select 1`;
            await lock.release();
          }
        }),
      );
    } finally {
      done = true;
      await watch;
    }
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(2);
  });
});

describe('proving a run still owns its workspace lock', () => {
  it('asks for the run\'s own key: a backend holding another workspace\'s lock, or this workspace\'s other lane, is no proof', async () => {
    const { owner, release } = await ownRun(database, 'prove-own', 'incremental');
    // A backend holding other keys, as a shared lock session does once this run's lock is gone.
    const other = postgres(database.url, { max: 1, onnotice: () => undefined });
    try {
      await database.sql.begin((tx) => proveOwnership(tx, owner, { lock: true }));
      const [{ pid } = { pid: 0 }] = await other<{ pid: number }[]>`
        select pg_catalog.pg_backend_pid() as pid,
               pg_catalog.pg_advisory_lock(pg_catalog.hashtextextended(${workspaceLockKey('prove-other', 'fresh')}::text, 0::bigint)),
               pg_catalog.pg_advisory_lock(pg_catalog.hashtextextended(${workspaceLockKey('prove-own', 'walk')}::text, 0::bigint))`;
      await expect(database.sql.begin((tx) => proveOwnership(tx, { ...owner, lockPid: pid }, { lock: true }))).rejects.toBeInstanceOf(RunOwnershipLostError);
      // Pages skip the lock check (the token fences them), so they still prove.
      await database.sql.begin((tx) => proveOwnership(tx, { ...owner, lockPid: pid }, { lock: false }));
    } finally {
      await other.end({ timeout: 1 });
      await release();
    }
  });
});
