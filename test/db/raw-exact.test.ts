import { afterEach, describe, expect, it } from 'vitest';
import { runSync } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { item, page, startPageServer } from '../helpers/page-server.ts';
import { useTestDatabase } from '../helpers/use.ts';

/**
 * `raw` is the item as the API sent it, number for number: JSON.parse would turn 1e400 into Infinity (stored as
 * null) and round a 30-digit integer, while Postgres' jsonb numeric holds both exactly.
 */
const WS = 'exact';
const database = useTestDatabase();
let server: Awaited<ReturnType<typeof startPageServer>> | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const EXTRA = '{"huge": 1e400, "digits": 123456789012345678901234567890, "float": 0.1, "tiny": -1.5e-30, "list": [1.0, 2e2, 9007199254740993]}';
/** The items as text, the extra field spliced in where a placeholder was. */
const body = (items: Record<string, unknown>[]) => page(items, null).replaceAll('"EXTRA"', EXTRA);

async function sync(text: string) {
  server ??= await startPageServer(() => ({ body: text }));
  const config = testConfig({ baseUrl: server.url, maxAttempts: 1 });
  return runSync({ config, database, log: silentLogger }, { workspace: WS, apiKey: 'k', kind: 'full' });
}

describe('raw as received', () => {
  it('keeps numbers JSON.parse cannot hold in both tables, and a resync of the same page changes nothing', async () => {
    const text = body([item('a', { extra: 'EXTRA' }), item('b')]);
    expect((await sync(text)).status).toBe('succeeded');

    for (const table of ['batch_calls', 'batch_call_history'] as const) {
      const [row] = await database.sql<{ raw: string; huge: string; digits: string; float: string; list: string }[]>`
        select raw::text as raw, raw->'extra'->>'huge' as huge, raw->'extra'->>'digits' as digits,
               raw->'extra'->>'float' as float, raw->'extra'->'list' #>> '{}' as list
        from ${database.sql(table)} where id = 'a'`;
      expect(row!.huge, table).toBe(`1${'0'.repeat(400)}`);
      expect(row!.digits, table).toBe('123456789012345678901234567890');
      expect(row!.float, table).toBe('0.1');
      expect(row!.raw, table).toContain('"tiny": -0.0000000000000000000000000000015');
      expect(row!.list, table).toBe('[1.0, 200, 9007199254740993]');
      expect(row!.raw, table).toContain('"status": "completed"');
    }

    const again = await sync(text);
    expect(again).toMatchObject({ status: 'succeeded', versionsAdded: 0, versionsAmended: 0, rowsInserted: 0, rowsUpdated: 0 });
  });

  it('still rejects an item whose typed field JSON.parse made Infinity, and stores the rest of its page', async () => {
    const text = body([item('a'), item('bad', { total_calls_finished: 'HUGE' }), item('b', { extra: 'EXTRA' })]).replace('"HUGE"', '1e400');
    const summary = await sync(text);
    expect(summary).toMatchObject({ status: 'succeeded', rejected: 1 });
    expect((await database.sql`select id from batch_calls order by id`).map((r) => r.id)).toEqual(['a', 'b']);
    const [rejected] = await database.sql`select item_id from rejected_records`;
    expect(rejected!.item_id).toBe('bad');
    const [b] = await database.sql`select raw->'extra'->>'digits' as digits from batch_calls where id = 'b'`;
    expect(b!.digits).toBe('123456789012345678901234567890');
  });

  it('keeps the source of every item of a page written with odd but valid JSON', async () => {
    // Whitespace everywhere, the envelope key inside strings and nested objects, and escapes in keys and strings.
    const items = [item('a', { extra: 'EXTRA' }), item('b', { note: 'a "batch_calls": [ inside ] \\ string', nested: { batch_calls: [1, 2] } })];
    const text = `\n { "next_doc" : null ,\r\n "decoy": {"batch_calls": [{"id": "decoy"}]},\t"batch\\u005fcalls" :\n [ ${items
      .map((i) => JSON.stringify(i, null, 2))
      .join(' ,\n ')} ] , "has_more": false }  `.replaceAll('"EXTRA"', EXTRA);
    expect((await sync(text)).status).toBe('succeeded');
    const rows = await database.sql<{ id: string; digits: string | null; note: string | null }[]>`
      select id, raw->'extra'->>'digits' as digits, raw->>'note' as note from batch_call_history order by id`;
    expect(rows).toEqual([
      { id: 'a', digits: '123456789012345678901234567890', note: null },
      { id: 'b', digits: null, note: 'a "batch_calls": [ inside ] \\ string' },
    ]);
  });
});
