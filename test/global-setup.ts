import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { silentLogger } from '../src/log.ts';
import { databaseUrl } from './helpers/urls.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
    /** Pid of the process running this test run: part of every test database's name. */
    testRunPid: number;
  }
}

/**
 * One migrated template database per test run; every test file clones its own
 * database from it (CREATE DATABASE … TEMPLATE), so files never share data.
 * DATABASE_URL when set (CI), else an embedded Postgres.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!adminUrl) {
    process.stdout.write('DATABASE_URL is not set: tests use an embedded Postgres under .data/test-postgres\n');
    const embedded = await startEmbeddedPostgres({ dir: '.data/test-postgres', port: 54331, log: silentLogger });
    adminUrl = embedded.url;
    stopEmbedded = embedded.stop;
  }
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  const template = `threetone_tpl_${process.pid}`;
  // Databases left by an earlier run that was killed: their names carry the pid of the run that made them.
  // Another test run may be going on at the same time, so only a dead run's databases are dropped.
  const ours = await admin<{ datname: string }[]>`select datname from pg_database where datname ~ '^threetone_t(pl)?_[0-9]+'`;
  for (const { datname } of ours) {
    const pid = Number(/^threetone_t(?:pl)?_(\d+)/.exec(datname)?.[1]);
    if (!isAlive(pid)) await admin.unsafe(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
  await admin.unsafe(`CREATE DATABASE "${template}"`);
  await runMigrations({ url: databaseUrl(adminUrl, template) });
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', template);
  project.provide('testRunPid', process.pid);

  return async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
    await admin.end();
    await stopEmbedded?.();
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
