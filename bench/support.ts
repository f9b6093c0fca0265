import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { loadConfig, type Config } from '../src/config.ts';
import { openDatabase, type Database } from '../src/db/connection.ts';
import { redactUrl } from '../src/util/redact-url.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { RunLedger } from '../src/db/runs/run-ledger.ts';
import type { RunOwner } from '../src/db/runs/run-owner.ts';
import { lockWorkspace } from '../src/db/workspace-lock.ts';
import { silentLogger } from '../src/log.ts';

/**
 * What every bench shares: the Postgres server (DATABASE_URL or the embedded
 * one), a fresh migrated database per bench, and child processes (the CLI's
 * simulator and worker, the RSS probe).
 */

export const BIN = fileURLToPath(new URL('../bin/threetone-sync.js', import.meta.url));
export const SYNC_CHILD = fileURLToPath(new URL('./sync-child.ts', import.meta.url));

export interface BenchServer {
  /** Connects as a role that may CREATE/DROP DATABASE. */
  adminUrl: string;
  /** For the report: where the server is (password removed). */
  description: string;
  version: string;
  close(): Promise<void>;
}

/** DATABASE_URL when set, else the embedded Postgres, started through openDatabase exactly as the CLI does. */
export async function openBenchServer(): Promise<BenchServer> {
  const config = loadConfig();
  const database = await openDatabase(config, silentLogger, { max: 1 });
  try {
    const [row] = await database.sql<{ version: string }[]>`select current_setting('server_version') as version`;
    const stale = await database.sql<{ datname: string }[]>`
      select datname from pg_database d
      where datname like 'threetone\_bench\_%' and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)`;
    // Left by an interrupted earlier run (nobody is connected to them).
    for (const { datname } of stale) await database.sql.unsafe(`DROP DATABASE IF EXISTS "${datname}"`);
    return {
      adminUrl: database.url,
      description: config.databaseUrl ? redactUrl(database.url) : `embedded Postgres (${config.embeddedPg.dir}, port ${config.embeddedPg.port})`,
      version: row?.version ?? 'unknown',
      close: () => database.close(),
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

/** The same server, another database. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface BenchDatabase {
  name: string;
  url: string;
  /** Opened like production (openDatabase): `sql` for raw SQL, `db` for drizzle. */
  database: Database;
  /** Closes the clients and drops the database. */
  drop(): Promise<void>;
}

/** CREATE DATABASE threetone_bench_<label>_<random>, then the project's migrations (runMigrations). */
export async function createBenchDatabase(adminUrl: string, label: string): Promise<BenchDatabase> {
  const name = `threetone_bench_${label}_${randomBytes(4).toString('hex')}`;
  await withAdmin(adminUrl, (admin) => admin.unsafe(`CREATE DATABASE "${name}"`));
  const url = databaseUrl(adminUrl, name);
  let database: Database | undefined;
  try {
    database = await openDatabase({ databaseUrl: url, embeddedPg: { dir: '', port: 0 } }, silentLogger);
    await runMigrations(database);
  } catch (error) {
    await database?.close();
    await withAdmin(adminUrl, (admin) => admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    throw error;
  }
  const opened = database;
  return {
    name,
    url,
    database: opened,
    async drop() {
      await opened.close();
      await withAdmin(adminUrl, (admin) => admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** `fn` with a one-connection client on the server's admin database, closed after. */
export async function withAdmin<T>(adminUrl: string, fn: (admin: postgres.Sql) => Promise<T>): Promise<T> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    return await fn(admin);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/**
 * postgres.js options for a socket with TCP_NODELAY. postgres.js writes each
 * CopyData message, then CopyDone, straight to the socket; with Nagle on, the
 * small CopyDone waits for the server's delayed ACK (~40 ms) whenever data is
 * still unacknowledged. postgres.js has no noDelay option, but it accepts a
 * `socket` factory (undocumented in its types) that must return a connected
 * socket. Unix-socket URLs have no Nagle and are left alone.
 */
export function noDelaySocketOption(url: string): { socket?: () => Promise<net.Socket> } {
  const parsed = new URL(url);
  const hostParam = parsed.searchParams.get('host');
  if ((hostParam && hostParam.startsWith('/')) || parsed.hostname === '') return {};
  const host = decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, ''));
  const port = Number(parsed.port || 5432);
  return {
    socket: () =>
      new Promise<net.Socket>((resolve, reject) => {
        const socket = net.connect({ host, port, noDelay: true });
        socket.once('connect', () => {
          socket.off('error', reject);
          resolve(socket);
        });
        socket.once('error', reject);
      }),
  };
}

/** A postgres.js client configured like connection.ts (raw client), plus optional extras. */
export function benchClient(url: string, extra: { noDelay?: boolean; max?: number; connection?: Record<string, string> } = {}): postgres.Sql {
  const options = {
    max: extra.max ?? 1,
    onnotice: () => undefined,
    connection: { application_name: 'threetone-bench', ...extra.connection },
    connect_timeout: 10,
    ...(extra.noDelay ? noDelaySocketOption(url) : {}),
  };
  // `socket` is supported at run time but missing from postgres.js's option types.
  return postgres(url, options as postgres.Options<Record<string, never>>);
}

/**
 * A `full` run opened the way runSync opens one: the workspace lock taken (on
 * a session of its own, from `url`), then a new `running` row from
 * RunLedger.open. `release` drops the lock; the run row is left for the caller
 * to close.
 */
export async function ownRun(sql: postgres.Sql, url: string, workspace: string): Promise<{ owner: RunOwner; release(): Promise<void> }> {
  const lock = await lockWorkspace(url, workspace);
  try {
    const { owner } = await RunLedger.open(sql, { workspace, kind: 'full', resumes: false, lockPid: lock.pid });
    return { owner, release: lock.release };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** Deletes a bench's queue and budget keys under `prefix` (SCAN, not KEYS: Redis may be shared). */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

// ------------------------------------------------------------- child processes

export interface Child {
  process: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM to this child only, then waits for it to exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** `node <args>` with exactly `env` (plus PATH and HOME); stdout and stderr kept in memory. */
export function spawnNode(args: string[], env: Record<string, string | undefined>): Child {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start node ${args.join(' ')}`);
  return {
    process: child,
    pid,
    output: () => output,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves with the first match of `pattern` in the child's output, or rejects if it exits or `timeoutMs` passes. */
export function waitForOutput(child: Child, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = pattern.exec(child.output());
      if (match) {
        done();
        resolve(match);
      }
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`child exited (${code}) before printing ${pattern}: ${child.output().slice(-2000)}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`child did not print ${pattern} within ${timeoutMs} ms: ${child.output().slice(-2000)}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.process.stdout?.off('data', check);
      child.process.stderr?.off('data', check);
      child.process.off('exit', onExit);
    };
    child.process.stdout?.on('data', check);
    child.process.stderr?.on('data', check);
    child.process.once('exit', onExit);
    check();
  });
}

export interface SimulatorChild extends Child {
  url: string;
}

/** `threetone-sync simulate` in its own process, on a free port. */
export async function startSimulatorChild(options: { items: number; latencyMs: number; apiKey: string }): Promise<SimulatorChild> {
  const child = spawnNode(
    [BIN, 'simulate', '--port', '0', '--items', String(options.items), '--latency', String(options.latencyMs), '--api-key', options.apiKey],
    { LOG_LEVEL: 'error' },
  );
  try {
    const match = await waitForOutput(child, /simulator listening on (http:\/\/\S+)/, 120_000);
    return { ...child, url: match[1] as string };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** Config as the CLI builds it from an empty environment, aimed at `baseUrl`, with a budget that never throttles. */
export function benchConfig(baseUrl: string, databaseUrlValue: string, workspace: string): Config {
  return {
    ...loadConfig({}),
    baseUrl,
    workspace,
    databaseUrl: databaseUrlValue,
    pageSize: 500,
    budget: [{ points: 1e9, windowMs: 60_000 }],
  };
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}
