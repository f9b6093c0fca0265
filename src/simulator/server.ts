import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { BatchCallInput } from '../resources/batch-calls.ts';
import { firstAfter } from '../util/sorted.ts';
import { Dataset, type DriftOptions, type InvalidKind, type ListOrder, type MutationResult, type MutationSpec, type SortKey } from './dataset.ts';
import { ALL_FAULT_KINDS, applyFault, CursorSaboteur, FaultPlan, type CursorSabotageKind, type FaultKind } from './faults.ts';

/**
 * A faithful and hostile stand-in for `GET /v1/voiceai/batch-calling/workspace`
 * (node:http, no framework). Request pipeline, in order: routing (404/405),
 * auth (401/403), rate limit (429), injected/random faults, query validation
 * (422, which covers invalid and expired cursors), then the page.
 *
 * Besides the endpoint, `POST /_sim/invalidate-cursors` (no auth, answered
 * 204 before everything else, not counted in stats) lets another process
 * provoke what `invalidateCursors()` does.
 */

export const ENDPOINT = '/v1/voiceai/batch-calling/workspace';
const INVALIDATE_CURSORS = '/_sim/invalidate-cursors';

export interface SimulatorOptions {
  port?: number;
  host?: string;
  items?: number;
  seed?: number;
  apiKeys?: string[];
  forbiddenKeys?: string[];
  latencyMs?: number;
  faultRate?: number;
  faultKinds?: FaultKind[];
  hangMs?: number;
  retryAfterSeconds?: number;
  /** Enforces the API's documented limits per key over exact sliding windows (429 + Retry-After). */
  rateLimit?: RateLimits | null;
  drift?: DriftOptions;
  /** Unix seconds clock. */
  now?: () => number;
  /**
   * 'created' (default): created_at_unix DESC, id DESC, as documented. 'updated': last_updated_at_unix DESC, id
   * DESC, keyset cursors included, so a job that gets a new version (progress, revive) jumps to the top at once and
   * a walk already under way never lists it. An amend keeps last_updated_at_unix and so its place; created jobs go
   * to the top in either order (behind jobs updated in the same second with a greater id, as ties always sort).
   */
  order?: ListOrder;
  /**
   * A `last_doc` issued more than this many ms ago is rejected with 422 "cursor expired". Default: cursors never
   * expire. Cursors carry their (signed) issue time only while a TTL is set; one issued without is never expired.
   */
  cursorTtlMs?: number;
  /** Milliseconds clock for issuing and ageing cursors (only); default Date.now. */
  nowMs?: () => number;
}

export interface RateLimits {
  perMinute: number;
  perHour: number;
  /** Window lengths; defaults 60000 and 3600000. Shorter ones keep tests fast. */
  minuteMs?: number;
  hourMs?: number;
  /** Also send `RateLimit-Limit/-Remaining/-Reset` on every answered request. Default false (Threetone documents none). */
  headers?: boolean;
}

export interface SimulatorStats {
  requests: number;
  byStatus: Record<string, number>;
  /** Date.now() of each request received. */
  requestTimes: number[];
  perKey: Record<string, number>;
}

export interface Simulator {
  url: string;
  port: number;
  injectFaults(...kinds: FaultKind[]): void;
  sabotageCursor(kind: CursorSabotageKind): void;
  mutate(m: MutationSpec): MutationResult;
  truth(): BatchCallInput[];
  versions(): BatchCallInput[];
  invalidItems(): unknown[];
  /** `n` invalid items at the top of the list (see Dataset.injectInvalid). */
  injectInvalid(n: number, kind?: InvalidKind): void;
  stats: SimulatorStats;
  resetStats(): void;
  setLatency(ms: number): void;
  setFaultRate(rate: number): void;
  /**
   * Re-sorts the list in the other order. Cursors handed out before still decode, but their position (a created
   * time, say) is then read as a time in the new order, so a walk that spans the switch skips or repeats jobs.
   */
  setOrder(order: ListOrder): void;
  /**
   * null: cursors never expire. Takes effect at once: a cursor issued while some TTL was set is judged by the TTL in
   * force when it comes back; one issued while none was set carries no issue time and never expires.
   */
  setCursorTtl(ms: number | null): void;
  /** Every cursor handed out so far gets 422 "invalid cursor" from now on, as after a deploy rotating the cursor secret. */
  invalidateCursors(): void;
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const simulator = new SimulatorServer(options);
  await simulator.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return simulator;
}

const DEFAULT_LIMIT = 100;
const NOT_AUTHENTICATED = { status: 401, detail: 'Not authenticated' };
const MAX_LIMIT = 500;

type Query = { ok: true; limit: number; after: SortKey | null; sent: string | null } | { ok: false; detail: unknown[] };

