import type { Logger } from '../log.ts';
import { ApiAuthError } from '../errors/ApiAuthError.ts';
import { ApiBodyError } from '../errors/ApiBodyError.ts';
import { ApiBodyTooLargeError } from '../errors/ApiBodyTooLargeError.ts';
import { ApiError } from '../errors/ApiError.ts';
import { ApiHttpError } from '../errors/ApiHttpError.ts';
import { ApiNetworkError } from '../errors/ApiNetworkError.ts';
import { ApiRequestRejectedError } from '../errors/ApiRequestRejectedError.ts';
import { RetriesExhaustedError } from '../errors/RetriesExhaustedError.ts';
import { sleep } from '../util/sleep.ts';
import { LOUD_WAIT_MS, type BudgetWait } from '../budget/budget.ts';
import type { RequestBudget } from '../budget/budget.ts';
import { itemSources, rememberSources } from './item-source.ts';
import { decideRetry, parseRetryAfter, type RetryOptions } from './retry-policy.ts';
import type { ListResource } from '../resources/resource.ts';
import { pageSchema, type Page } from './schemas.ts';

export interface ApiClientOptions {
  /** The list endpoint walked: its path and envelope. */
  resource: Pick<ListResource, 'path' | 'envelopeKey'>;
  /** e.g. https://api.threetone.in (no trailing slash). */
  baseUrl: string;
  /** Sent only as the `x-api-key` header. */
  apiKey: string;
  /**
   * Where the key was configured, e.g. `THREETONE_API_KEY` or `THREETONE_WORKSPACES["acme"]`: a rejected key's error
   * names it, so the operator fixes the right setting. Never the key itself.
   */
  keySource?: string | undefined;
  /** `limit` per request, 1..500. */
  pageSize: number;
  /** Per request, covering headers and body. */
  timeoutMs: number;
  /** Larger bodies are refused unread. */
  maxBodyBytes: number;
  retry: RetryOptions;
  budget: RequestBudget;
  /** Takes the budget as a long walk (TakeOptions.bulk): the fresh reserve is left to incremental syncs. Default false. */
  bulk?: boolean;
  log: Logger;
  /** Aborts waits and requests in flight (shutdown). */
  signal?: AbortSignal;
  /** Injected for deterministic jitter in tests. */
  random?: () => number;
  /** Before every wait for the request budget (progress line, metrics). */
  onWait?: (wait: BudgetWait) => void;
  /** Before every retry of a failed request. */
  onRetry?: (retry: ApiRetry) => void;
}

/** A failed request about to be tried again. */
export interface ApiRetry {
  attempt: number;
  delayMs: number;
  status: number | undefined;
  error: string;
}

export interface ApiStats {
  requests: number;
  retries: number;
  /** Responses by HTTP status, or by failure kind (`network`, `timeout`). */
  byStatus: Record<string, number>;
  /** Time spent waiting for the request budget. */
  budgetWaitMs: number;
}

/** Typed client for one list endpoint (its resource description). */
export class ThreetoneClient {
  readonly stats: ApiStats = { requests: 0, retries: 0, byStatus: {}, budgetWaitMs: 0 };
  private readonly options: ApiClientOptions;
  private readonly pageSchema: ReturnType<typeof pageSchema>;

  constructor(options: ApiClientOptions) {
    this.options = options;
    this.pageSchema = pageSchema(options.resource);
  }

  /** One page, retried per the retry policy. `signal` aborts this page only (plus the client's own signal). */
  async fetchPage(cursor: string | null, signal?: AbortSignal): Promise<Page> {
    const { retry, budget, log, random } = this.options;
    const abort = combine(this.options.signal, signal);
    const url = this.pageUrl(cursor);
    for (let attempt = 1; ; attempt++) {
      this.stats.budgetWaitMs += await budget.take(abort, { onWait: (wait) => this.announceWait(wait), bulk: this.options.bulk === true });
      this.stats.requests++;
      try {
        return await this.requestOnce(url, abort);
      } catch (error) {
        if (abort?.aborted) throw abort.reason;
        const decision = decideRetry(error, attempt, retry, random);
        if (!decision.retry) {
          if (decision.why === 'not retryable' || !(error instanceof Error)) throw error;
          throw new RetriesExhaustedError(attempt, error, decision.why);
        }
        this.stats.retries++;
        const retried: ApiRetry = { attempt, delayMs: decision.delayMs, status: (error as ApiError).status, error: (error as Error).message };
        log.warn({ url, ...retried }, 'API request failed; retrying');
        this.options.onRetry?.(retried);
        await sleep(decision.delayMs, abort);
      }
    }
  }

  /** A user must never stare at a silent terminal: a long wait says what it waits for and how long. */
  private announceWait(wait: BudgetWait): void {
    const fields = { limit: wait.limit, waitMs: wait.ms };
    const line = `waiting ${Math.ceil(wait.ms / 1000)} s for the request budget (${wait.limit})`;
    if (wait.ms > LOUD_WAIT_MS) this.options.log.info(fields, line);
    else this.options.log.debug(fields, line);
    this.options.onWait?.(wait);
  }

