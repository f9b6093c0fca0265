import postgres from 'postgres';
import { loadConfig, type Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { ConfigError } from '../errors/ConfigError.ts';
import { findPostgresError } from '../errors/describe-error.ts';
import { redactUrl } from '../util/redact-url.ts';

/**
 * The runtime's Postgres handles, all postgres.js: drizzle-kit keeps the
 * schema and writes the migrations, and drizzle's migrator applies them on a
 * session of its own (migrate.ts); no query goes through drizzle at run time.
 */
export interface Database {
  /** The sync's pool: every statement a run makes, each in src/db/. */
  sql: postgres.Sql;
  /**
   * The HTTP endpoint's reads (status page, /metrics, /readyz): a small
   * read-only pool with a short statement_timeout, so page loads nobody
   * authenticated can neither take the sync's connections nor pile up
   * queries. It connects on first use only.
   */
  reads: postgres.Sql;
  url: string;
  /** Closes every client, then the embedded Postgres if one was started. Idempotent. */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Connections of the sync's pool. Default 4. */
  max?: number;
  /** statement_timeout of the `reads` pool. Default 5000 ms. */
  readsStatementTimeoutMs?: number;
}

/** Connections of the `reads` pool: the status page's queries run two at a time at most. */
export const READS_MAX = 2;
export const READS_STATEMENT_TIMEOUT_MS = 5_000;

type DatabaseConfig = Pick<Config, 'databaseUrl' | 'embeddedPg'> & Partial<Pick<Config, 'pg'>>;

/** `DATABASE_URL`, or an embedded Postgres when it is unset. */
export async function openDatabase(config: DatabaseConfig, log: Logger, options: OpenDatabaseOptions = {}): Promise<Database> {
  const cleanups: (() => Promise<void>)[] = [];
  const close = once(async () => {
    // Released in reverse order of opening.
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  // Callers that only name a database (tests, bench) get the same bounds as the worker.
  const pg = config.pg ?? loadConfig({}).pg;
  try {
    let url = config.databaseUrl;
    if (url === undefined) {
      // Loaded only when needed: the package installs exit hooks that would override our exit code.
      const { startEmbeddedPostgres } = await import('./embedded.ts');
      const embedded = await startEmbeddedPostgres({ ...config.embeddedPg, log });
      cleanups.push(() => embedded.stop());
      url = embedded.url;
    }
    // Sent in the startup packet, so they hold from a connection's first statement, reconnects included.
    const clientOptions: postgres.Options<Record<string, never>> = {
      max: options.max ?? 4,
      onnotice: () => undefined,
      connection: { application_name: 'threetone-sync', statement_timeout: pg.statementTimeoutMs, lock_timeout: pg.lockTimeoutMs },
      connect_timeout: 10,
    };
    const sql = postgres(url, clientOptions);
    cleanups.push(() => sql.end({ timeout: 5 }));
    const reads = postgres(url, {
      max: READS_MAX,
      onnotice: () => undefined,
      connect_timeout: 10,
      // A scrape every 15 s keeps one warm; a process nobody looks at holds none.
      idle_timeout: 60,
      connection: {
        application_name: 'threetone-sync-http',
        statement_timeout: options.readsStatementTimeoutMs ?? READS_STATEMENT_TIMEOUT_MS,
        default_transaction_read_only: true,
      },
    });
    cleanups.push(() => reads.end({ timeout: 5 }));
    await sql`select 1`.catch((cause: unknown) => {
      const problem = `cannot reach Postgres at ${redactUrl(url)}: ${(cause as Error).message}; check DATABASE_URL`;
      // A database or role that does not exist is configuration, not an outage: exit code 2, and retrying cannot help.
      if (CONFIG_SQLSTATES.has(findPostgresError(cause)?.code ?? '')) throw new ConfigError([problem]);
      throw new Error(problem, { cause });
    });
    return { sql, reads, url, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** invalid_catalog_name (no such database), invalid_authorization_specification (no such role, not allowed), invalid_password. */
const CONFIG_SQLSTATES = new Set(['3D000', '28000', '28P01']);

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
