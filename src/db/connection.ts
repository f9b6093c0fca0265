import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { Config } from '../config.ts';
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
  url: string;
  /** Closes both clients, then the embedded Postgres if one was started. Idempotent. */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Connections per client. Default 4. */
  max?: number;
}

/** `DATABASE_URL`, or an embedded Postgres when it is unset. */
export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'embeddedPg'>, log: Logger, options: OpenDatabaseOptions = {}): Promise<Database> {
  const cleanups: (() => Promise<void>)[] = [];
  const close = once(async () => {
    // Released in reverse order of opening.
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  try {
    let url = config.databaseUrl;
    if (url === undefined) {
      // Loaded only when needed: the package installs exit hooks that would override our exit code.
      const { startEmbeddedPostgres } = await import('./embedded.ts');
      const embedded = await startEmbeddedPostgres({ ...config.embeddedPg, log });
      cleanups.push(() => embedded.stop());
      url = embedded.url;
    }
    const clientOptions: postgres.Options<Record<string, never>> = {
      max: options.max ?? 4,
      onnotice: () => undefined,
      connection: { application_name: 'threetone-sync' },
      connect_timeout: 10,
    };
    const sql = postgres(url, clientOptions);
    cleanups.push(() => sql.end({ timeout: 5 }));
    const drizzleClient = postgres(url, clientOptions);
    cleanups.push(() => drizzleClient.end({ timeout: 5 }));
    const db = drizzle({ client: drizzleClient, schema });
    await sql`select 1`.catch((cause: unknown) => {
      throw new Error(`cannot reach Postgres at ${redactUrl(url)}: ${(cause as Error).message}; check DATABASE_URL`, { cause });
    });
    return { db, sql, url, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
