import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import type { Database } from './connection.ts';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));

// Any constant works; it only has to be the same in every process.
const MIGRATION_LOCK = 7_345_001;

/**
 * Applies the committed migrations. Several workers may start at once, so the
 * migration runs while one connection of the raw client holds an advisory
 * lock; latecomers wait, then find nothing left to do. (The migration itself
 * goes through drizzle's own client: wrapping the raw client in drizzle would
 * rewire its serializers.)
 */
export async function runMigrations(database: Pick<Database, 'db' | 'sql'>): Promise<void> {
  const lock = await database.sql.reserve();
  try {
    await lock`select pg_advisory_lock(${MIGRATION_LOCK})`;
    try {
      await migrate(database.db, { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await lock`select pg_advisory_unlock(${MIGRATION_LOCK})`;
    }
  } finally {
    lock.release();
  }
}
