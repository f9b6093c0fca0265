import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { inject } from 'vitest';
import { MIGRATIONS_FOLDER } from '../../src/db/migrate.ts';
import { databaseUrl } from './urls.ts';

/**
 * A database of its own migrated only up to migration `upTo` (inclusive), as
 * an older release left it, for upgrade tests. What it opened is pushed onto
 * `cleanups`, for the caller's afterEach to release in reverse.
 */
export async function databaseAt(upTo: number, cleanups: (() => Promise<void> | void)[]): Promise<{ sql: postgres.Sql; url: string }> {
  const adminUrl = inject('pgAdminUrl');
  const name = `threetone_t_${inject('testRunPid')}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  cleanups.push(async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });
  // A copy of the migrations whose journal stops at `upTo`: drizzle's migrator applies what the journal lists.
  const folder = mkdtempSync(path.join(tmpdir(), 'threetone-migrations-'));
  cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
  cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journalPath = path.join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { idx: number }[] };
  journal.entries = journal.entries.filter((e) => e.idx <= upTo);
  writeFileSync(journalPath, JSON.stringify(journal));
  const url = databaseUrl(adminUrl, name);
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  cleanups.push(() => sql.end());
  await migrate(drizzle({ client: sql }), { migrationsFolder: folder });
  return { sql, url };
}
