import type { IncomingMessage, ServerResponse } from 'node:http';
import { Rng } from './random.ts';

/**
 * What can go wrong with a response, and how the simulator makes it go wrong.
 * Every kind mimics something a real client meets behind load balancers and
 * proxies; the sync must survive all of them.
 */

export type FaultKind = '429' | '500' | '502' | '503' | 'reset' | 'hang' | 'truncate' | 'html' | 'garbage';

export const ALL_FAULT_KINDS: readonly FaultKind[] = ['429', '500', '502', '503', 'reset', 'hang', 'truncate', 'html', 'garbage'];

export type CursorSabotageKind = 'repeat-previous' | 'cycle-to-first' | 'empty-string' | 'missing-with-has-more';

/** Decides which fault, if any, the next request gets: explicit injections first, then a seeded random draw. */
export class FaultPlan {
  private readonly queue: FaultKind[] = [];
  private readonly rng: Rng;

  constructor(
    seed: number,
    private rate: number,
    private readonly kinds: readonly FaultKind[],
  ) {
    this.rng = new Rng(seed ^ 0x2545f491);
  }

  inject(kinds: FaultKind[]): void {
    this.queue.push(...kinds);
  }

  setRate(rate: number): void {
    this.rate = rate;
  }

  next(): FaultKind | null {
    const injected = this.queue.shift();
    if (injected) return injected;
    if (this.kinds.length === 0 || !this.rng.chance(this.rate)) return null;
    return this.rng.pick(this.kinds);
  }

  /** Fault bodies vary too (JSON vs proxy HTML); drawn from the same seeded stream. */
  get bodyRng(): Rng {
    return this.rng;
  }
}

export interface FaultContext {
  retryAfterSeconds: number;
  hangMs: number;
  /** A well-formed page body to cut short (for 'truncate'). */
  pageBody: () => string;
  /** Destroys the socket after `ms`, unless the simulator closes first (then it is destroyed at once). */
  destroyLater: (req: IncomingMessage, ms: number) => void;
  rng: Rng;
}

/**
 * Writes (or withholds) the faulty response. Returns the label the request is
 * counted under in stats.byStatus: the HTTP status, or the kind when no status
 * (or a misleading 200 cut short) reaches the client.
 */
export function applyFault(kind: FaultKind, req: IncomingMessage, res: ServerResponse, ctx: FaultContext): string {
  switch (kind) {
    case '429':
      send(res, 429, 'application/json', JSON.stringify({ detail: 'Too Many Requests' }), {
        'retry-after': String(ctx.retryAfterSeconds),
      });
      return '429';
    case '500':
    case '502':
    case '503':
      sendServerError(res, Number(kind), ctx.rng);
      return kind;
    case 'reset':
      req.socket.destroy();
      return 'reset';
    case 'hang':
      // Headers are never sent; the client's own timeout is expected to fire first.
      ctx.destroyLater(req, ctx.hangMs);
      return 'hang';
    case 'truncate':
      truncate(req, res, ctx.pageBody());
      return 'truncate';
    case 'html':
      send(res, 200, 'text/html; charset=utf-8', PROXY_PAGE);
      return '200';
    case 'garbage':
      send(res, 200, 'application/json', ctx.rng.pick(GARBAGE_BODIES));
      return '200';
  }
}

const REASONS: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** Half the time the error comes from the app (JSON), half from the proxy in front of it (HTML). */
function sendServerError(res: ServerResponse, status: number, rng: Rng): void {
  const reason = REASONS[status] ?? 'Error';
  if (rng.chance(0.5)) {
    send(res, status, 'application/json', JSON.stringify({ detail: reason }));
  } else {
    const html = `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
    send(res, status, 'text/html', html);
  }
}

/** Promises the full length, delivers half, then drops the connection. */
function truncate(req: IncomingMessage, res: ServerResponse, body: string): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bytes.length) });
  res.flushHeaders();
  res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => req.socket.destroy());
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

const PROXY_PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Just a moment...</title></head>
<body><h1>Checking your browser before accessing api.threetone.in</h1>
<p>This process is automatic. Your browser will redirect to your requested content shortly.</p></body></html>
`;

const GARBAGE_BODIES = [
  '{"batch_calls":[{"id":"bc_',
  '{"batch_calls": [}, "has_more": tru',
  '\u0000\u0001\u0002garbage\u00ff',
  "{'batch_calls': [], 'has_more': False}",
  '{"batch_calls":[],"next_doc":null,"has_more":false}}',
];

/**
 * Breaks next_doc on the next page that has more results. What the client
 * receives, per kind:
 *
 * - 'repeat-previous': next_doc is the cursor the client sent for this page
 *   (a cursor it received on the previous page). Applied from page 2 on, since
 *   page 1 has no incoming cursor. A client that follows it gets this same
 *   page and the same next_doc forever.
 * - 'cycle-to-first': next_doc is the cursor that was issued on page 1 of this
 *   walk. Applied from page 3 on (on page 2 it would equal 'repeat-previous').
 *   A client that follows it walks pages 2..k and gets page 1's cursor again
 *   on page k, forever.
 * - 'empty-string': next_doc is "" with has_more true. Following it as
 *   last_doc= restarts the walk at page 1.
 * - 'missing-with-has-more': next_doc is null with has_more true.
 *
 * The two cursor loops are sticky for the rest of the walk (a "trap" keyed by
 * the incoming cursor), so a client without a guard really loops; a new walk
 * (a request without last_doc) clears them. Walk tracking is global: the
 * simulator assumes one walk at a time when sabotage is used.
 */
export class CursorSaboteur {
  private readonly queue: CursorSabotageKind[] = [];
  /** Correct cursors issued in the current walk; [0] is page 1's. */
  private issued: string[] = [];
  private traps = new Map<string, string>();

  arm(kind: CursorSabotageKind): void {
    this.queue.push(kind);
  }

  beginWalk(): void {
    this.issued = [];
    this.traps = new Map();
  }

  /** Given the cursor the client sent (null on page 1) and the correct next_doc/has_more, returns what to send. */
  apply(sent: string | null, page: { nextDoc: string | null; hasMore: boolean }): { nextDoc: string | null; hasMore: boolean } {
    if (!page.hasMore) return page;
    const trapped = sent === null ? undefined : this.traps.get(sent);
    if (trapped !== undefined) return { nextDoc: trapped, hasMore: true };

    const sabotaged = this.sabotage(sent);
    if (sabotaged) return sabotaged;

    if (page.nextDoc !== null && !this.issued.includes(page.nextDoc)) this.issued.push(page.nextDoc);
    return page;
  }

  private sabotage(sent: string | null): { nextDoc: string | null; hasMore: boolean } | null {
    const kind = this.queue[0];
    if (kind === undefined) return null;
    const nextDoc = this.brokenCursor(kind, sent);
    if (nextDoc === undefined) return null; // not possible on this page; try the next one
    if (sent !== null && nextDoc) this.traps.set(sent, nextDoc);
    this.queue.shift();
    return { nextDoc, hasMore: true };
  }

  /** The next_doc to send instead of the correct one, or undefined when `kind` cannot apply to this page. */
  private brokenCursor(kind: CursorSabotageKind, sent: string | null): string | null | undefined {
    switch (kind) {
      case 'empty-string':
        return '';
      case 'missing-with-has-more':
        return null;
      case 'repeat-previous':
        return sent ?? undefined;
      case 'cycle-to-first': {
        // Only from page 3 on, i.e. when the client sent a cursor issued after page 1's.
        const first = this.issued[0];
        return sent !== null && this.issued.indexOf(sent) >= 1 ? first : undefined;
      }
    }
  }
}
