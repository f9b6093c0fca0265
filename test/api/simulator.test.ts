import { afterEach, describe, expect, it, vi } from 'vitest';
import { batchCallSchema, FINAL_STATUSES, type BatchCallInput } from '../../src/resources/batch-calls.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';

const KEY = 'sim-key';
const NOW = 1_780_000_000;
const PATH = '/v1/voiceai/batch-calling/workspace';

interface PageBody {
  batch_calls: BatchCallInput[];
  next_doc: string | null;
  has_more: boolean;
}

let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  sim = await startSimulator({ now: () => NOW, ...options });
  return sim;
}

function urlOf(s: Simulator, query: Record<string, string | number | null | undefined> = {}): string {
  const url = new URL(PATH, s.url);
  for (const [name, value] of Object.entries(query)) if (value != null) url.searchParams.set(name, String(value));
  return url.toString();
}

function get(s: Simulator, query: Record<string, string | number | null | undefined> = {}, headers: Record<string, string> = { 'x-api-key': KEY }) {
  return fetch(urlOf(s, query), { headers });
}

async function page(s: Simulator, query: Record<string, string | number | null | undefined> = {}): Promise<PageBody> {
  const res = await get(s, query);
  expect(res.status).toBe(200);
  return (await res.json()) as PageBody;
}

/** Follows next_doc to the end; fails loudly instead of looping. */
async function walk(s: Simulator, limit: number): Promise<BatchCallInput[]> {
  const items: BatchCallInput[] = [];
  const seen = new Set<string>();
  let cursor: string | null = null;
  for (;;) {
    const body = await page(s, { limit, last_doc: cursor });
    items.push(...body.batch_calls);
    if (!body.has_more) {
      expect(body.next_doc).toBeNull();
      return items;
    }
    expect(body.next_doc).toBeTruthy();
    expect(seen.has(body.next_doc as string)).toBe(false);
    seen.add(body.next_doc as string);
    cursor = body.next_doc;
  }
}

const byId = (items: BatchCallInput[]) => new Map(items.map((item) => [item.id, item]));
const ids = (items: { id?: unknown }[]) => items.map((item) => item.id);
const STATUS_RANK: Record<string, number> = { pending: 0, in_progress: 1, completed: 2, failed: 2, cancelled: 2 };

describe('simulator: pages', () => {
  it('a full walk returns truth() exactly, in order, with limit 500 and limit 7', async () => {
    const s = await start({ items: 1000 });
    const truth = s.truth();
    expect(truth).toHaveLength(1000);
    expect(await walk(s, 500)).toEqual(truth);
    expect(await walk(s, 7)).toEqual(truth);
  });

  it('uses limit 100 by default and reports the last page with next_doc null', async () => {
    const s = await start({ items: 150 });
    const first = await page(s);
    expect(first.batch_calls).toHaveLength(100);
    expect(first.has_more).toBe(true);
    const second = await page(s, { last_doc: first.next_doc });
    expect(second.batch_calls).toHaveLength(50);
    expect(second).toMatchObject({ has_more: false, next_doc: null });
    // An empty last_doc means "first page".
    expect(await page(s, { last_doc: '' })).toEqual(first);
  });

  it('serves an empty workspace as one empty page', async () => {
    const s = await start({ items: 0 });
    expect(await page(s)).toEqual({ batch_calls: [], next_doc: null, has_more: false });
  });
});

