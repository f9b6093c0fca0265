import postgres from 'postgres';
import { sessionOptions } from './session.ts';
import { SyncLockedError } from '../errors/SyncLockedError.ts';
import { TimeoutError, withTimeout } from '../util/with-timeout.ts';

import type { RunKind } from '../domain/runs.ts';

/**
 * Runs of a workspace go in two lanes, each with a lock of its own, so that
 * incremental syncs keep the copy fresh while a reconciliation (or a full walk)
 * of the same workspace takes an hour: `walk` for full and reconcile runs,
 * `fresh` for incremental ones. At most one run per lane and workspace.
 */
export type LockLane = 'walk' | 'fresh';

export const LANE_OF_KIND: Record<RunKind, LockLane> = { full: 'walk', reconcile: 'walk', incremental: 'fresh' };

/** The kinds whose runs share a lane (a run that opens abandons the dead runs of its own lane only). */
export const KINDS_OF_LANE: Record<LockLane, RunKind[]> = { walk: ['full', 'reconcile'], fresh: ['incremental'] };

/**
 * A lock's key is the hash of its lane's prefix and the workspace's name; src/db/health/workspace-facts.ts and
 * prove-ownership.ts look for it in pg_locks. The walk lane keeps the key every run took before lanes existed, so a
 * worker of an older version still excludes a reconciliation. The prefixes differ before the first `:`, so no
 * workspace's name makes one lane's key equal another's.
 */
export const LOCK_PREFIXES: Record<LockLane, string> = { walk: 'threetone-sync:', fresh: 'threetone-sync-fresh:' };

export function workspaceLockKey(workspace: string, lane: LockLane): string {
  return LOCK_PREFIXES[lane] + workspace;
}

export interface WorkspaceLock {
  /** Backend pid of the session holding the lock: page transactions check the lock is still there. */
  pid: number;
  /** Aborted, with a one-line reason, as soon as the lock is known to be gone. */
  lost: AbortSignal;
  release(): Promise<void>;
}

export interface LockOptions {
  /** Which of the workspace's two locks. Default `walk`. */
  lane?: LockLane;
  /** How often the lock's session is checked while the run goes on. Default 5000 ms. */
  heartbeatMs?: number;
}

/**
 * A session advisory lock held for the whole run: at most one run per
 * workspace and lane across every process on this database, dropped by Postgres
 * itself if the process dies.
 *
 * It lives on a one-connection client of its own rather than a reserved
 * connection of the shared pool: postgres.js 3.4 (3.4.10 included) throws an
 * uncatchable TypeError when a reserved connection's socket dies with a write
 * pending (porsager/postgres#1208), which would take the worker down with it.
 *
 * The lock goes with its connection (a Postgres restart or failover,
 * idle_session_timeout, pg_terminate_backend, a pooler), and another process
 * may then take the workspace. So the connection's close aborts `lost`, and a
 * heartbeat asks the session whether it still holds the lock: postgres.js
 * reconnects silently, and a new backend holds nothing. The heartbeat also
 * keeps the session from ever being idle.
 */
export async function lockWorkspace(databaseUrl: string, workspace: string, options: LockOptions = {}): Promise<WorkspaceLock> {
  const lost = new AbortController();
  let releasing = false;
  const loseLock = (why: string) => {
    if (!releasing && !lost.signal.aborted) lost.abort(new Error(`the workspace lock of "${workspace}" was lost: ${why}`));
  };
  const session = postgres(databaseUrl, sessionOptions('threetone-sync-lock', { onclose: () => loseLock('its Postgres connection closed') }));
  const key = workspaceLockKey(workspace, options.lane ?? 'walk');
  let pid: number;
  try {
    const [row] = await session<{ locked: boolean; pid: number }[]>`
      select pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended(${key}::text, 0::bigint)) as locked, pg_catalog.pg_backend_pid() as pid`;
    if (!row?.locked) throw new SyncLockedError(workspace);
    pid = row.pid;
  } catch (error) {
    releasing = true;
    await session.end({ timeout: 1 });
    throw error;
  }

  const heartbeatMs = options.heartbeatMs ?? 5_000;
  let beating = false;
  const heartbeat = setInterval(() => {
    if (beating) return;
    beating = true;
    // Bounded: a network partition neither closes the connection nor answers.
    withTimeout(
      session<{ held: boolean }[]>`
        select pg_catalog.pg_backend_pid() = ${pid}::int
          and exists (select 1 from pg_catalog.pg_locks where locktype = 'advisory' and pid = ${pid}::int and granted) as held`,
      heartbeatMs,
      'the lock session',
    ).then(
      ([row]) => {
        if (!row?.held) loseLock('its session no longer holds it');
      },
      (error: unknown) => loseLock(error instanceof TimeoutError ? `its Postgres session did not answer within ${heartbeatMs} ms` : 'its Postgres session failed'),
    ).finally(() => (beating = false));
  }, heartbeatMs);
  heartbeat.unref();

  let released: Promise<void> | undefined;
  return {
    pid,
    lost: lost.signal,
    release: () =>
      (released ??= (async () => {
        releasing = true;
        clearInterval(heartbeat);
        // Ending the session releases the lock too; unlocking first makes it immediate even if end() lingers.
        await session`select pg_catalog.pg_advisory_unlock(pg_catalog.hashtextextended(${key}::text, 0::bigint))`.catch(() => undefined);
        await session.end({ timeout: 1 });
      })()),
  };
}
