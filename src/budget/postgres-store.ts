import type pg from 'pg';
import { admit, horizon, type Admission, type BudgetBlock } from './rule.ts';
import type { BudgetStore, StoreSnapshot } from './store.ts';

/** Class id of the budget's advisory locks (two-int form), so they never meet the one-bigint workspace and migration locks. */
export const LOCK_CLASS = 0x62756467; // 'budg'

/**
 * The budget in Postgres, for a queue that lives there: a table of request times per key in the queue's schema.
 * Each admission is one transaction under a per-key advisory lock, with the time from clock_timestamp() taken after
 * the lock, so the check and the insert are atomic for every process on the key and they all share the server's clock.
 */
export async function createPostgresStore(pool: pg.Pool, schema: string): Promise<BudgetStore> {
  const s = `"${schema.replace(/"/g, '""')}"`;
  const client = await checkOut(pool);
  try {
    await client.query('BEGIN');
    // Concurrent first starts would race on CREATE ... IF NOT EXISTS (a unique violation in pg_type): one at a time.
    await client.query('SELECT pg_catalog.pg_advisory_xact_lock($1::int, 0)', [LOCK_CLASS]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.request_budget_log (key text NOT NULL, at_ms bigint NOT NULL)`);
    await client.query(`CREATE INDEX IF NOT EXISTS request_budget_log_key_at ON ${s}.request_budget_log (key, at_ms)`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.request_budget_block (key text PRIMARY KEY, until_ms bigint NOT NULL, reason text NOT NULL)`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }

  const NOW = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;
  const inTransaction = async <T>(key: string, fn: (c: pg.PoolClient, now: number) => Promise<T>): Promise<T> => {
    const c = await checkOut(pool);
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_catalog.pg_advisory_xact_lock($1::int, pg_catalog.hashtext($2::text))', [LOCK_CLASS, key]);
      const { rows } = await c.query<{ now: string }>(`SELECT ${NOW} AS now`);
      const result = await fn(c, Number(rows[0]!.now));
      await c.query('COMMIT');
      return result;
    } catch (error) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      c.release();
    }
  };
  const snapshot = async (c: pg.PoolClient, key: string, now: number, since: number): Promise<StoreSnapshot> => {
    const [log, block] = await Promise.all([
      c.query<{ at_ms: string }>(`SELECT at_ms FROM ${s}.request_budget_log WHERE key = $1 AND at_ms > $2 ORDER BY at_ms`, [key, since]),
      c.query<{ until_ms: string; reason: string }>(`SELECT until_ms, reason FROM ${s}.request_budget_block WHERE key = $1`, [key]),
    ]);
    const row = block.rows[0];
    const blocked: BudgetBlock | null = row && Number(row.until_ms) > now ? { until: Number(row.until_ms), reason: row.reason } : null;
    return { now, times: log.rows.map((r) => Number(r.at_ms)), block: blocked };
  };

  return {
    take(key, limits, marginMs): Promise<Admission> {
      return inTransaction(key, async (c, now) => {
        const since = horizon(now, limits, marginMs);
        await c.query(`DELETE FROM ${s}.request_budget_log WHERE key = $1 AND at_ms <= $2`, [key, since]);
        const { times, block } = await snapshot(c, key, now, since);
        const verdict = admit(times, now, limits, marginMs, block);
        if (verdict.ok) await c.query(`INSERT INTO ${s}.request_budget_log (key, at_ms) VALUES ($1, $2)`, [key, now]);
        return verdict;
      });
    },
    async block(key, ms, reason) {
      await pool.query(
        `INSERT INTO ${s}.request_budget_block AS b (key, until_ms, reason) VALUES ($1, ${NOW} + $2::bigint, $3)
         ON CONFLICT (key) DO UPDATE SET until_ms = excluded.until_ms, reason = excluded.reason WHERE b.until_ms < excluded.until_ms`,
        [key, Math.max(1, Math.ceil(ms)), reason],
      );
    },
    async read(key, limits, marginMs) {
      const c = await checkOut(pool);
      try {
        const { rows } = await c.query<{ now: string }>(`SELECT ${NOW} AS now`);
        const now = Number(rows[0]!.now);
        return await snapshot(c, key, now, horizon(now, limits, marginMs));
      } finally {
        c.release();
      }
    },
    async close() {
      // The pool belongs to whoever opened it.
    },
  };
}

/**
 * A client of `pool`, heard while checked out: pg emits 'error' on a client whose session ends (Postgres
 * restarting) even when the query in flight already rejected with it, and the pool listens only to idle clients.
 * Unheard, that event ends the process. Its `release` hands it back to the pool's own listener.
 */
async function checkOut(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  const ignore = () => undefined;
  client.on('error', ignore);
  const release = client.release.bind(client);
  client.release = (destroy?: boolean | Error) => {
    client.off('error', ignore);
    release(destroy);
  };
  return client;
}
