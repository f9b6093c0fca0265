import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * One API address in front of several simulators, each request passed to the
 * one whose workspace its `x-api-key` names: what the real API does for a
 * process that syncs several workspaces (THREETONE_WORKSPACES) through one
 * THREETONE_BASE_URL. A simulator serves a single dataset, whatever the key.
 * Bytes pass through untouched; a reset or hang upstream is one downstream.
 */
export interface KeyRouter {
  url: string;
  /** Requests passed on, by key. */
  routed: Record<string, number>;
  close(): Promise<void>;
}

export async function startKeyRouter(upstreams: Record<string, string>): Promise<KeyRouter> {
  const routed: Record<string, number> = {};
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const key = req.headers['x-api-key'];
    const upstream = typeof key === 'string' ? upstreams[key] : undefined;
    if (upstream === undefined) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: 'Invalid API key' }));
      return;
    }
    routed[key as string] = (routed[key as string] ?? 0) + 1;
    const target = new URL(req.url ?? '/', upstream);
    const forward = request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
      reply.on('error', () => res.destroy());
      reply.on('aborted', () => res.destroy());
    });
    forward.on('error', () => res.destroy());
    // The client gave up (its timeout): so does the request upstream.
    res.on('close', () => res.writableFinished || forward.destroy());
    req.pipe(forward);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    routed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
