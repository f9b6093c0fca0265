import type postgres from 'postgres';
import { SyncLockedError } from '../errors/SyncLockedError.ts';

export interface WorkspaceLock {
  release(): Promise<void>;
}

/**
 * A session advisory lock held on a reserved connection for the whole run:
 * at most one sync per workspace across every process on this database,
 * released by Postgres itself if the process dies.
 */
export async function lockWorkspace(sql: postgres.Sql, workspace: string): Promise<WorkspaceLock> {
  const conn = await sql.reserve();
  try {
    const [row] = await conn<{ locked: boolean }[]>`
      select pg_try_advisory_lock(hashtextextended(${'threetone-sync:' + workspace}, 0)) as locked`;
    if (!row?.locked) throw new SyncLockedError(workspace);
  } catch (error) {
    conn.release();
    throw error;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      try {
        await conn`select pg_advisory_unlock(hashtextextended(${'threetone-sync:' + workspace}, 0))`;
      } finally {
        conn.release();
      }
    },
  };
}
