import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Database } from './connection.ts';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));

// Any constant works; it only has to be the same in every process.
const MIGRATION_LOCK = 7_345_001;

/**
 * Applies the committed migrations. Several workers may start at once, so the
 * migration runs while another session holds an advisory lock; latecomers
 * wait, then find nothing left to do.
 */
export async function runMigrations(database: Pick<Database, 'db' | 'url'>): Promise<void> {
  // A one-connection client of its own, not a reserved pool connection (see workspace-lock.ts).
  const lock = postgres(database.url, { max: 1, idle_timeout: 0, max_lifetime: null, onnotice: () => undefined });
  try {
    await lock`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migrate(database.db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    // Ending the session releases the lock.
    await lock.end({ timeout: 5 });
  }
}
