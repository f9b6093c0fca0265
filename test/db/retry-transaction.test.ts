import { describe, expect, it } from 'vitest';
import { retryTransaction } from '../../src/db/retry-transaction.ts';
import { findPostgresError } from '../../src/errors/describe-error.ts';
import { useTestDatabase } from '../helpers/use.ts';

const database = useTestDatabase();

/**
 * Two transactions that lock rows a and b in opposite orders, each waiting at a gate for the other to hold its
 * first row: Postgres must roll one back with a deadlock.
 */
async function deadlock(retry: boolean): Promise<{ results: PromiseSettledResult<unknown>[]; attempts: number[] }> {
  const { sql } = database;
  await sql`create table if not exists pair (id text primary key, n int not null)`;
  await sql`insert into pair values ('a', 0), ('b', 0) on conflict (id) do update set n = 0`;
  let holdA!: () => void;
  let holdB!: () => void;
  const aHeld = new Promise<void>((r) => (holdA = r));
  const bHeld = new Promise<void>((r) => (holdB = r));
  const attempts = [0, 0];
  const tx = (i: number, first: string, second: string, held: () => void, other: Promise<void>) => () =>
    sql.begin(async (t) => {
      attempts[i]!++;
      await t`update pair set n = n + 1 where id = ${first}`;
      held();
      await other;
      await t`update pair set n = n + 1 where id = ${second}`;
    });
  const one = tx(0, 'a', 'b', holdA, bHeld);
  const two = tx(1, 'b', 'a', holdB, aHeld);
  const results = await Promise.allSettled(retry ? [retryTransaction(one), retryTransaction(two)] : [one(), two()]);
  return { results, attempts };
}

describe('retryTransaction', () => {
  it('runs a transaction Postgres rolled back for a deadlock again, and both commit', async () => {
    const { results, attempts } = await deadlock(true);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(attempts[0]! + attempts[1]!).toBe(3);
    const rows = await database.sql<{ id: string; n: number }[]>`select id, n from pair order by id`;
    expect(rows.map((r) => r.n)).toEqual([2, 2]);
  });

  it('without it, one of the two fails with 40P01 (what the test above depends on)', async () => {
    const { results } = await deadlock(false);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect(findPostgresError(failed[0]!.reason)?.code).toBe('40P01');
  });

  it('does not retry other errors', async () => {
    let attempts = 0;
    await expect(
      retryTransaction(() => database.sql.begin(async (t) => {
        attempts++;
        await t`select 1/0`;
      })),
    ).rejects.toThrow(/division by zero/);
    expect(attempts).toBe(1);
  });
});
