import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { MIGRATION_APPLICATION_NAME, MIGRATION_LOCK, runMigrations } from '../../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { databaseUrl } from '../helpers/urls.ts';

describe('the migration lock', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function database(): Promise<TestDatabase> {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    return db;
  }

  /** Another "process" that holds the migration lock until `release`. */
  async function holdLock(url: string): Promise<{ pid: number; release(): Promise<void> }> {
    const holder = postgres(url, { max: 1, onnotice: () => undefined, connection: { application_name: 'other-migrator' } });
    cleanups.push(() => holder.end({ timeout: 1 }));
    const [row] = await holder<{ pid: number }[]>`select pg_backend_pid() as pid, pg_advisory_lock(${MIGRATION_LOCK}::bigint)`;
    return { pid: row!.pid, release: async () => void (await holder`select pg_advisory_unlock(${MIGRATION_LOCK}::bigint)`) };
  }

  it('gives up after its timeout with one line naming the holder, and succeeds once the lock is free', async () => {
    const db = await database();
    const holder = await holdLock(db.url);
    const [started] = await db.sql<{ at: Date }[]>`select backend_start as at from pg_stat_activity where pid = ${holder.pid}`;
    const since = started!.at.toISOString().replace(/\.\d{3}Z$/, 'Z');

    const before = Date.now();
    const failure = await runMigrations(db, { lockTimeoutMs: 400 }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    const waited = Date.now() - before;

    expect(failure?.message).toMatch(
      new RegExp(`^timed out after 400 ms waiting for the migration lock held by pid ${holder.pid} \\(other-migrator, (127\\.0\\.0\\.1|::1|local socket), since ${since}\\): another process is migrating$`),
    );
    expect(waited).toBeGreaterThanOrEqual(400);
    expect(waited).toBeLessThan(5_000);
    // The timed-out session is gone: nothing of ours is left waiting in the server.
    await expect
      .poll(async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where application_name = ${MIGRATION_APPLICATION_NAME}`)[0]!.n)
      .toBe(0);

    await holder.release();
    await expect(runMigrations(db, { lockTimeoutMs: 400 })).resolves.toEqual({ applied: [], total: expect.any(Number) });
  });

  it('waits for a migration in progress, under its own application_name, and then finds nothing to do', async () => {
    const db = await database();
    const holder = await holdLock(db.url);
    const migrating = runMigrations(db, { lockTimeoutMs: 30_000 });
    // The latecomer is in the server, waiting on the lock: the event to release on.
    await expect
      .poll(async () => {
        const rows = await db.sql<{ wait: string | null }[]>`
          select wait_event_type as wait from pg_stat_activity where application_name = ${MIGRATION_APPLICATION_NAME}`;
        return rows.map((r) => r.wait);
      })
      .toEqual(['Lock']);
    await holder.release();
    // The holder's database was already migrated: nothing left to do once the lock is free.
    await expect(migrating).resolves.toEqual({ applied: [], total: expect.any(Number) });
    const [applied] = await db.sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(applied!.n).toBeGreaterThan(0);
  });

  it('migrates an empty database on its own session', async () => {
    const adminUrl = inject('pgAdminUrl');
    const name = `threetone_t_${inject('testRunPid')}_${randomBytes(6).toString('hex')}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
    cleanups.push(async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    });
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    const url = databaseUrl(adminUrl, name);
    await runMigrations({ url }, { lockTimeoutMs: 5_000 });
    const check = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      const tables = await check<{ name: string }[]>`
        select table_name as name from information_schema.tables where table_schema = 'public' order by 1`;
      expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['batch_call_history', 'batch_calls', 'rejected_records', 'sync_runs']));
    } finally {
      await check.end();
    }
  });
});
