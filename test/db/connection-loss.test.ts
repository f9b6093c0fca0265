import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConnectionLoss } from '../../src/db/connection.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
let admin: postgres.Sql;
beforeAll(async () => {
  database = await createTestDatabase();
  admin = postgres(database.url, { max: 1, onnotice: () => undefined });
});
afterAll(async () => {
  await admin?.end();
  await database?.drop();
});

/** Ends the backend of `pid` from another session, as a Postgres restart or an administrator would. */
async function terminateWhenWaiting(pid: number): Promise<void> {
  await expect.poll(async () => (await admin`select wait_event from pg_stat_activity where pid = ${pid}`)[0]?.wait_event, { interval: 10 }).toBe('PgSleep');
  await admin`select pg_terminate_backend(${pid})`;
}

/**
 * The sync's pool (openDatabase) when a transaction's session dies under it. postgres.js 3.4 answers with a
 * ROLLBACK written to the closed socket from a timer, which throws outside any promise: vitest reports it as
 * an unhandled error and the process of a worker would end.
 */
describe('a transaction whose session is cut', () => {
  it('rejects, leaves nothing uncaught, and the pool serves the next queries', async () => {
    const failure = await database.sql
      .begin(async (tx) => {
        const [{ pid }] = (await tx<{ pid: number }[]>`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
        const sleeping = tx`select pg_sleep(30)`.execute(); // Sent now, not when awaited.
        await terminateWhenWaiting(pid);
        await sleeping;
      })
      .then(() => undefined, (error: unknown) => error);
    expect(isConnectionLoss(failure)).toBe(true);
    for (let i = 0; i < 8; i++) expect((await database.sql<{ n: number }[]>`select ${i}::int as n`)[0]!.n).toBe(i);
  });

  it('does the same when it is cut inside a savepoint', async () => {
    const failure = await database.sql
      .begin(async (tx) => {
        const [{ pid }] = (await tx<{ pid: number }[]>`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
        await tx.savepoint(async (sp) => {
          const sleeping = sp`select pg_sleep(30)`.execute();
          await terminateWhenWaiting(pid);
          await sleeping;
        });
      })
      .then(() => undefined, (error: unknown) => error);
    expect(isConnectionLoss(failure)).toBe(true);
    expect((await database.sql`select 1 as one`)[0]).toEqual({ one: 1 });
  });

  it('still rolls back, at once, a transaction that failed for any other reason', async () => {
    await database.sql`create table if not exists loss_probe (n int)`;
    const started = Date.now();
    await expect(
      database.sql.begin(async (tx) => {
        await tx`insert into loss_probe values (1)`;
        await tx`select 1 / 0`;
      }),
    ).rejects.toMatchObject({ code: '22012' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await database.sql`select * from loss_probe`).toEqual([]);
  });
});
