// The one file with SQL outside src/db/ (docs/architecture.md): the budget lives in one folder, its rule, its three
// stores and their wiring together, and this store is only ever read beside the Redis and memory ones it must match.

import type postgres from 'postgres';
import { admit, horizon, type Admission, type BudgetBlock } from './rule.ts';
import type { BudgetStore, StoreSnapshot } from './store.ts';

/** Class id of the budget's advisory locks (two-int form), so they never meet the one-bigint workspace and migration locks. */
export const LOCK_CLASS = 0x62756467; // 'budg'

/**
 * The budget in Postgres, for a queue that lives there: a table of request times per key and one of learned blocks,
 * in schema threetone_budget (migrations/0008_request_budget_tables.sql; nothing here changes the schema, so a role
 * that may only read and write rows runs it). Each admission is one transaction under a per-key advisory lock, with
 * the time from clock_timestamp() taken after the lock, so the check and the insert are atomic for every process on
 * the key and they all share the server's clock.
 *
 * `sql` should be wrapped by keepTransactionsOffDeadConnections (src/db/connection.ts), as openSharedBudgets does: a
 * take whose connection dies must not write its ROLLBACK to the dead socket.
 */
export function createPostgresStore(sql: postgres.Sql): BudgetStore {
  const inTransaction = <T>(key: string, fn: (tx: postgres.TransactionSql, now: number) => Promise<T>): Promise<T> =>
    sql.begin(async (tx) => {
      await tx`select pg_catalog.pg_advisory_xact_lock(${LOCK_CLASS}::int, pg_catalog.hashtext(${key}::text))`;
      return fn(tx, await clock(tx));
    }) as Promise<T>;
  const snapshot = async (q: Queries, key: string, now: number, since: number): Promise<StoreSnapshot> => {
    const [log, block] = await Promise.all([
      q<{ at_ms: string }[]>`select at_ms from threetone_budget.request_budget_log where key = ${key}::text and at_ms > ${since}::bigint order by at_ms`,
      q<{ until_ms: string; reason: string }[]>`select until_ms, reason from threetone_budget.request_budget_block where key = ${key}::text`,
    ]);
    const row = block[0];
    const blocked: BudgetBlock | null = row && Number(row.until_ms) > now ? { until: Number(row.until_ms), reason: row.reason } : null;
    return { now, times: log.map((r) => Number(r.at_ms)), block: blocked };
  };

  return {
    take(key, limits, marginMs): Promise<Admission> {
      return inTransaction(key, async (tx, now) => {
        const since = horizon(now, limits, marginMs);
        // One round trip: the delete only drops what the reads leave out anyway.
        const [, { times, block }] = await Promise.all([
          tx`delete from threetone_budget.request_budget_log where key = ${key}::text and at_ms <= ${since}::bigint`,
          snapshot(tx, key, now, since),
        ]);
        const verdict = admit(times, now, limits, marginMs, block);
        if (verdict.ok) await tx`insert into threetone_budget.request_budget_log (key, at_ms) values (${key}::text, ${now}::bigint)`;
        return verdict;
      });
    },
    async block(key, ms, reason) {
      await sql`
        insert into threetone_budget.request_budget_block as b (key, until_ms, reason)
        values (${key}::text, (extract(epoch from pg_catalog.clock_timestamp()) * 1000)::bigint + ${Math.max(1, Math.ceil(ms))}::bigint, ${reason}::text)
        on conflict (key) do update set until_ms = excluded.until_ms, reason = excluded.reason where b.until_ms < excluded.until_ms`;
    },
    async read(key, limits, marginMs) {
      const now = await clock(sql);
      return snapshot(sql, key, now, horizon(now, limits, marginMs));
    },
    async close() {
      // The pool belongs to whoever opened it.
    },
  };
}

/** The pool, or the transaction a take runs in. */
type Queries = postgres.Sql | postgres.TransactionSql;

/** The server's clock in ms. */
async function clock(q: Queries): Promise<number> {
  const [row] = await q<{ now: string }[]>`select (extract(epoch from pg_catalog.clock_timestamp()) * 1000)::bigint as now`;
  return Number(row!.now);
}
