import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CraftedResponse {
  status?: number;
  contentType?: string;
  body: string;
}

/**
 * A bare HTTP server whose responses a test writes by hand, for bodies the
 * simulator would never produce. `respond` gets the 0-based request number
 * and the `last_doc` sent.
 */
export async function startPageServer(respond: (n: number, lastDoc: string | null) => CraftedResponse): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const lastDoc = new URL(req.url ?? '/', 'http://x').searchParams.get('last_doc');
    const reply = respond(requests++, lastDoc);
    res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'application/json' });
    res.end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A page body in the API's shape. */
export function page(items: unknown[], next: string | null): string {
  return JSON.stringify({ batch_calls: items, next_doc: next, has_more: next !== null });
}

/** A valid item. */
export function item(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    name: `job ${id}`,
    agent_id: 'ag_1',
    agent_name: 'Priya',
    created_at_unix: 1_790_000_000,
    scheduled_time_unix: 1_790_000_000,
    last_updated_at_unix: 1_790_000_100,
    status: 'completed',
    total_calls_scheduled: 3,
    total_calls_dispatched: 3,
    total_calls_finished: 3,
    ...extra,
  };
}
