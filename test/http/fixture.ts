import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import type { Config } from '../../src/config.ts';
import { openBudgetsAndMetrics } from '../../src/app/budgets-and-metrics.ts';
import type { Metrics } from '../../src/http/metrics.ts';
import { createReadiness } from '../../src/http/readiness.ts';
import { startHttpServer, type HttpServer } from '../../src/http/server.ts';
import { openQueueStore, type QueueStore, type SyncQueue } from '../../src/jobs/queue.ts';
import { runSync, type SyncSummary } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { deleteRedisKeys, queueConfig, type Backend } from '../helpers/queue.ts';
import { RunEvents } from '../../src/jobs/run-events.ts';

export const KEY = 'sk_http_test_3c9a1f0e7b2d4a68';
export const BOARD = { user: 'ops', password: 'correct horse battery staple' };

export interface HttpEnv {
  backend: Backend;
  database: TestDatabase;
  simulator: Simulator;
  config: Config;
  store: QueueStore;
  queue: SyncQueue;
  metrics: Metrics;
  /** The bus the metrics subscribe to, as the worker's: `sync` runs emit on it. */
  events: RunEvents;
  server: HttpServer;
  /** A real run against the simulator, observed by `metrics`. */
  sync(workspace?: string, apiKey?: string): Promise<SyncSummary>;
  close(): Promise<void>;
}

export interface HttpEnvOptions {
  simulator?: SimulatorOptions;
  board?: Config['http']['board'];
  schedulesRegistered?: () => boolean;
  /** The Redis that readiness checks, when not the queue's own (a Redis the test kills). */
  readinessRedisUrl?: string;
}

/** Its own database, simulator, queue prefix, metrics registry and HTTP server on a random port. */
export async function startHttpEnv(backend: Backend, options: HttpEnvOptions = {}): Promise<HttpEnv> {
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const simulator = await startSimulator({ apiKeys: [KEY], items: 250, ...options.simulator });
    cleanups.push(() => simulator.close());
    const queueSettings = queueConfig(backend);
    const base = testConfig({ baseUrl: simulator.url, pageSize: 100 });
    const config: Config = {
      ...base,
      databaseUrl: database.url,
      redisUrl: queueSettings.redisUrl,
      workspaces: [{ name: 'alpha', apiKey: KEY }],
      worker: { ...base.worker, ...queueSettings.worker },
      http: { port: 0, host: '127.0.0.1', board: options.board },
    };
    cleanups.push(() => deleteRedisKeys(config.worker.queuePrefix));
    const store = openQueueStore(config, database.url);
    cleanups.push(() => store.close());
    const queue = store.openQueue();
    cleanups.push(() => queue.close());
    await queue.waitUntilReady();
    // Wired as the worker wires them.
    const events = new RunEvents();
    const { budgets, metrics } = await openBudgetsAndMetrics(config, database, queue, silentLogger, events);
    cleanups.push(() => budgets.close());
    const ready = createReadiness({
      database,
      redisUrl: options.readinessRedisUrl ?? config.redisUrl,
      schedulesRegistered: options.schedulesRegistered ?? (() => true),
    });
    const server = await startHttpServer({ config, log: silentLogger, database, queue, metrics, ready });
    cleanups.push(() => server.close());
    const sync = (workspace = 'alpha', apiKey = KEY) =>
      runSync({ config, database, log: silentLogger, budget: budgets.forKey(apiKey), events }, { workspace, apiKey, kind: 'full' });
    return { backend, database, simulator, config, store, queue, metrics, events, server, sync, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format, enough of it for these tests: samples of `name`. */
export function samples(text: string, name: string): Sample[] {
  const found: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    found.push({ labels, value: Number(match[3]) });
  }
  return found;
}

/** The value of the one sample of `name` whose labels include `labels`. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = samples(text, name).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matching.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${matching.length} samples`);
  return matching[0]?.value;
}

/** A port with nothing listening: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Accepts TCP connections and never answers: a store that hangs rather than
 * refuses, to show that every check is bounded in time.
 */
export async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** `Authorization` header for basic auth. */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export interface ThrowawayRedis {
  url: string;
  port: number;
  /** SIGKILL, resolved once the process has exited: Redis is gone, not shutting down. */
  kill(): Promise<void>;
}

/**
 * A redis-server of the test's own on a free port (or `port`), with nothing
 * persisted unless `dir` is given (then AOF in that folder, so a restart on
 * the same port and folder comes back with the same data).
 */
export async function startThrowawayRedis(options: { port?: number; dir?: string } = {}): Promise<ThrowawayRedis> {
  const port = options.port ?? (await closedPort());
  const persistence = options.dir ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', options.dir] : ['--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--daemonize', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
