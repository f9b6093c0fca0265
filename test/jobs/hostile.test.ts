import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.ts';
import { runSync } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { item, page, startPageServer, type CraftedResponse } from '../helpers/page-server.ts';
import { useTestDatabase } from '../helpers/use.ts';

const WS = 'hostile';
const database = useTestDatabase();
let server: Awaited<ReturnType<typeof startPageServer>> | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function syncAgainst(respond: (n: number, lastDoc: string | null) => CraftedResponse, overrides: Partial<Config> = {}) {
  server = await startPageServer(respond);
  const config = testConfig({ baseUrl: server.url, maxAttempts: 3, ...overrides });
  return runSync({ config, database, log: silentLogger }, { workspace: WS, apiKey: 'k', kind: 'full' });
}

const ids = async () => (await database.sql<{ id: string }[]>`select id from batch_calls order by id`).map((r) => r.id);

describe('hostile responses', () => {
  it('retries a 200 with an HTML body, then fails the run naming it', async () => {
    const run = syncAgainst(() => ({ contentType: 'text/html', body: '<html><body>502 Bad Gateway</body></html>' }));
    await expect(run).rejects.toThrow('API returned an unusable body: expected JSON, got text/html (gave up after 3 attempts)');
    expect(server!.requests).toBe(3);
    expect(await ids()).toEqual([]);
  });

  it('succeeds when the HTML page was a passing proxy error', async () => {
    const summary = await syncAgainst((n) => (n === 0 ? { contentType: 'text/html', body: '<html>oops</html>' } : { body: page([item('a')], null) }));
    expect(summary).toMatchObject({ status: 'succeeded', retries: 1 });
    expect(await ids()).toEqual(['a']);
  });

  it('refuses a body larger than the configured maximum, unread and without retrying', async () => {
    const huge = page([item('a', { name: 'x'.repeat(20_000) })], null);
    await expect(syncAgainst(() => ({ body: huge }), { maxBodyBytes: 10_000 })).rejects.toThrow(
      'API response body exceeds 10000 bytes (THREETONE_MAX_BODY_BYTES); refusing to read it',
    );
    expect(server!.requests).toBe(1);
    const [run] = await database.sql`select status, error from sync_runs`;
    expect(run!.status).toBe('failed');
  });

  it('rejects an item nested absurdly deep and lands the rest of its page', async () => {
    // Built as text: JSON.stringify itself overflows the stack at this depth (JSON.parse does not).
    const deep = `${'['.repeat(20_000)}"bottom"${']'.repeat(20_000)}`;
    const body = page([item('a'), item('deep', { extra: 'DEEP' }), item('b')], null).replace('"DEEP"', deep);
    const summary = await syncAgainst(() => ({ body }));
    expect(summary).toMatchObject({ status: 'succeeded', rejected: 1 });
    expect(await ids()).toEqual(['a', 'b']);
    const [rejected] = await database.sql`select item_id, reason, length(raw) as len from rejected_records`;
    expect(rejected).toMatchObject({ item_id: 'deep' });
    expect(rejected!.reason).toMatch(/nested deeper than 64 levels/);
  });

  it('stores huge fields and strings full of SQL and control characters verbatim', async () => {
    const name = `'); DROP TABLE batch_calls; -- \u0001\u0007\u001b[31m\t\r\n "quoted" \\ ${'€'.repeat(200_000)}`;
    const summary = await syncAgainst(() => ({ body: page([item('a', { name, notes: { 'k"ey': "v'al" } })], null) }));
    expect(summary.status).toBe('succeeded');
    const [row] = await database.sql`select name, raw from batch_calls`;
    expect(row!.name).toBe(name);
    expect((row!.raw as { notes: unknown }).notes).toEqual({ 'k"ey': "v'al" });
  });

  it('collapses duplicate ids within a page and across pages of one walk', async () => {
    const summary = await syncAgainst((_n, lastDoc) =>
      lastDoc === null
        ? { body: page([item('a'), item('a'), item('b', { last_updated_at_unix: 1_790_000_100 }), item('b', { last_updated_at_unix: 1_790_000_200, status: 'failed' })], 'p2') }
        : { body: page([item('a'), item('b', { last_updated_at_unix: 1_790_000_150 })], null) },
    );
    expect(summary).toMatchObject({ status: 'succeeded', itemsSeen: 6, rowsInserted: 2 });
    const current = await database.sql`select id, last_updated_at_unix::int as ts, status from batch_calls order by id`;
    expect(current.map((r) => [r.id, r.ts, r.status])).toEqual([
      ['a', 1_790_000_100, 'completed'],
      ['b', 1_790_000_200, 'failed'],
    ]);
    const history = await database.sql`select id, last_updated_at_unix::int as ts from batch_call_history order by id, ts`;
    expect(history.map((r) => `${r.id}@${r.ts}`)).toEqual(['a@1790000100', 'b@1790000100', 'b@1790000150', 'b@1790000200']);
  });

  it('carries on past a page whose items are all invalid', async () => {
    const summary = await syncAgainst((_n, lastDoc) =>
      lastDoc === null ? { body: page([{ id: 1 }, { nope: true }, 'text', null], 'p2') } : { body: page([item('a')], null) },
    );
    expect(summary).toMatchObject({ status: 'succeeded', pages: 2, rejected: 4 });
    expect(await ids()).toEqual(['a']);
    const [{ n }] = (await database.sql`select count(*)::int as n from rejected_records`) as unknown as [{ n: number }];
    expect(n).toBe(4);
  });

  it('fails with a clear message on a page that is not the API\'s shape, after retrying', async () => {
    await expect(syncAgainst(() => ({ body: JSON.stringify({ items: [] }) }))).rejects.toThrow(
      'API returned an unusable body: not a page: batch_calls Invalid input: expected array, received undefined (gave up after 3 attempts)',
    );
  });
});
