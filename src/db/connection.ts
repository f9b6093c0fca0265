import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { loadConfig, type Config } from '../config.ts';
import type { Logger } from '../log.ts';
import * as schema from './schema.ts';
import { redactUrl } from '../util/redact-url.ts';

export type Db = PostgresJsDatabase<typeof schema>;

export interface Database {
  /** Drizzle, for ordinary queries. */
  db: Db;
  /**
   * A separate postgres.js client for the hot path's raw SQL: drizzle(client)
   * rewires its client's jsonb serializer, so the two must not share one.
   */
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
  /** Connections per client of the sync (`sql` and drizzle's). Default 4. */
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
    const drizzleClient = postgres(url, clientOptions);
    cleanups.push(() => drizzleClient.end({ timeout: 5 }));
    const db = drizzle({ client: drizzleClient, schema });
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
      throw new Error(`cannot reach Postgres at ${redactUrl(url)}: ${(cause as Error).message}; check DATABASE_URL`, { cause });
    });
    return { db, sql, reads, url, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
