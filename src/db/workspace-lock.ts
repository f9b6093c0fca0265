import postgres from 'postgres';
import { SyncLockedError } from '../errors/SyncLockedError.ts';

export interface WorkspaceLock {
  release(): Promise<void>;
}

/**
 * A session advisory lock held for the whole run: at most one sync per
 * workspace across every process on this database, dropped by Postgres
 * itself if the process dies.
 *
 * It lives on a one-connection client of its own rather than a reserved
 * connection of the shared pool: postgres.js 3.4.9 throws an uncatchable
 * TypeError when a reserved connection's socket dies with a write pending
 * (porsager/postgres#1208), which would take the worker down with it. The
 * connection must also never be recycled, or the lock would silently go.
 */
export async function lockWorkspace(databaseUrl: string, workspace: string): Promise<WorkspaceLock> {
  const session = postgres(databaseUrl, {
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    connect_timeout: 10,
    onnotice: () => undefined,
    connection: { application_name: 'threetone-sync-lock' },
  });
  const key = `threetone-sync:${workspace}`;
  try {
    const [row] = await session<{ locked: boolean }[]>`select pg_try_advisory_lock(hashtextextended(${key}, 0)) as locked`;
    if (!row?.locked) throw new SyncLockedError(workspace);
  } catch (error) {
    await session.end({ timeout: 1 });
    throw error;
  }
  let released: Promise<void> | undefined;
  return {
    release: () =>
      (released ??= (async () => {
        // Ending the session releases the lock too; unlocking first makes it immediate even if end() lingers.
        await session`select pg_advisory_unlock(hashtextextended(${key}, 0))`.catch(() => undefined);
        await session.end({ timeout: 1 });
      })()),
  };
}