class SimulatorServer implements Simulator {
  url = '';
  port = 0;
  readonly stats: SimulatorStats = emptyStats();

  private readonly server: Server;
  private readonly dataset: Dataset;
  private readonly faults: FaultPlan;
  private readonly saboteur = new CursorSaboteur();
  private readonly limiter: SlidingWindowLimiter | null;
  private readonly apiKeys: Set<string>;
  private readonly forbiddenKeys: Set<string>;
  private readonly sockets = new Set<Socket>();
  /** Pending latency waits and hang timers; close() fires them all at once so nothing outlives the server. */
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private latencyMs: number;
  private cursorTtlMs: number | null;
  private readonly nowMs: () => number;
  private closed = false;

  constructor(private readonly options: SimulatorOptions) {
    const seed = options.seed ?? 42;
    this.cursorTtlMs = checkedTtl(options.cursorTtlMs ?? null);
    this.nowMs = options.nowMs ?? Date.now;
    this.dataset = new Dataset({
      items: options.items ?? 1000,
      seed,
      drift: options.drift ?? {},
      now: options.now ?? (() => Math.floor(Date.now() / 1000)),
      order: checkedOrder(options.order ?? 'created'),
    });
    this.faults = new FaultPlan(seed, options.faultRate ?? 0, options.faultKinds ?? ALL_FAULT_KINDS);
    this.limiter = options.rateLimit ? new SlidingWindowLimiter(options.rateLimit) : null;
    this.apiKeys = new Set(options.apiKeys ?? ['sim-key']);
    this.forbiddenKeys = new Set(options.forbiddenKeys ?? []);
    this.latencyMs = options.latencyMs ?? 0;
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        if (address === null || typeof address === 'string') {
          reject(new Error('simulator: unexpected listen address'));
          return;
        }
        this.port = address.port;
        this.url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
        resolve();
      });
    });
  }

  // ------------------------------------------------------------ control API

  injectFaults(...kinds: FaultKind[]): void {
    this.faults.inject(kinds);
  }

  sabotageCursor(kind: CursorSabotageKind): void {
    this.saboteur.arm(kind);
  }

  mutate(m: MutationSpec): MutationResult {
    return this.dataset.mutate(m);
  }

  truth(): BatchCallInput[] {
    return this.dataset.truth();
  }

  versions(): BatchCallInput[] {
    return this.dataset.versions();
  }

  invalidItems(): unknown[] {
    return this.dataset.invalidItems();
  }

  injectInvalid(n: number, kind: InvalidKind = 'schema'): void {
    this.dataset.injectInvalid(n, kind);
  }

  /** Clears in place, so a reference to `stats` held by a test stays live. */
  resetStats(): void {
    this.stats.requests = 0;
    this.stats.requestTimes.length = 0;
    for (const key of Object.keys(this.stats.byStatus)) delete this.stats.byStatus[key];
    for (const key of Object.keys(this.stats.perKey)) delete this.stats.perKey[key];
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  setFaultRate(rate: number): void {
    this.faults.setRate(rate);
  }

  setOrder(order: ListOrder): void {
    this.dataset.setOrder(checkedOrder(order));
  }

  setCursorTtl(ms: number | null): void {
    this.cursorTtlMs = checkedTtl(ms);
  }

  invalidateCursors(): void {
    this.dataset.rotateCursorSecret();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const [timer, fire] of this.timers) {
      clearTimeout(timer);
      fire();
    }
    this.timers.clear();
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await closing;
  }

  // --------------------------------------------------------------- requests

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://simulator.invalid');
      if (url.pathname === INVALIDATE_CURSORS) {
        this.handleInvalidateCursors(req, res);
        return;
      }
      if (url.pathname !== ENDPOINT) {
        sendJson(res, 404, { detail: 'Not Found' });
        return;
      }
      this.stats.requests++;
      this.stats.requestTimes.push(Date.now());
      const label = await this.handleEndpoint(req, res, url);
      if (label !== null) this.count(label);
    } catch (error) {
      // The simulator never logs; a bug surfaces to the client as a 500 with its message.
      if (!res.headersSent && !res.destroyed) {
        sendJson(res, 500, { detail: `simulator error: ${(error as Error).message}` });
      }
    }
  }

  private handleInvalidateCursors(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST') {
      sendJson(res, 405, { detail: 'Method Not Allowed' }, { allow: 'POST' });
      return;
    }
    this.invalidateCursors();
    res.writeHead(204).end();
  }

  /** Returns the stats label of the response, or null when the simulator closed meanwhile. */
  private async handleEndpoint(req: IncomingMessage, res: ServerResponse, url: URL): Promise<string | null> {
    if (req.method !== 'GET') {
      sendJson(res, 405, { detail: 'Method Not Allowed' }, { allow: 'GET' });
      return '405';
    }
    if (this.latencyMs > 0) {
      await this.wait(this.latencyMs);
      if (this.closed) return null;
    }

    const key = apiKeyOf(req);
    if (key !== null) this.stats.perKey[key] = (this.stats.perKey[key] ?? 0) + 1;
    const denied = this.authenticate(key);
    if (denied || key === null) {
      const { status, detail } = denied ?? NOT_AUTHENTICATED;
      sendJson(res, status, { detail }, status === 401 ? { 'www-authenticate': 'Bearer' } : {});
      return String(status);
    }

    const verdict = this.limiter?.hit(key, Date.now());
    if (verdict && !verdict.ok) {
      sendJson(res, 429, { detail: 'Rate limit exceeded' }, { 'retry-after': String(verdict.retryAfterSeconds), ...verdict.headers });
      return '429';
    }
    if (verdict) for (const [name, value] of Object.entries(verdict.headers)) res.setHeader(name, value);

    const query = this.parseQuery(url.searchParams);
    const fault = this.faults.next();
    if (fault) {
      return applyFault(fault, req, res, {
        retryAfterSeconds: this.options.retryAfterSeconds ?? 1,
        hangMs: this.options.hangMs ?? 60_000,
        pageBody: () => this.previewBody(query),
        destroyLater: (r, ms) => this.destroyLater(r, ms),
        rng: this.faults.bodyRng,
      });
    }

    if (!query.ok) {
      sendJson(res, 422, { detail: query.detail });
      return '422';
    }
    sendText(res, 200, this.pageBody(query));
    return '200';
  }

  private authenticate(key: string | null): { status: number; detail: string } | null {
    if (key === null) return NOT_AUTHENTICATED;
    if (this.forbiddenKeys.has(key)) return { status: 403, detail: 'API key does not have access to this workspace' };
    if (!this.apiKeys.has(key)) return { status: 401, detail: 'Invalid API key' };
    return null;
  }

  private pageBody(query: Extract<Query, { ok: true }>): string {
    if (query.sent === null) {
      this.dataset.beginWalk();
      this.saboteur.beginWalk();
    }
    const page = this.dataset.page(query.limit, query.after, true);
    const correct = { nextDoc: page.nextKey ? this.cursorFor(page.nextKey) : null, hasMore: page.hasMore };
    const { nextDoc, hasMore } = this.saboteur.apply(query.sent, correct);
    return JSON.stringify({ batch_calls: page.items, next_doc: nextDoc, has_more: hasMore });
  }

  /** A realistic body for a response that will be cut short; consumes no one-shot state. */
  private previewBody(query: Query): string {
    const page = query.ok ? this.dataset.page(query.limit, query.after, false) : this.dataset.page(DEFAULT_LIMIT, null, false);
    const nextDoc = page.nextKey ? this.cursorFor(page.nextKey) : null;
    return JSON.stringify({ batch_calls: page.items, next_doc: nextDoc, has_more: page.hasMore });
  }

  private cursorFor(key: SortKey): string {
    return this.dataset.encodeCursor(key, this.cursorTtlMs === null ? null : this.nowMs());
  }

  /** FastAPI/pydantic-shaped validation of `limit` and `last_doc`. */
  private parseQuery(params: URLSearchParams): Query {
    const detail: unknown[] = [];
    let limit = DEFAULT_LIMIT;
    const rawLimit = params.getAll('limit').at(-1);
    if (rawLimit !== undefined) {
      const parsed = parseLimit(rawLimit);
      if (typeof parsed === 'number') limit = parsed;
      else detail.push(parsed);
    }

    let after: SortKey | null = null;
    const rawCursor = params.getAll('last_doc').at(-1);
    const sent = rawCursor === undefined || rawCursor === '' ? null : rawCursor;
    if (sent !== null) {
      const cursor = this.dataset.decodeCursor(sent);
      const expired = cursor !== null && cursor.issuedMs !== null && this.cursorTtlMs !== null && this.nowMs() - cursor.issuedMs > this.cursorTtlMs;
      if (cursor === null || expired) {
        const msg = cursor === null ? 'Value error, invalid cursor' : 'Value error, cursor expired';
        detail.push({ type: 'value_error', loc: ['query', 'last_doc'], msg, input: sent });
      } else {
        after = cursor.key;
      }
    }
    return detail.length > 0 ? { ok: false, detail } : { ok: true, limit, after, sent };
  }

  // ----------------------------------------------------------------- timers

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.set(timer, resolve);
    });
  }

  private destroyLater(req: IncomingMessage, ms: number): void {
    const destroy = () => req.socket.destroy();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      destroy();
    }, ms);
    this.timers.set(timer, destroy);
    // A client that gives up first should not leave the timer behind.
    req.socket.once('close', () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    });
  }

  private count(label: string): void {
    this.stats.byStatus[label] = (this.stats.byStatus[label] ?? 0) + 1;
  }
}

