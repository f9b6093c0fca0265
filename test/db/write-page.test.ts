import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { validateItems } from '../../src/pages/validate.ts';
import { batchCalls } from '../../src/resources/batch-calls.ts';
import { toPageRows } from '../../src/pages/page-rows.ts';
import { finishRun } from '../../src/db/runs/finish-run.ts';
import type { RunOwner } from '../../src/db/runs/run-owner.ts';
import { writePage, type PageWrite, type PageWriteResult } from '../../src/db/write-page.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { ownRun } from '../helpers/own-run.ts';

let database: TestDatabase;
let owner: RunOwner;
let release: (() => Promise<void>) | undefined;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await release?.();
  await database.drop();
});
beforeEach(async () => {
  await release?.();
  await database.sql`truncate batch_calls, batch_call_history, rejected_records, sync_runs cascade`;
  ({ owner, release } = await ownRun(database, 'w'));
});

function job(id: string, ts: number, extra: Record<string, unknown> = {}) {
  return {
    id,
    name: `job ${id}`,
    agent_id: 'ag_1',
    agent_name: 'Priya',
    created_at_unix: 1_700_000_000,
    scheduled_time_unix: 1_700_000_060,
    last_updated_at_unix: ts,
    status: 'in_progress',
    total_calls_scheduled: 10,
    total_calls_dispatched: 5,
    total_calls_finished: 2,
    ...extra,
  };
}

/** The row counts of one page's write (undeletes and refused items are asserted where they happen). */
async function write(items: unknown[], page = 1): Promise<Omit<PageWriteResult, 'undeleted' | 'refused' | 'counters'>> {
  const { undeleted: _u, refused: _r, counters: _c, ...counts } = await writeFull(items, page);
  return counts;
}

async function writeFull(items: unknown[], page = 1): Promise<PageWriteResult> {
  const { valid, rejected } = validateItems(batchCalls, items);
  const listedIds = [...valid.map((v) => v.item.id), ...rejected.flatMap((r) => (r.itemId === null ? [] : [r.itemId]))];
  const w: PageWrite = { resource: batchCalls, owner, page, rows: toPageRows(batchCalls, valid), rejected, itemsSeen: items.length, nextCursor: null, listedIds, recordSeen: false, requests: 0, retries: 0 };
  return writePage(database.sql, w);
}

async function current(id: string) {
  const [row] = await database.sql`select * from batch_calls where workspace = 'w' and id = ${id}`;
  return row;
}

async function historyOf(id: string) {
  return database.sql`select last_updated_at_unix::int as ts, total_calls_finished::int as finished, amended_at from batch_call_history where id = ${id} order by 1`;
}