describe('simulator: auth, routing and validation', () => {
  it('rejects missing and unknown keys with 401 and forbidden keys with 403', async () => {
    const s = await start({ items: 10, apiKeys: [KEY, 'other'], forbiddenKeys: ['no-access'] });
    const none = await get(s, {}, {});
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ detail: 'Not authenticated' });

    const wrong = await get(s, {}, { 'x-api-key': 'nope' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ detail: 'Invalid API key' });

    const wrongBearer = await get(s, {}, { authorization: 'Bearer nope' });
    expect(wrongBearer.status).toBe(401);

    const forbidden = await get(s, {}, { 'x-api-key': 'no-access' });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toEqual({ detail: 'API key does not have access to this workspace' });

    expect((await get(s, {}, { authorization: `Bearer ${KEY}` })).status).toBe(200);
    expect((await get(s, {}, { 'x-api-key': 'other' })).status).toBe(200);
  });

  it('returns 404 for other paths and 405 for other methods', async () => {
    const s = await start({ items: 10 });
    const missing = await fetch(`${s.url}/v1/other`, { headers: { 'x-api-key': KEY } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ detail: 'Not Found' });
    const post = await fetch(urlOf(s), { method: 'POST', headers: { 'x-api-key': KEY } });
    expect(post.status).toBe(405);
    await post.body?.cancel();
  });

  it.each([
    ['0', { type: 'greater_than_equal', msg: 'Input should be greater than or equal to 1', ctx: { ge: 1 } }],
    ['501', { type: 'less_than_equal', msg: 'Input should be less than or equal to 500', ctx: { le: 500 } }],
    ['abc', { type: 'int_parsing', msg: 'Input should be a valid integer, unable to parse string as an integer' }],
  ])('rejects limit=%s with a FastAPI-shaped 422', async (limit, expected) => {
    const s = await start({ items: 10 });
    const res = await get(s, { limit });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ detail: [{ ...expected, loc: ['query', 'limit'], input: limit }] });
  });

  it('accepts the limit bounds 1 and 500', async () => {
    const s = await start({ items: 600 });
    expect((await page(s, { limit: 1 })).batch_calls).toHaveLength(1);
    expect((await page(s, { limit: 500 })).batch_calls).toHaveLength(500);
  });

  it('rejects a tampered or garbage cursor with 422', async () => {
    const s = await start({ items: 50 });
    const cursor = (await page(s, { limit: 10 })).next_doc as string;
    const flipped = (cursor[0] === 'A' ? 'B' : 'A') + cursor.slice(1);
    for (const bad of [flipped, 'abc', `${cursor}x`, cursor.split('.')[0] as string]) {
      const res = await get(s, { last_doc: bad });
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual({
        detail: [{ type: 'value_error', loc: ['query', 'last_doc'], msg: 'Value error, invalid cursor', input: bad }],
      });
    }
  });
});