function checkedTtl(ms: number | null): number | null {
  if (ms !== null && !(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`simulator: cursor TTL must be a number of ms >= 0 or null, got ${ms}`);
  return ms;
}

/** Options also come from untyped callers (JSON, CLI); a typo must not silently mean 'created'. */
function checkedOrder(order: ListOrder): ListOrder {
  if (order !== 'created' && order !== 'updated') throw new RangeError(`simulator: order must be 'created' or 'updated', got ${String(order)}`);
  return order;
}

function parseLimit(raw: string): number | Record<string, unknown> {
  const loc = ['query', 'limit'];
  if (!/^\s*[+-]?\d+\s*$/.test(raw)) {
    return { type: 'int_parsing', loc, msg: 'Input should be a valid integer, unable to parse string as an integer', input: raw };
  }
  const value = Number(raw.trim());
  if (value < 1) {
    return { type: 'greater_than_equal', loc, msg: 'Input should be greater than or equal to 1', input: raw, ctx: { ge: 1 } };
  }
  if (value > MAX_LIMIT) {
    return {
      type: 'less_than_equal',
      loc,
      msg: `Input should be less than or equal to ${MAX_LIMIT}`,
      input: raw,
      ctx: { le: MAX_LIMIT },
    };
  }
  return value;
}

/** `x-api-key` wins over `Authorization: Bearer`; blank values count as no key. */
function apiKeyOf(req: IncomingMessage): string | null {
  const header = req.headers['x-api-key'];
  const direct = (Array.isArray(header) ? header[0] : header)?.trim();
  if (direct) return direct;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return bearer?.[1] ?? null;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, JSON.stringify(body), headers);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

function emptyStats(): SimulatorStats {
  // Null-prototype maps: keys come from clients (API keys), so '__proto__' must be just a key.
  return {
    requests: 0,
    byStatus: Object.create(null) as Record<string, number>,
    requestTimes: [],
    perKey: Object.create(null) as Record<string, number>,
  };
}

/**
 * Per-key sliding windows (a minute and an hour unless shortened), counted exactly: a request is accepted when each
 * window `(now - length, now]` holds fewer accepted requests than its limit. Only accepted requests take a slot; a
 * rejected one is told, in whole seconds rounded up, when the binding window has room again.
 */
class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();
  private readonly windows: { points: number; ms: number }[];

  constructor(private readonly limits: RateLimits) {
    this.windows = [
      { points: limits.perMinute, ms: limits.minuteMs ?? 60_000 },
      { points: limits.perHour, ms: limits.hourMs ?? 3_600_000 },
    ];
  }

  hit(key: string, nowMs: number): { ok: true; headers: Record<string, string> } | { ok: false; retryAfterSeconds: number; headers: Record<string, string> } {
    let hits = this.hits.get(key);
    if (!hits) {
      hits = [];
      this.hits.set(key, hits);
    }
    const longest = Math.max(...this.windows.map((w) => w.ms));
    const expired = firstAfter(hits, nowMs - longest);
    if (expired > 0) hits.splice(0, expired);

    let waitMs = 0;
    for (const w of this.windows) {
      const count = hits.length - firstAfter(hits, nowMs - w.ms);
      if (count >= w.points) waitMs = Math.max(waitMs, (hits[hits.length - w.points] as number) + w.ms - nowMs);
    }
    if (waitMs > 0) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)), headers: this.headers(hits, nowMs) };
    hits.push(nowMs);
    return { ok: true, headers: this.headers(hits, nowMs) };
  }

  /** The tightest window's view: what is left in it, and seconds until it next has room (0 while it has). */
  private headers(hits: number[], nowMs: number): Record<string, string> {
    if (!this.limits.headers) return {};
    let tightest = { limit: 0, remaining: Infinity, resetMs: 0 };
    for (const w of this.windows) {
      const count = hits.length - firstAfter(hits, nowMs - w.ms);
      const remaining = Math.max(0, w.points - count);
      const oldest = hits[hits.length - count];
      const resetMs = remaining > 0 || oldest === undefined ? 0 : (hits[hits.length - w.points] as number) + w.ms - nowMs;
      if (remaining < tightest.remaining || (remaining === tightest.remaining && resetMs > tightest.resetMs)) tightest = { limit: w.points, remaining, resetMs };
    }
    return {
      'ratelimit-limit': String(tightest.limit),
      'ratelimit-remaining': String(tightest.remaining),
      'ratelimit-reset': String(Math.ceil(tightest.resetMs / 1000)),
    };
  }
}

