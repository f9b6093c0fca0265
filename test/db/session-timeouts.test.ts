import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/connection.ts';
import { findPostgresError } from '../../src/errors/describe-error.ts';
import { silentLogger } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/** `show <setting>` on each of a Database's clients. */
async function settings(database: Database, name: 'statement_timeout' | 'lock_timeout' | 'application_name' | 'transaction_read_only') {
  const [sqlRow] = await database.sql.unsafe<{ value: string }[]>(`select current_setting('${name}') as value`);
  const [readsRow] = await database.reads.unsafe<{ value: string }[]>(`select current_setting('${name}') as value`);
  return { sql: sqlRow!.value, reads: readsRow!.value };
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('session bounds of openDatabase', () => {
  let base: TestDatabase;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function open(pg: { statementTimeoutMs: number; lockTimeoutMs: number }, readsStatementTimeoutMs?: number): Promise<Database> {
    base = await createTestDatabase();
    cleanups.push(() => base.drop());
    const database = await openDatabase(
      { databaseUrl: base.url, embeddedPg: { dir: '', port: 0 }, pg: { ...pg, migrationLockTimeoutMs: 1000 } },
      silentLogger,
      { readsStatementTimeoutMs },
    );
    cleanups.push(() => database.close());
    return database;
  }

  it('uses the configured statement_timeout and lock_timeout on the sync\'s clients, and a short read-only one on reads', async () => {
    const database = await open({ statementTimeoutMs: 45_000, lockTimeoutMs: 1_500 });
    expect(await settings(database, 'statement_timeout')).toEqual({ sql: '45s', reads: '5s' });
    expect(await settings(database, 'lock_timeout')).toEqual({ sql: '1500ms', reads: '0' });
    expect(await settings(database, 'application_name')).toEqual({ sql: 'threetone-sync', reads: 'threetone-sync-http' });
    expect(await settings(database, 'transaction_read_only')).toEqual({ sql: 'off', reads: 'on' });
    await expect(database.reads`create table nope (x int)`).rejects.toMatchObject({ code: '25006' });
  });

  it('defaults to the config defaults when the caller passes no pg settings', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    expect(await settings(database, 'statement_timeout')).toEqual({ sql: '2min', reads: '5s' });
    expect(await settings(database, 'lock_timeout')).toEqual({ sql: '30s', reads: '0' });
  });

  it('fails a statement waiting on a row lock held elsewhere with 55P03 after lock_timeout', async () => {
    const database = await open({ statementTimeoutMs: 60_000, lockTimeoutMs: 300 });
    const [run] = await database.sql<{ id: number }[]>`
      insert into sync_runs (workspace, kind, status) values ('locked', 'sync', 'running') returning id::int`;
    // Another process's transaction holds the row until the test lets go.
    const other = postgres(base.url, { max: 1, onnotice: () => undefined });
    cleanups.push(() => other.end({ timeout: 1 }));
    const locked = deferred();
    const release = deferred();
    const holding = other.begin(async (tx) => {
      await tx`select id from sync_runs where id = ${run!.id} for update`;
      locked.resolve();
      await release.promise;
    });
    await locked.promise;
    try {
      for (const update of [
        () => database.sql`update sync_runs set pages = 1 where id = ${run!.id}`.execute(),
      ]) {
        const started = Date.now();
        const error = await update().then(
          () => undefined,
          (e: unknown) => e,
        );
        const waited = Date.now() - started;
        expect(findPostgresError(error)?.code).toBe('55P03');
        expect(waited).toBeGreaterThanOrEqual(250);
        expect(waited).toBeLessThan(5_000);
      }
    } finally {
      release.resolve();
      await holding;
    }
    // The pool is fine afterwards: the lock is free and the same update goes through.
    await database.sql`update sync_runs set pages = 1 where id = ${run!.id}`;
  });

  it('cuts a slow read on the reads pool with its statement_timeout', async () => {
    const database = await open({ statementTimeoutMs: 60_000, lockTimeoutMs: 30_000 }, 300);
    const started = Date.now();
    await expect(database.reads`select pg_sleep(30)`).rejects.toMatchObject({ code: '57014' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
