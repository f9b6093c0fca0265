import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { silentLogger } from '../src/log.ts';
import { pingRedis } from '../src/util/ping-redis.ts';
import { redactUrl } from '../src/util/redact-url.ts';
import { databaseUrl, testRedisUrl } from './helpers/urls.ts';

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
  await checkRedis();
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

/**
 * The queue tests all need Redis: without this, each of them would fail on
 * its own after a connection timeout, burying the cause under a hundred stacks.
 */
async function checkRedis(): Promise<void> {
  const url = testRedisUrl();
  if (url === '') {
    process.stdout.write('REDIS_URL=none: queue tests run on the Postgres backend only\n');
    return;
  }
  try {
    await pingRedis(url, 3_000);
  } catch (error) {
    const how = process.env.REDIS_URL
      ? 'start it, or point REDIS_URL at a running Redis'
      : `start one with "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''", or set REDIS_URL (REDIS_URL=none leaves Redis out)`;
    process.stderr.write(`Redis does not answer at ${redactUrl(url)} (${(error as Error).message || (error as Error).name}): ${how}\n`);
    // Not a throw: vitest 4 reports a throwing global setup as "No test files found" and still exits 0.
    process.exit(1);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
