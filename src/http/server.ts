import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { ConfigError } from '../errors/ConfigError.ts';
import type { SyncQueue } from '../jobs/queue.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from './metrics.ts';
import { BOARD_PATH, createQueueBoard } from './queue-board.ts';
import type { Readiness } from './readiness.ts';
import { withTimeout } from '../util/with-timeout.ts';
import { consumerLags } from '../db/feed/consumer-lag.ts';
import { loadHealth } from '../health/load-health.ts';
import { webhookState } from '../webhooks/state.ts';
import { parseOverviewQuery, renderOverview } from './status-page/overview.ts';
import { loadWorkspaceDetail, renderWorkspaceDetail } from './status-page/workspace.ts';

export interface HttpServerOptions {
  config: Pick<Config, 'http' | 'health'>;
  log: Logger;
  /** Only its `reads` pool: nothing served here may take a connection of the sync's. */
  database: Pick<Database, 'reads'>;
  queue: SyncQueue;
  metrics: Metrics;
  ready: () => Promise<Readiness>;
  /** Longest the status page waits for the database. Default 5000 ms (the reads pool's statement_timeout then cancels the query itself). */
  pageTimeoutMs?: number;
}

export interface HttpServer {
  url: string;
  port: number;
  /** Stops listening and drops every connection, keep-alive ones included. Idempotent. */
  close(): Promise<void>;
}

/** The pages answer with inline CSS and SVG only; nothing else may load or run. The one form (a filter) submits to this page. */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * /healthz, /readyz, /metrics, the status page at / and Bull Board at
 * /queues, on plain node:http (the board's Hono app is mounted as a handler).
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const board = createQueueBoard({ board: options.config.http.board, queue: options.queue });
  const routes = createRoutes(options, board !== undefined);
  const server = createServer((req, res) => {
    const path = pathOf(req);
    if (path === BOARD_PATH || path.startsWith(`${BOARD_PATH}/`)) {
      if (board) board(req, res);
      else sendText(res, 404, 'Not found\n');
      return;
    }
    void dispatch(routes, path.startsWith(WORKSPACE_PREFIX) ? WORKSPACE_PREFIX : path, req, res, options.log);
  });
  const { host, port } = options.config.http;
  await listen(server, port, host);
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  options.log.info({ url, board: board !== undefined }, 'http server listening');
  return { url, port: address.port, close: once(() => closeServer(server)) };
}

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** One page per workspace: /workspaces/<name, URL-encoded>. */
const WORKSPACE_PREFIX = '/workspaces/';

function createRoutes(options: HttpServerOptions, boardEnabled: boolean): Record<string, Route> {
  const pageTimeoutMs = options.pageTimeoutMs ?? 5000;
  return {
    '/healthz': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/readyz': async (_req, res) => {
      const readiness = await options.ready();
      sendJson(res, readiness.ok ? 200 : 503, { status: readiness.ok ? 'ok' : 'unavailable', checks: readiness.checks });
    },
    '/metrics': async (_req, res) => {
      const text = await options.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': options.metrics.registry.contentType, 'cache-control': 'no-store' });
      res.end(text);
    },
    '/': async (req, res) => {
      const now = new Date();
      const [health, consumers] = await withTimeout(Promise.all([loadHealth(options.database.reads, options.config.health, now), consumerLags(options.database.reads)]), pageTimeoutMs, 'postgres');
      res.writeHead(200, PAGE_HEADERS);
      res.end(renderOverview(health, parseOverviewQuery(urlOf(req).searchParams), { title: 'threetone-sync status', now, boardEnabled }, consumers, webhookState()));
    },
    [WORKSPACE_PREFIX]: async (req, res) => {
      const now = new Date();
      const workspace = workspaceOf(urlOf(req).pathname);
      const detail = workspace === undefined ? undefined : await withTimeout(loadWorkspaceDetail(options.database.reads, workspace, options.config.health, now), pageTimeoutMs, 'postgres');
      if (detail === undefined) return sendText(res, 404, 'No run of this workspace is recorded\n');
      res.writeHead(200, PAGE_HEADERS);
      res.end(renderWorkspaceDetail(detail, { title: 'threetone-sync status', now, boardEnabled }));
    },
  };
}

async function dispatch(routes: Record<string, Route>, path: string, req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
  const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
  if (route === undefined) return sendText(res, 404, 'Not found\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return sendText(res, 405, 'Method not allowed\n');
  }
  try {
    await route(req, res);
  } catch (error) {
    // The error's name only: a drizzle query error's message carries the query and its parameters.
    log.error({ path, error: (error as Error)?.name ?? typeof error }, 'http request failed');
    if (!res.headersSent) sendText(res, 503, 'Service unavailable: a data source did not answer; see the worker log\n');
    else res.destroy();
  }
}

function pathOf(req: IncomingMessage): string {
  return urlOf(req).pathname;
}

function urlOf(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return new URL('http://localhost/invalid');
  }
}

function workspaceOf(pathname: string): string | undefined {
  try {
    const name = decodeURIComponent(pathname.slice(WORKSPACE_PREFIX.length));
    return name === '' ? undefined : name;
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      // The usual cause: a second worker on the same machine with the default port.
      if (error.code === 'EADDRINUSE') {
        reject(new ConfigError([`HTTP_PORT ${port} on ${host} is already in use (another worker on this machine?): give each worker its own HTTP_PORT, or HTTP_PORT=0 to serve no HTTP`]));
      } else reject(error);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // close() alone waits for keep-alive sockets (a Prometheus scraper keeps one open) to time out.
    server.closeAllConnections();
  });
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
