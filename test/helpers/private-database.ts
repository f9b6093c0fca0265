import postgres from 'postgres';
import { openDatabase, type Database } from '../../src/db/connection.ts';
import { runMigrations } from '../../src/db/migrate.ts';
import { silentLogger } from '../../src/log.ts';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres.ts';
import { databaseUrl } from './urls.ts';

/** application_name of the test's own sessions, so they can be told apart from the processes under test. */
export const TEST_APPLICATION_NAME = 'threetone-test';

export interface PrivateDatabase {
  /** URL for the processes under test (their own session names). */
  url: string;
  /** The test's own clients (sessions named TEST_APPLICATION_NAME); runSync given this one uses that name too. */
  database: Database;
  server: PrivatePostgres;
  /** Immediate shutdown (SIGQUIT) then start: crash recovery runs, every session is cut. */
  crashAndRestart(): Promise<void>;
  /** Sessions of anything but the test itself (the CLI's pool and lock sessions), by application_name. */
  otherSessions(): Promise<number>;
  close(): Promise<void>;
}

/** A migrated database on a Postgres server of the test's own, which it may crash and restart. */
export async function startPrivateDatabase(): Promise<PrivateDatabase> {
  const server = await startPrivatePostgres();
  let database: Database | undefined;
  try {
    const admin = postgres(server.url, { max: 1, onnotice: () => undefined });
    try {
      await admin`create database sync`;
    } finally {
      await admin.end();
    }
    const url = databaseUrl(server.url, 'sync');
    const testUrl = `${url}?application_name=${TEST_APPLICATION_NAME}`;
    await runMigrations({ url });
    // A query parameter wins over the client's own application_name (postgres.js), so every test session is tagged.
    database = await openDatabase({ databaseUrl: testUrl, embeddedPg: { dir: '', port: 0 } }, silentLogger);
    const db = database;
    return {
      url,
      database: db,
      server,
      async crashAndRestart() {
        await server.crash();
        await server.start();
      },
      async otherSessions() {
        const [row] = await db.sql<{ n: number }[]>`
          select count(*)::int as n from pg_catalog.pg_stat_activity
          where datname = pg_catalog.current_database() and application_name <> ${TEST_APPLICATION_NAME} and backend_type = 'client backend'`;
        return row!.n;
      },
      async close() {
        await db.close();
        await server.destroy();
      },
    };
  } catch (error) {
    await database?.close();
    await server.destroy();
    throw error;
  }
}
