import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { sessionOptions } from './session.ts';
import { loadConfig } from '../config.ts';
import { findPostgresError } from '../errors/describe-error.ts';
import { ConfigError } from '../errors/ConfigError.ts';
import type { Logger } from '../log.ts';
import type { Database } from './connection.ts';
import { applyReportTimeZone } from './report-zone.ts';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));

// Any constant works; it only has to be the same in every process.
export const MIGRATION_LOCK = 7_345_001;

export const MIGRATION_APPLICATION_NAME = 'threetone-sync-migrate';

export interface MigrateOptions {
  /** Longest wait for the lock, and for any lock a migration statement needs (MIGRATION_LOCK_TIMEOUT_MS). Default 120000. */
  lockTimeoutMs?: number;
  log?: Logger;
  /** REPORT_TIME_ZONE: made the reporting zone after the migrations, under the same lock; undefined leaves the database's. */
  reportTimeZone?: string | undefined;
}

/**
 * Applies the committed migrations. Several workers may start at once, so the
 * migration runs while its session holds an advisory lock; latecomers wait,
 * then find nothing left to do. The wait is bounded by lock_timeout, so a
 * process stuck while holding the lock makes the others fail, naming it,
 * instead of hanging at start forever.
 */
export async function runMigrations(database: Pick<Database, 'url'>, options: MigrateOptions = {}): Promise<MigrationResult> {
  const lockTimeoutMs = options.lockTimeoutMs ?? loadConfig({}).pg.migrationLockTimeoutMs;
  // A one-connection client of its own, not a reserved pool connection (see workspace-lock.ts). The
  // migration runs on it too: the pool's statement_timeout would cut a long index build, while
  // lock_timeout here also keeps a DDL statement from queueing every reader behind it for long.
  const session = postgres(database.url, sessionOptions(MIGRATION_APPLICATION_NAME, { connection: { lock_timeout: lockTimeoutMs } }));
  try {
    const [free] = await session<{ locked: boolean }[]>`select pg_catalog.pg_try_advisory_lock(${MIGRATION_LOCK}::bigint) as locked`;
    if (!free?.locked) {
      options.log?.warn({ waitMs: lockTimeoutMs }, 'another process is migrating: waiting for it');
      try {
        await session`select pg_catalog.pg_advisory_lock(${MIGRATION_LOCK}::bigint)`;
      } catch (error) {
        if (findPostgresError(error)?.code !== LOCK_NOT_AVAILABLE) throw error;
        throw new Error(`timed out after ${formatWait(lockTimeoutMs)} waiting for the migration lock held by ${await describeHolder(session)}: another process is migrating`, {
          cause: error,
        });
      }
    }
    const before = await appliedCount(session);
    await migrate(drizzle({ client: session }), { migrationsFolder: MIGRATIONS_FOLDER }).catch((error: unknown) => {
      const pgError = findPostgresError(error);
      if (pgError?.code !== INSUFFICIENT_PRIVILEGE) throw error;
      throw new ConfigError([
        `the role in DATABASE_URL may not change the schema (${pgError.message}): run "threetone-sync migrate" as the schema's owner, and set MIGRATE_ON_START=0 for processes that run as this role`,
      ]);
    });
    const tags = await migrationTags();
    const result: MigrationResult = { applied: tags.slice(before, await appliedCount(session)), total: tags.length };
    if (options.reportTimeZone !== undefined) {
      const { changed, from } = await applyReportTimeZone(session, options.reportTimeZone);
      if (changed) {
        result.reportTimeZone = { from, to: options.reportTimeZone };
        options.log?.info({ from, to: options.reportTimeZone }, `reporting time zone changed from ${from} to ${options.reportTimeZone}: the daily and monthly views and their indexes follow it`);
      }
    }
    if (result.applied.length > 0) options.log?.info({ applied: result.applied }, `applied ${result.applied.length} migration(s): ${result.applied.join(', ')}`);
    else options.log?.info({ total: result.total }, `database schema up to date (${result.total} migrations)`);
    return result;
  } finally {
    // Ending the session releases the lock.
    await session.end({ timeout: 5 });
  }
}

/**
 * For a worker that does not migrate (MIGRATE_ON_START=0): the schema must be
 * exactly this release's. Behind, its statements would meet missing columns;
 * ahead, a newer release migrated and this one may write what it no longer
 * expects. Either way it stops before writing anything, in one line.
 */
export async function requireCurrentSchema(database: Pick<Database, 'sql'>): Promise<void> {
  const tags = await migrationTags();
  const applied = await appliedCount(database.sql);
  if (applied === tags.length) return;
  const state = applied < tags.length ? `is behind this release (${applied} of ${tags.length} migrations applied)` : `is newer than this release (${applied} migrations applied, this release has ${tags.length})`;
  throw new ConfigError([`the database schema ${state} and MIGRATE_ON_START=0: run "threetone-sync migrate" as the schema's owner, or deploy the matching release`]);
}

export interface MigrationResult {
  /** Tags of the migrations this call applied, in order (e.g. 0005_analytics_at_scale). */
  applied: string[];
  /** Migrations the release ships. */
  total: number;
  /** Set when REPORT_TIME_ZONE changed the reporting time zone (the views and their indexes were rebuilt). */
  reportTimeZone?: { from: string; to: string };
}

/** Rows in drizzle's own ledger: it applies the journal's entries in order, one row each. */
async function appliedCount(session: postgres.Sql): Promise<number> {
  const [ledger] = await session<{ exists: boolean }[]>`select pg_catalog.to_regclass('drizzle.__drizzle_migrations') is not null as exists`;
  if (!ledger?.exists) return 0;
  const [row] = await session<{ n: number }[]>`select pg_catalog.count(*)::int as n from drizzle.__drizzle_migrations`;
  return row?.n ?? 0;
}

async function migrationTags(): Promise<string[]> {
  const journal = JSON.parse(await readFile(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as { entries: { tag: string }[] };
  return journal.entries.map((e) => e.tag);
}

const INSUFFICIENT_PRIVILEGE = '42501';

/** SQLSTATE lock_not_available: lock_timeout ran out. */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * "pid 4242 (threetone-sync-migrate, 10.0.0.5, since 2026-11-30T03:00:01Z)".
 * Postgres keeps no time for a granted lock; the holder's session start is
 * the closest, as a migrator takes the lock as soon as it connects. Columns
 * another role's session hides from us come back null and read "unknown".
 */
async function describeHolder(session: postgres.Sql): Promise<string> {
  const holder = await session<{ pid: number; application_name: string | null; client: string | null; local: boolean; since: Date | null }[]>`
    select a.pid, a.application_name, pg_catalog.host(a.client_addr) as client,
           a.client_addr is null and a.client_port = -1 as local, a.backend_start as since
    from pg_catalog.pg_locks l
    join pg_catalog.pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.granted
      and l.database = (select oid from pg_catalog.pg_database where datname = pg_catalog.current_database())
      and l.classid = ${Math.floor(MIGRATION_LOCK / 2 ** 32)}::oid and l.objid = ${MIGRATION_LOCK % 2 ** 32}::oid and l.objsubid = 1
    limit 1`.then(
    ([row]) => row ?? 'gone' as const,
    () => 'unreadable' as const,
  );
  if (holder === 'gone') return 'another session (it let go just now)';
  if (holder === 'unreadable') return 'another session (pg_locks could not be read)';
  const client = holder.client ?? (holder.local ? 'local socket' : 'unknown address');
  const since = holder.since === null ? 'unknown' : holder.since.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `pid ${holder.pid} (${holder.application_name || 'no application_name'}, ${client}, since ${since})`;
}

function formatWait(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
