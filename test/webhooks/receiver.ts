import { once } from 'node:events';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface Received {
  at: number;
  headers: Record<string, string>;
  body: string;
  /** What the receiver answered; undefined while it hangs. */
  status?: number;
}

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  /** Never answer (until the test closes the receiver). */
  hang?: boolean;
}

/** A real HTTP receiver on a random loopback port; `answer` decides each response from the request's index (0-based). */
export async function startReceiver(path = '/hooks/t0ps3cret-path?token=abc123') {
  const received: Received[] = [];
  const events = new EventEmitter();
  let answer: (index: number, request: Received) => Answer = () => ({ status: 204 });
  const hanging: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: Received = { at: Date.now(), headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') };
      const index = received.push(request) - 1;
      const a = answer(index, request);
      if (a.hang) hanging.push(res);
      else {
        request.status = a.status ?? 204;
        res.writeHead(request.status, a.headers);
        res.end();
      }
      events.emit('request');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    setAnswer(fn: (index: number, request: Received) => Answer) {
      answer = fn;
    },
    /** Resolves once `predicate` holds for the requests received so far (checked at each request). */
    until(predicate: (received: Received[]) => boolean): Promise<void> {
      if (predicate(received)) return Promise.resolve();
      return new Promise((resolve) => {
        const check = () => {
          if (predicate(received)) {
            events.off('request', check);
            resolve();
          }
        };
        events.on('request', check);
      });
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}
