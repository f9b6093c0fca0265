import postgres from 'postgres';
import { loadConfig, type Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { ConfigError } from '../errors/ConfigError.ts';
import { findPostgresError } from '../errors/describe-error.ts';
import { redactUrl } from '../util/redact-url.ts';
import { retainLockSessions } from './workspace-lock.ts';

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
    const pool = postgres(url, clientOptions);
    cleanups.push(() => pool.end({ timeout: 5 }));
    // Workspace locks share a few sessions per process and URL (workspace-lock.ts); they end once no handle needs them.
    const lockSessions = retainLockSessions(url);
    cleanups.push(() => lockSessions.release());
    const sql = keepTransactionsOffDeadConnections(pool);
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

/**
 * `sql`, except that a transaction (or savepoint) whose connection is lost
 * settles through the close alone, and never sends its ROLLBACK.
 *
 * postgres.js 3.4.9 and 3.4.10 answer a failed `sql.begin` callback with a
 * ROLLBACK on the same connection even when that connection has just closed:
 * the write is deferred to a setImmediate, finds the socket gone and throws a
 * TypeError outside any promise (porsager/postgres#1208, #1154), which ends
 * the process; caught, it leaves the connection unable to reconnect. A
 * Postgres crash or restart during a page write took the worker down this
 * way. `begin` already rejects on its own when its connection closes, so a
 * callback that failed for a lost connection is left pending instead of
 * rejecting, and nothing is ever written to the dead connection. If the close
 * does not follow within TRANSACTION_CLOSE_WAIT_MS (a misread error on a live
 * connection), it rejects after all and the ROLLBACK goes to a live socket.
 * postgres.js 4 no longer writes to a closed socket, but it lets the server
 * type parameters, and this project's page upsert then silently writes no
 * rows: it needs its own migration.
 */
export function keepTransactionsOffDeadConnections(sql: postgres.Sql): postgres.Sql {
  const begin = (...args: unknown[]) => {
    const callback = args.pop() as (tx: postgres.TransactionSql) => unknown;
    let ended: Promise<unknown> | undefined;
    const closed = () => ended ?? Promise.resolve();
    const outer = (sql.begin as (...a: unknown[]) => Promise<unknown>)(...args, (tx: postgres.TransactionSql) =>
      settleOnlyIfAlive(() => callback(guardSavepoints(tx, closed)), closed),
    );
    ended = outer.then(
      () => undefined,
      () => undefined,
    );
    return outer;
  };
  return new Proxy(sql, { get: (target, property, receiver) => (property === 'begin' ? begin : Reflect.get(target, property, receiver)) });
}

/** How long a transaction that failed for a lost connection waits for postgres.js to see the close. */
export const TRANSACTION_CLOSE_WAIT_MS = 5_000;

function guardSavepoints(tx: postgres.TransactionSql, closed: () => Promise<unknown>): postgres.TransactionSql {
  const savepoint = (...args: unknown[]) => {
    const callback = args.pop() as (sp: postgres.TransactionSql) => unknown;
    return (tx.savepoint as (...a: unknown[]) => Promise<unknown>)(...args, (sp: postgres.TransactionSql) =>
      settleOnlyIfAlive(() => callback(guardSavepoints(sp, closed)), closed),
    );
  };
  return new Proxy(tx, { get: (target, property, receiver) => (property === 'savepoint' ? savepoint : Reflect.get(target, property, receiver)) });
}

async function settleOnlyIfAlive<T>(callback: () => T | Promise<T>, closed: () => Promise<unknown>): Promise<T> {
  try {
    return await callback();
  } catch (error) {
    if (!isConnectionLoss(error)) throw error;
    let timer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([
      closed().then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), TRANSACTION_CLOSE_WAIT_MS);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (gone) return new Promise<never>(() => undefined);
    throw error;
  }
}

/**
 * The error says the session is gone (or going): postgres.js's own codes for
 * a closed connection, a socket error, or the server ending the session
 * (class 57P: shutdown, crash, not accepting connections; class 08:
 * connection exception).
 */
export function isConnectionLoss(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (CONNECTION_LOSS_CODES.has(code) || code.startsWith('57P') || code.startsWith('08'))) return true;
    current = current.cause;
  }
  return false;
}

const CONNECTION_LOSS_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** invalid_catalog_name (no such database), invalid_authorization_specification (no such role, not allowed), invalid_password. */
const CONFIG_SQLSTATES = new Set(['3D000', '28000', '28P01']);

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
