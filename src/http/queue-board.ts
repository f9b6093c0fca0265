import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { getRequestListener } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type MiddlewareHandler } from 'hono';
import type { HttpConfig } from '../config.ts';
import type { SyncQueue } from '../jobs/queue.ts';

export const BOARD_PATH = '/queues';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface QueueBoardOptions {
  board: HttpConfig['board'];
  queue: SyncQueue;
}

/**
 * Bull Board for `/queues` and below, behind basic auth. Undefined when no
 * credentials are configured: the dashboard can retry, delete and add jobs,
 * so it is never served open.
 */
export function createQueueBoard(options: QueueBoardOptions): RequestHandler | undefined {
  const { board } = options;
  if (board === undefined) return undefined;
  const dashboard = getRequestListener(boardApp(options.queue).fetch);
  const authorized = credentialCheck(board);
  return (req, res) => {
    if (authorized(req.headers.authorization)) {
      void dashboard(req, res);
      return;
    }
    res.writeHead(401, {
      'www-authenticate': 'Basic realm="threetone-sync queues", charset="UTF-8"',
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end('401 Unauthorized: the queue dashboard needs the QUEUE_BOARD_USER / QUEUE_BOARD_PASSWORD credentials\n');
  };
}

function boardApp(queue: SyncQueue): Hono {
  const serverAdapter = new HonoAdapter(serveStatic);
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({
    // The adapter is typed for the Redis-backed Queue; it drives any BullMQ 6 backend through the same methods.
    queues: [new BullMQAdapter(queue as unknown as ConstructorParameters<typeof BullMQAdapter>[0])],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'threetone-sync' } },
  });
  return new Hono().use(selfContained).route(BOARD_PATH, serverAdapter.registerPlugin());
}

/**
 * Bull Board's page links its fonts from Google's servers: an operator's
 * browser would tell a third party each time it opens the dashboard, and a
 * closed network waits on it. The link is dropped (the system font stands
 * in) and a content security policy keeps every request on this server.
 */
const selfContained: MiddlewareHandler = async (c, next) => {
  await next();
  c.res.headers.set('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; img-src 'self' data:");
  if (!c.res.headers.get('content-type')?.includes('text/html')) return;
  const html = (await c.res.text()).replace(/<link[^>]+fonts\.googleapis\.com[^>]*>/g, '');
  c.res = new Response(html, { status: c.res.status, headers: c.res.headers });
};

/**
 * Compares SHA-256 digests with timingSafeEqual: equal lengths whatever was
 * sent, and both fields are always compared, so timing tells nothing about
 * which part or how much of it was right.
 */
export function credentialCheck(expected: { user: string; password: string }): (header: string | undefined) => boolean {
  const user = digest(expected.user);
  const password = digest(expected.password);
  return (header) => {
    const sent = parseBasic(header);
    if (sent === undefined) return false;
    const userOk = timingSafeEqual(digest(sent.user), user);
    const passwordOk = timingSafeEqual(digest(sent.password), password);
    return userOk && passwordOk;
  };
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