  /** Tells the budget what the API said about it (429, RateLimit headers); a store that fails costs a warning, not the page. */
  private async learn(status: number, headers: Headers): Promise<void> {
    try {
      await this.options.budget.learn?.({ status, headers, at: Date.now() });
    } catch (error) {
      this.options.log.warn({ status, error: (error as Error)?.message }, 'request budget could not record the API\'s limit');
    }
  }

  pageUrl(cursor: string | null): string {
    const url = new URL(this.options.baseUrl + this.options.resource.path);
    url.searchParams.set('limit', String(this.options.pageSize));
    if (cursor !== null) url.searchParams.set('last_doc', cursor);
    return url.toString();
  }

  private async requestOnce(url: string, abort: AbortSignal | undefined): Promise<Page> {
    const req = { method: 'GET', url };
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = abort ? AbortSignal.any([timeout, abort]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: 'GET',
        headers: { 'x-api-key': this.options.apiKey, accept: 'application/json' },
        signal,
      });
      text = await readBody(response, this.options.maxBodyBytes, req);
    } catch (cause) {
      if (abort?.aborted) throw abort.reason;
      if (cause instanceof ApiBodyTooLargeError) throw cause;
      const timedOut = timeout.aborted;
      this.count(timedOut ? 'timeout' : 'network');
      throw new ApiNetworkError(req, timedOut, cause);
    }
    const status = response.status;
    this.count(String(status));
    await this.learn(status, response.headers);
    const withStatus = { ...req, status };

    if (status === 401 || status === 403) throw new ApiAuthError({ ...req, status }, this.detail(text), this.options.keySource);
    if (status === 408 || status === 425 || status === 429 || status >= 500) {
      throw new ApiHttpError(withStatus, parseRetryAfter(response.headers.get('retry-after')));
    }
    if (status < 200 || status >= 300) throw new ApiRequestRejectedError(withStatus, this.detail(text));

    const contentType = response.headers.get('content-type') ?? '';
    if (!/\bjson\b/i.test(contentType)) {
      throw new ApiBodyError(withStatus, `expected JSON, got ${contentType || 'no content type'}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiBodyError(withStatus, `invalid JSON (${text.length} bytes)`);
    }
    const page = this.pageSchema.safeParse(body);
    if (!page.success) {
      const issue = page.error.issues[0];
      throw new ApiBodyError(withStatus, `not a page: ${issue?.path.join('.') || 'body'} ${issue?.message ?? ''}`.trim());
    }
    // JSON.parse rounded what a double cannot hold; the page write stores such an item's own text instead.
    rememberSources(page.data.items, itemSources(text, this.options.resource.envelopeKey, { lossyOnly: true }));
    return page.data;
  }

  /** An error body's detail, for a message that ends up in sync_runs.error: an API that echoes the key must not put it there. */
  private detail(text: string): string | undefined {
    return detailOf(text, this.options.apiKey);
  }

  private count(key: string): void {
    this.stats.byStatus[key] = (this.stats.byStatus[key] ?? 0) + 1;
  }
}

/**
 * The body as text, refusing to buffer more than `maxBytes` (checked against Content-Length first, then as it streams).
 *
 * The chunks stay bytes (outside the V8 heap, one byte per UTF-8 byte) and are decoded once, at the end, into one flat
 * string. Decoding chunk by chunk into `text +=` built a rope in the heap instead: two bytes a character as soon as the
 * body holds one character outside Latin-1 (the agent names' em dash is enough), which JSON.parse then copied flat while
 * the rope was still live, 4x the body's size at that moment against 2x now (bench/body-heap.ts, BENCHMARKS.md).
 */
async function readBody(response: Response, maxBytes: number, req: { method: string; url: string }): Promise<string> {
  const tooLarge = () => new ApiBodyTooLargeError({ ...req, status: response.status }, maxBytes);
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  let chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, received);
  chunks = [];
  // Same decoding as before: UTF-8, a leading BOM dropped, invalid sequences replaced by U+FFFD.
  return new TextDecoder().decode(bytes);
}

function combine(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (a && b) return AbortSignal.any([a, b]);
  return a ?? b;
}

/**
 * A short, single-line rendering of an error body's `detail` (FastAPI style), for the error message; `secret` is
 * replaced by `<key>` before the cut to 300 characters, so no part of it survives.
 */
export function detailOf(text: string, secret?: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const detail = (body as { detail?: unknown } | null)?.detail;
  const hide = (s: string) => (secret ? s.replaceAll(secret, '<key>') : s);
  if (typeof detail === 'string') return oneLine(hide(detail));
  if (Array.isArray(detail)) {
    const parts = detail.map((d: { loc?: unknown[]; msg?: unknown }) => {
      const loc = Array.isArray(d?.loc) ? d.loc.filter((p) => p !== 'query').join('.') : '';
      return `${loc ? `${loc}: ` : ''}${typeof d?.msg === 'string' ? d.msg : 'invalid'}`;
    });
    return oneLine(hide(parts.join('; ')));
  }
  return undefined;
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
}
