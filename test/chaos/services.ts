import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import postgres from 'postgres';
import { freePort } from '../helpers/free-port.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.ts';
import { databaseUrl } from '../helpers/urls.ts';

/**
 * The servers a chaos run owns: a Postgres and a Redis of its own, so it can
 * crash, kill and wipe them while the machine's shared ones stay untouched.
 */

export interface PrivateRedis {
  url: string;
  /** SIGKILL by pid: the AOF keeps what was written up to then. */
  kill(): Promise<void>;
  /** Deletes the data folder's contents (only while killed). */
  wipe(): void;
  start(): Promise<void>;
  /** Answers PING (and has loaded its AOF). */
  isUp(): Promise<boolean>;
  /** Killed and its folders removed. */
  destroy(): Promise<void>;
}

/**
 * redis-server daemonized with AOF persistence, as production is told to run
 * it. Not our child: it is found, and killed, by its pid file.
 */
export async function startPrivateRedis(folder: string): Promise<PrivateRedis> {
  const port = await freePort();
  const dataDir = path.join(folder, 'redis-data');
  const pidFile = path.join(folder, 'redis.pid');
  const logFile = path.join(folder, 'redis.log');
  mkdirSync(dataDir, { recursive: true });
  const readPid = (): number | undefined => {
    if (!existsSync(pidFile)) return undefined;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };

  const start = async () => {
    const result = spawnSync(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--appendonly', 'yes', '--save', '', '--daemonize', 'yes', '--pidfile', pidFile, '--logfile', logFile],
      { encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`redis-server failed to start: ${result.stderr || result.error?.message}`);
    // Ready means it answers, which it only does once the AOF is loaded.
    await waitFor(() => pingRedis(port), 15_000, `redis on port ${port}`);
    await waitFor(async () => readPid() !== undefined, 5_000, 'redis pid file');
  };

  const kill = async () => {
    const pid = readPid();
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await waitFor(async () => !alive(pid), 10_000, `redis pid ${pid} to die`);
    rmSync(pidFile, { force: true });
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    kill,
    wipe: () => {
      for (const entry of readdirSync(dataDir)) rmSync(path.join(dataDir, entry), { recursive: true, force: true });
    },
    start,
    isUp: () => pingRedis(port),
    async destroy() {
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ChaosPostgres {
  server: PrivatePostgres;
  /** The run's database, for the workers. */
  url: string;
  /** The chaos process's own client (reconnects after a crash by itself). */
  sql: postgres.Sql;
  destroy(): Promise<void>;
}

/** A private Postgres with an empty database; the caller migrates it with the CLI, as an operator would. */
export async function startChaosPostgres(): Promise<ChaosPostgres> {
  const server = await startPrivatePostgres();
  try {
    const admin = postgres(server.url, { max: 1, onnotice: () => undefined });
    try {
      await admin`create database chaos`;
    } finally {
      await admin.end();
    }
  } catch (error) {
    await server.destroy();
    throw error;
  }
  const url = databaseUrl(server.url, 'chaos');
  const sql = postgres(url, { max: 3, onnotice: () => undefined, connect_timeout: 5, connection: { application_name: 'threetone-chaos' } });
  return {
    server,
    url,
    sql,
    async destroy() {
      await sql.end({ timeout: 2 }).catch(() => undefined);
      await server.destroy();
    },
  };
}

/** A process is gone once it has no /proc entry or is a zombie nobody reaps (a daemon's parent is init, which may not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A raw PING: ioredis would queue and retry instead of saying "not yet". */
function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => done(chunk.toString().startsWith('+PONG')));
  });
}

export async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
