import postgres from 'postgres';
import { sessionOptions } from '../session.ts';

export const CONSUMER_LOCK_PREFIX = 'threetone-sync consumer:';

export interface ConsumerLock {
  /**
   * Whether this session still holds the lock. postgres.js reconnects a lost connection silently, and the new
   * backend holds nothing: asked before each webhook batch and each acknowledgement, so a worker whose lock went
   * with its connection stops before a second worker, which took the lock, delivers beside it out of order.
   */
  held(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * A session advisory lock per consumer name, on a one-connection client of its own: a second `changes` on the
 * same consumer stops at once instead of printing the same entries. Positions only move forward, so a lock lost
 * with its connection costs duplicates at most; `held()` lets the holder notice. Returns undefined when another
 * session holds it.
 */
export async function lockConsumer(databaseUrl: string, name: string): Promise<ConsumerLock | undefined> {
  let closed = false;
  const session = postgres(databaseUrl, sessionOptions('threetone-sync-consumer', { onclose: () => (closed = true) }));
  const key = CONSUMER_LOCK_PREFIX + name;
  try {
    const [row] = await session<{ locked: boolean }[]>`
      select pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended(${key}::text, 0::bigint)) as locked`;
    if (!row?.locked) {
      await session.end({ timeout: 5 });
      return undefined;
    }
  } catch (error) {
    await session.end({ timeout: 5 });
    throw error;
  }
  return {
    async held() {
      if (closed) return false;
      // A bigint advisory lock shows in pg_locks as its high and low 32 bits (classid, objid), objsubid 1.
      const [row] = await session<{ held: boolean }[]>`
        select exists (
          select 1 from pg_catalog.pg_locks l, (select pg_catalog.hashtextextended(${key}::text, 0::bigint) as k) h
          where l.locktype = 'advisory' and l.granted and l.objsubid = 1 and l.pid = pg_catalog.pg_backend_pid()
            and l.classid = ((h.k >> 32) & 4294967295)::oid and l.objid = (h.k & 4294967295)::oid
        ) as held`;
      return !closed && row?.held === true;
    },
    release: () => session.end({ timeout: 5 }),
  };
}