describe('simulator: data realism', () => {
  it('generates 5,000 consistent, valid, newest-first jobs', async () => {
    const s = await start({ items: 5000 });
    const truth = s.truth();
    expect(truth).toHaveLength(5000);
    expect(s.invalidItems()).toEqual([]);
    expect(new Set(ids(truth)).size).toBe(5000);

    const final: readonly string[] = FINAL_STATUSES;
    for (const [i, raw] of truth.entries()) {
      const job = batchCallSchema.parse(raw);
      expect(job.id).toMatch(/^bc_[a-z0-9]{20}$/);
      expect(job.agent_id).toMatch(/^ag_/);
      if (job.phone_number_id !== null) expect(job.phone_number_id).toMatch(/^pn_/);
      expect([null, 'twilio', 'vobiz', 'sip_trunk']).toContain(job.phone_provider);
      expect(job.name).toMatch(/ \d{4}-\d{2}-\d{2}$/);

      expect(job.created_at_unix).toBeGreaterThanOrEqual(NOW - 180 * 86_400);
      expect(job.created_at_unix).toBeLessThanOrEqual(NOW);
      expect(job.scheduled_time_unix).toBeGreaterThanOrEqual(job.created_at_unix);
      expect(job.last_updated_at_unix).toBeGreaterThanOrEqual(job.created_at_unix);
      expect(job.last_updated_at_unix).toBeLessThanOrEqual(NOW);
      expect(job.retry_count).toBeLessThanOrEqual(3);

      const { total_calls_scheduled: scheduled, total_calls_dispatched: dispatched, total_calls_finished: finished } = job;
      expect(scheduled).toBeGreaterThanOrEqual(dispatched);
      expect(dispatched).toBeGreaterThanOrEqual(finished);
      expect(finished).toBeGreaterThanOrEqual(0);
      if (job.status === 'pending') expect([dispatched, finished]).toEqual([0, 0]);
      if (job.status === 'completed') expect([dispatched, finished]).toEqual([scheduled, scheduled]);
      if (job.status === 'in_progress') expect(dispatched).toBeGreaterThan(0);
      if (job.status === 'failed') expect(finished).toBe(dispatched);
      if (NOW - job.created_at_unix > 2 * 86_400) expect(final).toContain(job.status);
      else expect(['pending', 'in_progress', ...final]).toContain(job.status);

      const next = truth[i + 1];
      if (next) {
        const ordered =
          job.created_at_unix > next.created_at_unix || (job.created_at_unix === next.created_at_unix && job.id > next.id);
        expect(ordered).toBe(true);
      }
    }

    // The spread is realistic: all final statuses occur, and some jobs omit defaulted counters.
    const statuses = new Set(truth.map((job) => job.status));
    for (const status of final) expect(statuses).toContain(status);
    expect(truth.some((job) => !('retry_count' in job) || !('total_calls_finished' in job))).toBe(true);
    expect(truth.some((job) => job.whatsapp_params != null)).toBe(true);
  });

  it('same seed gives identical data, a different seed different data', async () => {
    const a = await startSimulator({ items: 300, seed: 7, now: () => NOW });
    const b = await startSimulator({ items: 300, seed: 7, now: () => NOW });
    const c = await startSimulator({ items: 300, seed: 8, now: () => NOW });
    try {
      expect(a.truth()).toEqual(b.truth());
      expect(a.mutate({ progress: 3, create: 2, delete: 2, amend: 2, revive: 2 })).toEqual(
        b.mutate({ progress: 3, create: 2, delete: 2, amend: 2, revive: 2 }),
      );
      expect(a.truth()).toEqual(b.truth());
      expect(ids(c.truth())).not.toEqual(ids(a.truth()));
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('same seed gives the same random fault sequence', async () => {
    const statuses = async (): Promise<number[]> => {
      const s = await startSimulator({ items: 20, seed: 3, faultRate: 0.5, faultKinds: ['429', '500', '503'] });
      try {
        const out: number[] = [];
        for (let i = 0; i < 30; i++) {
          const res = await get(s);
          await res.arrayBuffer();
          out.push(res.status);
        }
        return out;
      } finally {
        await s.close();
      }
    };
    const first = await statuses();
    expect(new Set(first).size).toBeGreaterThan(2);
    expect(await statuses()).toEqual(first);
  });

  it('generates 1,000,000 jobs, newest first', { timeout: 120_000 }, async () => {
    const s = await start({ items: 1_000_000 });
    const truth = s.truth();
    expect(truth).toHaveLength(1_000_000);
    const first = truth[0] as BatchCallInput;
    const last = truth[truth.length - 1] as BatchCallInput;
    expect(first.created_at_unix).toBeGreaterThanOrEqual(last.created_at_unix);
    expect((await page(s, { limit: 3 })).batch_calls).toEqual(truth.slice(0, 3));
  });

  it('drift: unknown fields and enums stay valid and in truth; invalid items are served but not in truth', async () => {
    const s = await start({ items: 400, drift: { unknownFieldRate: 0.3, unknownEnumRate: 0.3, invalidRate: 0.1 } });
    const truth = s.truth();
    const invalid = s.invalidItems();
    expect(invalid.length).toBeGreaterThan(10);
    expect(truth.length + invalid.length).toBe(400);
    for (const item of invalid) expect(batchCallSchema.safeParse(item).success).toBe(false);
    for (const item of truth) expect(batchCallSchema.safeParse(item).success).toBe(true);

    const known = new Set(['id', 'phone_number_id', 'phone_provider', 'whatsapp_params', 'name', 'agent_id', 'created_at_unix',
      'scheduled_time_unix', 'total_calls_dispatched', 'total_calls_scheduled', 'total_calls_finished', 'last_updated_at_unix',
      'status', 'retry_count', 'agent_name']);
    expect(truth.some((item) => Object.keys(item).some((k) => !known.has(k)))).toBe(true);
    expect(truth.some((item) => item.status === 'paused')).toBe(true);
    expect(truth.some((item) => item.phone_provider === 'plivo')).toBe(true);

    const served: unknown[] = await walk(s, 50);
    expect(served).toHaveLength(400);
    const invalidSet = new Set(invalid.map((item) => JSON.stringify(item)));
    expect(served.filter((item) => !invalidSet.has(JSON.stringify(item)))).toEqual(truth);
  });

  it('injectInvalid puts invalid items at the top of the list', async () => {
    const s = await start({ items: 20 });
    s.injectInvalid(3);
    const invalid = s.invalidItems();
    expect(invalid).toHaveLength(3);
    const top = (await page(s, { limit: 5 })).batch_calls;
    expect(new Set(top.slice(0, 3).map((item) => JSON.stringify(item)))).toEqual(new Set(invalid.map((item) => JSON.stringify(item))));
    for (const item of invalid) expect(batchCallSchema.safeParse(item).success).toBe(false);
    expect(s.truth()).toHaveLength(20);
    expect(await walk(s, 7)).toHaveLength(23);
  });
});

describe('simulator: faults', () => {
  it('429 carries Retry-After and a JSON body', async () => {
    const s = await start({ items: 10, retryAfterSeconds: 7 });
    s.injectFaults('429');
    const res = await get(s);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await res.json()).toEqual({ detail: 'Too Many Requests' });
    expect((await get(s)).status).toBe(200);
    expect(s.stats.byStatus).toMatchObject({ '429': 1, '200': 1 });
  });

  it('injected faults come in order, then normal pages resume', async () => {
    const s = await start({ items: 10 });
    s.injectFaults('500', '502', '503', '500', '502', '503');
    const seen: number[] = [];
    const types = new Set<string>();
    for (let i = 0; i < 7; i++) {
      const res = await get(s);
      seen.push(res.status);
      types.add((res.headers.get('content-type') ?? '').split(';')[0] as string);
      await res.text();
    }
    expect(seen).toEqual([500, 502, 503, 500, 502, 503, 200]);
    expect([...types].every((t) => t === 'application/json' || t === 'text/html')).toBe(true);
    expect(s.stats.byStatus).toMatchObject({ '500': 2, '502': 2, '503': 2, '200': 1 });
  });

  it('reset destroys the connection without a response', async () => {
    const s = await start({ items: 10 });
    s.injectFaults('reset');
    await expect(get(s)).rejects.toThrow();
    expect(s.stats.byStatus.reset).toBe(1);
    expect((await get(s)).status).toBe(200);
  });

  it('hang sends nothing and closes the socket after hangMs', async () => {
    const s = await start({ items: 10, hangMs: 200 });
    s.injectFaults('hang');
    await expect(get(s)).rejects.toThrow();
    expect(s.stats.byStatus.hang).toBe(1);
  });

  it('close() releases a hanging request', async () => {
    const s = await start({ items: 10 });
    s.injectFaults('hang');
    const pending = get(s);
    await vi.waitFor(() => expect(s.stats.byStatus.hang).toBe(1));
    await s.close();
    await expect(pending).rejects.toThrow();
  });

  it('truncate promises the full Content-Length but the body read fails', async () => {
    const s = await start({ items: 50 });
    s.injectFaults('truncate');
    const res = await get(s);
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(100);
    await expect(res.text()).rejects.toThrow();
    expect(s.stats.byStatus.truncate).toBe(1);
  });

  it('html answers 200 with a proxy page', async () => {
    const s = await start({ items: 10 });
    s.injectFaults('html');
    const res = await get(s);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toMatch(/<html/i);
  });

  it('garbage answers 200 application/json that is not JSON', async () => {
    const s = await start({ items: 10 });
    s.injectFaults('garbage', 'garbage', 'garbage');
    for (let i = 0; i < 3; i++) {
      const res = await get(s);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      const text = await res.text();
      expect(() => JSON.parse(text)).toThrow();
    }
  });

  it('random faults follow faultRate and faultKinds; setFaultRate changes it', async () => {
    const s = await start({ items: 10, faultRate: 1, faultKinds: ['503'] });
    for (let i = 0; i < 3; i++) {
      const res = await get(s);
      expect(res.status).toBe(503);
      await res.text();
    }
    s.setFaultRate(0);
    expect((await get(s)).status).toBe(200);
  });

  it('checks auth before faults and faults before validation', async () => {
    const s = await start({ items: 10 });
    s.injectFaults('500');
    expect((await get(s, {}, {})).status).toBe(401);
    const faulted = await get(s, { limit: 0 });
    expect(faulted.status).toBe(500);
    await faulted.text();
    expect((await get(s, { limit: 0 })).status).toBe(422);
  });

  it('counts requests, statuses and keys; resetStats clears them', async () => {
    const s = await start({ items: 10, apiKeys: [KEY, 'k2'] });
    const before = Date.now();
    await get(s);
    await get(s, {}, { 'x-api-key': 'k2' });
    await get(s, {}, {});
    expect(s.stats.requests).toBe(3);
    expect(s.stats.byStatus).toEqual({ '200': 2, '401': 1 });
    expect(s.stats.perKey).toEqual({ [KEY]: 1, k2: 1 });
    expect(s.stats.requestTimes).toHaveLength(3);
    expect(s.stats.requestTimes.every((t) => t >= before)).toBe(true);
    s.resetStats();
    expect(s.stats).toEqual({ requests: 0, byStatus: {}, requestTimes: [], perKey: {} });
  });
});

describe('simulator: rate limit', () => {
  it('answers 429 with Retry-After once the per-minute budget of a key is spent', async () => {
    const s = await start({ items: 10, apiKeys: [KEY, 'other'], rateLimit: { perMinute: 3, perHour: 100 } });
    for (let i = 0; i < 3; i++) expect((await get(s)).status).toBe(200);
    const limited = await get(s);
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await limited.json()).toEqual({ detail: 'Rate limit exceeded' });
    // Budgets are per key.
    expect((await get(s, {}, { 'x-api-key': 'other' })).status).toBe(200);
  });

  it('counts exact sliding windows of configurable length, with Retry-After rounded up and RateLimit headers on request', async () => {
    const s = await start({ items: 10, rateLimit: { perMinute: 2, minuteMs: 1500, perHour: 100, headers: true } });
    const first = await get(s);
    expect([first.headers.get('ratelimit-limit'), first.headers.get('ratelimit-remaining'), first.headers.get('ratelimit-reset')]).toEqual(['2', '1', '0']);
    const second = await get(s);
    expect(second.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(second.headers.get('ratelimit-reset'))).toBe(2);
    const limited = await get(s);
    expect(limited.status).toBe(429);
    // 1.5 s window, a little of it gone: rounded up to 2 s, never down to 1.
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    expect(s.stats.byStatus).toMatchObject({ '200': 2, '429': 1 });
  });

  it('enforces the per-hour budget too', async () => {
    const s = await start({ items: 10, rateLimit: { perMinute: 100, perHour: 2 } });
    await get(s);
    await get(s);
    const limited = await get(s);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(60);
  });
});

describe('simulator: mutations', () => {
  it('progress moves non-final jobs forward with a newer timestamp', async () => {
    const s = await start({ items: 2000 });
    const before = byId(s.truth());
    const result = s.mutate({ progress: 5 });
    expect(result.progressed).toHaveLength(5);
    const after = byId(s.truth());
    for (const id of result.progressed) {
      const old = before.get(id) as BatchCallInput;
      const now = after.get(id) as BatchCallInput;
      expect(STATUS_RANK[now.status]).toBeGreaterThan(STATUS_RANK[old.status] ?? -1);
      expect(now.last_updated_at_unix).toBeGreaterThan(old.last_updated_at_unix);
      expect(now.total_calls_dispatched ?? 0).toBeGreaterThanOrEqual(old.total_calls_dispatched ?? 0);
      expect(now.total_calls_finished ?? 0).toBeGreaterThanOrEqual(old.total_calls_finished ?? 0);
      expect(s.versions()).toContainEqual(old);
      expect(s.versions()).toContainEqual(now);
    }
    expect(await walk(s, 100)).toEqual(s.truth());
  });

  it('progress with more than available progresses what there is', async () => {
    const s = await start({ items: 300 });
    const open = s.truth().filter((job) => !(FINAL_STATUSES as readonly string[]).includes(job.status));
    expect(s.mutate({ progress: 10_000 }).progressed.sort()).toEqual(ids(open).sort());
  });

  it('create adds pending jobs at the top', async () => {
    const s = await start({ items: 100 });
    const result = s.mutate({ create: 3 });
    expect(result.created).toHaveLength(3);
    const top = (await page(s, { limit: 3 })).batch_calls;
    expect(new Set(ids(top))).toEqual(new Set(result.created));
    for (const job of top) expect(job).toMatchObject({ status: 'pending', created_at_unix: NOW });
    expect(s.truth()).toHaveLength(103);
  });

  it('delete removes jobs from the list and truth, but not from versions', async () => {
    const s = await start({ items: 100 });
    const before = byId(s.truth());
    const result = s.mutate({ delete: 4 });
    expect(result.deleted).toHaveLength(4);
    const walked = new Set(ids(await walk(s, 9)));
    for (const id of result.deleted) {
      expect(walked.has(id)).toBe(false);
      expect(s.versions()).toContainEqual(before.get(id));
    }
    expect(s.truth()).toHaveLength(96);
  });

  it('amend changes content without touching last_updated_at_unix', async () => {
    const s = await start({ items: 100 });
    const before = byId(s.truth());
    const result = s.mutate({ amend: 3 });
    expect(result.amended).toHaveLength(3);
    const served = byId(await walk(s, 100));
    for (const id of result.amended) {
      const old = before.get(id) as BatchCallInput;
      const now = served.get(id) as BatchCallInput;
      expect(now.last_updated_at_unix).toBe(old.last_updated_at_unix);
      expect(now).not.toEqual(old);
      expect(s.versions()).toContainEqual(now);
      expect(s.versions()).not.toContainEqual(old);
    }
    expect([...served.values()]).toEqual(s.truth());
  });

  it('lagging serves the previous version once, on the next walk only', async () => {
    const s = await start({ items: 30 });
    expect(s.mutate({ lagging: 2 }).lagging).toEqual([]); // nobody has two versions yet
    const created = s.mutate({ create: 4 }).created;
    expect(s.mutate({ progress: 4 }).progressed.filter((id) => created.includes(id)).length).toBeGreaterThan(0);
    const truthBefore = s.truth();
    const result = s.mutate({ lagging: 2 });
    expect(result.lagging).toHaveLength(2);
    expect(s.truth()).toEqual(truthBefore);

    const lagged = byId(await walk(s, 10));
    for (const id of result.lagging) {
      const served = lagged.get(id) as BatchCallInput;
      const current = byId(s.truth()).get(id) as BatchCallInput;
      expect(served.last_updated_at_unix).toBeLessThan(current.last_updated_at_unix);
      expect(s.versions()).toContainEqual(served);
    }
    expect(await walk(s, 10)).toEqual(s.truth());
  });

  it('revive brings final jobs back to in_progress with one more retry', async () => {
    const s = await start({ items: 200 });
    const before = byId(s.truth());
    const result = s.mutate({ revive: 3 });
    expect(result.revived).toHaveLength(3);
    const after = byId(await walk(s, 50));
    for (const id of result.revived) {
      const old = before.get(id) as BatchCallInput;
      const now = after.get(id) as BatchCallInput;
      expect(FINAL_STATUSES as readonly string[]).toContain(old.status);
      expect(now.status).toBe('in_progress');
      expect(now.retry_count).toBe((old.retry_count ?? 0) + 1);
      expect(now.last_updated_at_unix).toBeGreaterThan(old.last_updated_at_unix);
      expect(batchCallSchema.safeParse(now).success).toBe(true);
    }
  });

  it('a job created mid-walk does not shift pages', async () => {
    const s = await start({ items: 100 });
    const original = ids(s.truth());
    const first = await page(s, { limit: 7 });
    s.mutate({ create: 5 });
    const rest: BatchCallInput[] = [];
    let cursor = first.next_doc;
    while (cursor) {
      const body = await page(s, { limit: 7, last_doc: cursor });
      rest.push(...body.batch_calls);
      cursor = body.next_doc;
    }
    expect(ids([...first.batch_calls, ...rest])).toEqual(original);
  });

  it('jobs deleted mid-walk (even the cursor one) do not break the walk', async () => {
    const s = await start({ items: 100 });
    const first = await page(s, { limit: 10 });
    const deleted = new Set(s.mutate({ delete: 60 }).deleted);
    const remaining = ids(s.truth());
    const rest: BatchCallInput[] = [];
    let cursor = first.next_doc;
    while (cursor) {
      const body = await page(s, { limit: 10, last_doc: cursor });
      rest.push(...body.batch_calls);
      cursor = body.next_doc;
    }
    const received = ids([...first.batch_calls, ...rest]);
    expect(new Set(received).size).toBe(received.length);
    for (const id of remaining) expect(received).toContain(id);
    for (const job of rest) expect(deleted.has(job.id)).toBe(false);
  });
});

describe('simulator: cursor sabotage', () => {
  it('repeat-previous hands back the cursor the client just sent, every time', async () => {
    const s = await start({ items: 50 });
    s.sabotageCursor('repeat-previous');
    const p1 = await page(s, { limit: 10 });
    const p2 = await page(s, { limit: 10, last_doc: p1.next_doc });
    expect(p2).toMatchObject({ next_doc: p1.next_doc, has_more: true });
    const again = await page(s, { limit: 10, last_doc: p2.next_doc });
    expect(again.next_doc).toBe(p1.next_doc);
    // A new walk is clean.
    expect(await walk(s, 10)).toEqual(s.truth());
  });

  it('cycle-to-first hands back page 1 cursor on page 3', async () => {
    const s = await start({ items: 50 });
    s.sabotageCursor('cycle-to-first');
    const p1 = await page(s, { limit: 10 });
    const p2 = await page(s, { limit: 10, last_doc: p1.next_doc });
    expect(p2.next_doc).not.toBe(p1.next_doc);
    const p3 = await page(s, { limit: 10, last_doc: p2.next_doc });
    expect(p3).toMatchObject({ next_doc: p1.next_doc, has_more: true });
    // Following it loops: page 2 again, then page 1's cursor again.
    const loop2 = await page(s, { limit: 10, last_doc: p3.next_doc });
    expect(loop2).toEqual(p2);
    expect((await page(s, { limit: 10, last_doc: loop2.next_doc })).next_doc).toBe(p1.next_doc);
  });

  it('empty-string sends next_doc "" with has_more true', async () => {
    const s = await start({ items: 50 });
    s.sabotageCursor('empty-string');
    expect(await page(s, { limit: 10 })).toMatchObject({ next_doc: '', has_more: true });
    expect((await page(s, { limit: 10 })).next_doc).toBeTruthy();
  });

  it('missing-with-has-more sends next_doc null with has_more true', async () => {
    const s = await start({ items: 50 });
    s.sabotageCursor('missing-with-has-more');
    expect(await page(s, { limit: 10 })).toMatchObject({ next_doc: null, has_more: true });
    expect((await page(s, { limit: 10 })).next_doc).toBeTruthy();
  });

  it('waits for a page with more results', async () => {
    const s = await start({ items: 5 });
    s.sabotageCursor('empty-string');
    expect(await page(s, { limit: 10 })).toMatchObject({ next_doc: null, has_more: false });
    expect(await page(s, { limit: 2 })).toMatchObject({ next_doc: '', has_more: true });
  });
});

describe('simulator: hostile order and cursors', () => {
  const rejected = (input: string, msg: string) => ({ detail: [{ type: 'value_error', loc: ['query', 'last_doc'], msg, input }] });

  /** The rest of a walk whose first page the caller already has. */
  async function walkFrom(s: Simulator, cursor: string | null, limit: number): Promise<BatchCallInput[]> {
    const items: BatchCallInput[] = [];
    while (cursor) {
      const body = await page(s, { limit, last_doc: cursor });
      items.push(...body.batch_calls);
      cursor = body.next_doc;
    }
    return items;
  }

  /** Page 1, then every open job progressed one second later, then the rest of the walk. */
  async function progressMidWalk(order: 'created' | 'updated') {
    let now = NOW;
    const s = await start({ items: 3000, order, now: () => now });
    const first = await page(s, { limit: 5 });
    now = NOW + 60;
    const progressed = s.mutate({ progress: 10_000 }).progressed;
    const served = new Set(ids(first.batch_calls));
    const ahead = progressed.filter((id) => !served.has(id));
    expect(ahead.length).toBeGreaterThan(0);
    const rest = await walkFrom(s, first.next_doc, 50);
    return { s, progressed, ahead, walked: [...first.batch_calls, ...rest] };
  }

  const byUpdatedDesc = (a: BatchCallInput, b: BatchCallInput) =>
    b.last_updated_at_unix - a.last_updated_at_unix || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

  it("order 'updated': a job progressed while a walk is under way never reaches that walk, and the next walk lists it first", async () => {
    const { s, progressed, ahead, walked } = await progressMidWalk('updated');
    const walkedIds = new Set(ids(walked));
    for (const id of ahead) expect(walkedIds.has(id)).toBe(false);
    // Nothing else is lost: the walk saw every job but those.
    const missed = new Set(ahead);
    expect(new Set(walkedIds)).toEqual(new Set(ids(s.truth()).filter((id) => !missed.has(id as string))));

    const next = await walk(s, 50);
    expect(new Set(ids(next.slice(0, progressed.length)))).toEqual(new Set(progressed));
    for (const job of next.slice(0, progressed.length)) expect(job.last_updated_at_unix).toBe(NOW + 60);
    expect(next).toEqual(s.truth());
  });

  it("order 'created': the same walk lists the progressed job where it was, with its new version", async () => {
    const { s, ahead, walked } = await progressMidWalk('created');
    const served = byId(walked);
    for (const id of ahead) expect(served.get(id)?.last_updated_at_unix).toBe(NOW + 60);
    expect(walked).toHaveLength(3000);
    expect(walked.map((job) => job.id)).toEqual(ids(s.truth()));
  });

  it("order 'updated': truth() and walks are last update first; amends stay put, new jobs and revived ones go to the top", async () => {
    let now = NOW;
    const s = await start({ items: 500, order: 'updated', now: () => now });
    const sorted = (items: BatchCallInput[]) => [...items].sort(byUpdatedDesc);
    expect(s.truth()).toEqual(sorted(s.truth()));
    expect(await walk(s, 37)).toEqual(s.truth());

    const before = ids(s.truth());
    expect(s.mutate({ amend: 20 }).amended).toHaveLength(20);
    expect(ids(s.truth())).toEqual(before);

    now = NOW + 60;
    const revived = s.mutate({ revive: 3 }).revived;
    now = NOW + 120;
    const created = s.mutate({ create: 2 }).created;
    const top = ids((await page(s, { limit: 5 })).batch_calls);
    expect(new Set(top.slice(0, 2))).toEqual(new Set(created));
    expect(new Set(top.slice(2))).toEqual(new Set(revived));
    expect(s.truth()).toEqual(sorted(s.truth()));
  });

  it('setOrder re-sorts the same jobs at run time, and back again', async () => {
    const s = await start({ items: 400 });
    const byCreation = s.truth();
    s.setOrder('updated');
    expect(s.truth()).toEqual([...byCreation].sort(byUpdatedDesc));
    expect(await walk(s, 50)).toEqual(s.truth());
    s.setOrder('created');
    expect(s.truth()).toEqual(byCreation);
    expect(() => s.setOrder('oldest' as 'created')).toThrow(RangeError);
  });

  it('one seed makes the same jobs and the same mutations in either order', async () => {
    const spec = { progress: 7, revive: 5, amend: 3, delete: 2, create: 2 };
    const byCreation = await startSimulator({ items: 600, seed: 9, now: () => NOW });
    const byUpdate = await startSimulator({ items: 600, seed: 9, now: () => NOW, order: 'updated' });
    try {
      const first = byCreation.mutate(spec);
      expect(byUpdate.mutate(spec)).toEqual(first);
      expect(first.revived).toHaveLength(5);
      byUpdate.setOrder('created');
      expect(byUpdate.truth()).toEqual(byCreation.truth());
    } finally {
      await byCreation.close();
      await byUpdate.close();
    }
  });

  it("order 'updated' keeps the list sorted through many mutations of a larger workspace", async () => {
    let now = NOW;
    const s = await start({ items: 20_000, order: 'updated', now: () => now });
    for (let round = 1; round <= 10; round++) {
      now = NOW + round;
      s.mutate({ progress: 10, revive: 20, amend: 5, create: 3, delete: 2 });
    }
    const truth = s.truth();
    expect(truth).toEqual([...truth].sort(byUpdatedDesc));
    expect(await walk(s, 500)).toEqual(truth);
  });

  it('a cursor used within cursorTtlMs is accepted; one used later gets 422 "cursor expired"', async () => {
    let ms = 5_000_000;
    const s = await start({ items: 50, cursorTtlMs: 1000, nowMs: () => ms });
    const first = await page(s, { limit: 10 });
    ms += 1000;
    const second = await page(s, { limit: 10, last_doc: first.next_doc });
    expect(second.batch_calls).toEqual(s.truth().slice(10, 20));

    ms += 1001;
    const stale = second.next_doc as string;
    const res = await get(s, { limit: 10, last_doc: stale });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual(rejected(stale, 'Value error, cursor expired'));
    expect(s.stats.byStatus['422']).toBe(1);
    expect(await walk(s, 10)).toEqual(s.truth());
  });

  it('setCursorTtl applies at once to cursors issued under a TTL; cursors issued without one never expire', async () => {
    let ms = 5_000_000;
    const s = await start({ items: 50, nowMs: () => ms });
    const unstamped = (await page(s, { limit: 10 })).next_doc as string;
    s.setCursorTtl(1000);
    const stamped = (await page(s, { limit: 10 })).next_doc as string;
    expect(stamped).not.toBe(unstamped);
    ms += 5000;
    expect((await get(s, { limit: 10, last_doc: unstamped })).status).toBe(200);
    const res = await get(s, { limit: 10, last_doc: stamped });
    expect(await res.json()).toEqual(rejected(stamped, 'Value error, cursor expired'));
    s.setCursorTtl(null);
    expect((await get(s, { limit: 10, last_doc: stamped })).status).toBe(200);
    expect(() => s.setCursorTtl(-1)).toThrow(RangeError);
  });

  it('invalidateCursors() turns every cursor handed out before into 422 "invalid cursor"; new ones work', async () => {
    const s = await start({ items: 50 });
    const old = (await page(s, { limit: 10 })).next_doc as string;
    expect((await get(s, { limit: 10, last_doc: old })).status).toBe(200);
    s.invalidateCursors();
    const res = await get(s, { limit: 10, last_doc: old });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual(rejected(old, 'Value error, invalid cursor'));
    expect(await walk(s, 10)).toEqual(s.truth());
  });

  it('POST /_sim/invalidate-cursors does the same over HTTP: 204, no key needed, not counted', async () => {
    const s = await start({ items: 50 });
    const old = (await page(s, { limit: 10 })).next_doc as string;
    s.resetStats();
    const control = await fetch(`${s.url}/_sim/invalidate-cursors`, { method: 'POST' });
    expect(control.status).toBe(204);
    expect(await control.text()).toBe('');
    expect(s.stats.requests).toBe(0);
    expect((await fetch(`${s.url}/_sim/invalidate-cursors`)).status).toBe(405);

    const res = await get(s, { limit: 10, last_doc: old });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual(rejected(old, 'Value error, invalid cursor'));
    expect(s.stats).toMatchObject({ requests: 1, byStatus: { '422': 1 } });
    expect(await walk(s, 10)).toEqual(s.truth());
  });

  it('a cursor whose issue time was edited is rejected as invalid, not renewed', async () => {
    let ms = 5_000_000;
    const s = await start({ items: 50, cursorTtlMs: 1000, nowMs: () => ms });
    const cursor = (await page(s, { limit: 10 })).next_doc as string;
    const [payload, mac] = cursor.split('.') as [string, string];
    const plain = Buffer.from(payload, 'base64url').toString('utf8');
    expect(plain).toMatch(/^i5000000:/);
    ms += 5000;
    const renewed = `${Buffer.from(plain.replace(/^i\d+:/, `i${ms}:`), 'utf8').toString('base64url')}.${mac}`;
    for (const [sent, msg] of [
      [renewed, 'Value error, invalid cursor'],
      [cursor, 'Value error, cursor expired'],
    ] as const) {
      const res = await get(s, { limit: 10, last_doc: sent });
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual(rejected(sent, msg));
    }
  });
});
