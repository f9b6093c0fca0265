import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../src/db/connection.ts';
import { silentLogger } from '../../src/log.ts';
import { databaseUrl } from './urls.ts';

export interface TestDatabase extends Database {
  name: string;
  /** Closes the clients and drops the database. */
  drop(): Promise<void>;
}

/** A fresh, migrated database owned by one test (or file). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const name = `threetone_t_${inject('testRunPid')}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE "${inject('pgTemplate')}"`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(adminUrl, name);
  const database = await openDatabase({ databaseUrl: url, embeddedPg: { dir: '', port: 0 } }, silentLogger);
  return {
    ...database,
    name,
    async drop() {
      await database.close();
      const dropper = postgres(adminUrl, { max: 1, onnotice: () => undefined });
      try {
        await dropper.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