describe('writePage', () => {
  it('stores every field under its API name, with raw and timestamptz twins', async () => {
    const whatsapp_params = { whatsapp_call_permission_request_template_name: 't', whatsapp_call_permission_request_template_language_code: 'en' };
    const item = job('a', 1_700_000_500, { phone_provider: 'twilio', whatsapp_params, extra_field: [1] });
    expect(await write([item])).toEqual({ versionsAdded: 1, versionsAmended: 0, rowsInserted: 1, rowsUpdated: 0 });
    const row = await current('a');
    expect(row).toMatchObject({
      id: 'a',
      name: 'job a',
      phone_provider: 'twilio',
      phone_number_id: null,
      status: 'in_progress',
      total_calls_finished: '2',
      retry_count: '0',
      whatsapp_params,
      raw: item,
      deleted_at: null,
    });
    expect((row!.last_updated_at as Date).toISOString()).toBe(new Date(1_700_000_500_000).toISOString());
    expect((row!.created_at as Date).toISOString()).toBe(new Date(1_700_000_000_000).toISOString());
  });

  it('writes nothing for the same version twice', async () => {
    await write([job('a', 100)]);
    expect(await write([job('a', 100)])).toEqual({ versionsAdded: 0, versionsAmended: 0, rowsInserted: 0, rowsUpdated: 0 });
    expect(await historyOf('a')).toHaveLength(1);
  });

  it('moves forward on a newer version and keeps both in history', async () => {
    await write([job('a', 100)]);
    expect(await write([job('a', 200, { total_calls_finished: 5 })])).toEqual({ versionsAdded: 1, versionsAmended: 0, rowsInserted: 0, rowsUpdated: 1 });
    expect(Number((await current('a'))!.last_updated_at_unix)).toBe(200);
    expect((await historyOf('a')).map((h) => h.ts)).toEqual([100, 200]);
  });

  it('never lets an older version overwrite a newer one, but records it in history', async () => {
    await write([job('a', 200, { total_calls_finished: 5 })]);
    expect(await write([job('a', 100)])).toEqual({ versionsAdded: 1, versionsAmended: 0, rowsInserted: 0, rowsUpdated: 0 });
    const row = await current('a');
    expect(Number(row!.last_updated_at_unix)).toBe(200);
    expect(Number(row!.total_calls_finished)).toBe(5);
  });

  it('amends a version whose content changed without a new timestamp, in both tables', async () => {
    await write([job('a', 100)]);
    expect(await write([job('a', 100, { total_calls_finished: 3 })])).toEqual({ versionsAdded: 0, versionsAmended: 1, rowsInserted: 0, rowsUpdated: 1 });
    expect(Number((await current('a'))!.total_calls_finished)).toBe(3);
    const history = await historyOf('a');
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ finished: 3 });
    expect(history[0]!.amended_at).toBeInstanceOf(Date);
  });

  it('collapses duplicate ids within a page: newest to batch_calls, each version to history', async () => {
    const result = await write([job('a', 100), job('a', 300), job('a', 200), job('a', 300)]);
    expect(result).toEqual({ versionsAdded: 3, versionsAmended: 0, rowsInserted: 1, rowsUpdated: 0 });
    expect(Number((await current('a'))!.last_updated_at_unix)).toBe(300);
  });

  it('stores rejected items verbatim with the run and reason, and advances the run', async () => {
    const bad = { name: "x'); drop table batch_calls;--", weird: '\u0000' };
    await write([job('a', 100), bad, 7], 3);
    const rejected = await database.sql`select run_id::int, page, item_id, reason, raw from rejected_records order by id`;
    expect(rejected.map((r) => ({ ...r }))).toEqual([
      { run_id: owner.runId, page: 3, item_id: null, reason: 'id: Invalid input: expected string, received undefined; agent_id: Invalid input: expected string, received undefined; created_at_unix: Invalid input: expected number, received undefined; and 4 more', raw: JSON.stringify(bad) },
      { run_id: owner.runId, page: 3, item_id: null, reason: 'item: Invalid input: expected object, received number', raw: '7' },
    ]);
    const [run] = await database.sql`select pages, items_seen, rejected, versions_added, rows_inserted from sync_runs where id = ${owner.runId}`;
    expect({ ...run }).toEqual({ pages: 1, items_seen: 3, rejected: 2, versions_added: 1, rows_inserted: 1 });
  });

  it('keeps one rejected row per item and reason, counting how often it came back', async () => {
    const bad = job('bad', 100, { created_at_unix: 'yesterday' });
    await write([bad, { no: 'id' }], 1);
    await write([bad, { no: 'id' }], 2);
    await write([bad, bad], 3);
    const rows = await database.sql`select item_id, page, times_seen, first_seen_at <= last_seen_at as ordered from rejected_records order by item_id nulls last`;
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { item_id: 'bad', page: 3, times_seen: 3, ordered: true },
      { item_id: null, page: 2, times_seen: 2, ordered: true },
    ]);
  });

  it('sets aside only the items Postgres refuses and stores the rest of the page', async () => {
    // Each passes its own validation here by going straight to the write: the last line of defence.
    const rows = toPageRows(batchCalls, validateItems(batchCalls, [job('ok1', 100), job('ok2', 100)]).valid);
    const poison = { ...rows[0]!, id: 'poison', created_at_unix: 99_999_999_999_999, raw: { id: 'poison' } };
    // Random, so that Postgres cannot compress it into a btree entry.
    const longId = { ...rows[0]!, id: randomBytes(7_500).toString('base64'), raw: { id: 'long' } };
    const written = await writePage(database.sql, { resource: batchCalls, owner, page: 1, rows: [rows[0]!, poison, longId, rows[1]!], rejected: [], itemsSeen: 4, nextCursor: 'c2', listedIds: [], recordSeen: false, requests: 0, retries: 0 });
    expect(written).toMatchObject({ versionsAdded: 2, rowsInserted: 2 });
    expect(written.refused.map((r) => r.reason)).toEqual([
      expect.stringMatching(/^Postgres refused it \(22008: timestamp out of range/),
      expect.stringMatching(/^Postgres refused it \(54000: index row/),
    ]);
    expect((await database.sql`select id from batch_calls order by id`).map((r) => r.id)).toEqual(['ok1', 'ok2']);
    const rejected = await database.sql`select item_id, reason from rejected_records order by id`;
    expect(rejected).toHaveLength(2);
    const [run] = await database.sql`select pages, rejected, next_cursor from sync_runs where id = ${owner.runId}`;
    expect({ ...run }).toEqual({ pages: 1, rejected: 2, next_cursor: 'c2' });
  });

  it('leaves the mark of a reconciliation that finished after this attempt opened: its page may have been listed before the delete', async () => {
    await write([job('a', 100), job('b', 100)]);
    await database.sql`update batch_calls set deleted_at = ${owner.openedAt}::timestamptz + interval '1 second' where id = 'a'`;
    const again = await writeFull([job('a', 100), job('b', 100)], 2);
    expect(again.undeleted).toBe(0);
    expect((await current('a'))!.deleted_at).not.toBeNull();
  });

  it('clears deleted_at of a job a page lists again, in the same transaction, without touching live rows', async () => {
    await write([job('a', 100), job('b', 100)]);
    // Marked by a reconciliation that finished before this attempt opened.
    await database.sql`update batch_calls set deleted_at = ${owner.openedAt}::timestamptz - interval '1 second' where id = 'a'`;
    const [before] = await database.sql`select xmin::text as b from batch_calls where id = 'b'`;
    const again = await writeFull([job('a', 100), job('b', 100)], 2);
    expect(again.undeleted).toBe(1);
    expect((await current('a'))!.deleted_at).toBeNull();
    const [after] = await database.sql`select xmin::text as b from batch_calls where id = 'b'`;
    expect(after!.b).toBe(before!.b);
    const [run] = await database.sql`select undeleted from sync_runs where id = ${owner.runId}`;
    expect(run!.undeleted).toBe(1);
  });

  it('writes nothing once another attempt owns the run', async () => {
    await database.sql`update sync_runs set owner = 'someone-else' where id = ${owner.runId}`;
    await expect(write([job('a', 100)])).rejects.toThrow(/lost its ownership \(another process took the run over/);
    expect(await current('a')).toBeUndefined();
  });

  it('cannot close its run as succeeded once its workspace lock is gone, but can still record why it failed', async () => {
    await write([job('a', 100)]);
    await release?.();
    release = undefined;
    const outcome = { error: null, requests: 1, retries: 0, stopReason: 'end', resumable: true } as const;
    await expect(finishRun(database.sql, owner, { ...outcome, status: 'succeeded' })).rejects.toThrow(/lost its ownership \(its workspace lock is gone\)/);
    await finishRun(database.sql, owner, { ...outcome, status: 'failed', error: 'lock lost', stopReason: 'lost_ownership' });
    const [run] = await database.sql`select status, stop_reason from sync_runs where id = ${owner.runId}`;
    expect({ ...run }).toEqual({ status: 'failed', stop_reason: 'lost_ownership' });
  });

  it('stores hostile strings verbatim', async () => {
    const name = `Robert'); DROP TABLE batch_calls;-- \\ " \t\n 🎉 ${'x'.repeat(10_000)}`;
    await write([job('a', 100, { name })]);
    expect((await current('a'))!.name).toBe(name);
  });

  it('rolls back the whole page when the run is no longer running', async () => {
    await database.sql`update sync_runs set status = 'failed' where id = ${owner.runId}`;
    await expect(write([job('a', 100)])).rejects.toThrow(/lost its ownership/);
    const [{ n }] = (await database.sql`select count(*)::int as n from batch_call_history`) as unknown as [{ n: number }];
    expect(n).toBe(0);
  });
});
