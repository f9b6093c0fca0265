import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { validateItems } from '../../src/api/validate.ts';
import { toPageRows } from '../../src/db/page-rows.ts';
import { startRun } from '../../src/db/runs/start-run.ts';
import { writePage, type PageWrite } from '../../src/db/write-page.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
let runId: number;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});
beforeEach(async () => {
  await database.sql`truncate batch_calls, batch_call_history, rejected_records, sync_runs`;
  runId = await startRun(database.db, 'w', 'sync');
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

async function write(items: unknown[], page = 1): Promise<Awaited<ReturnType<typeof writePage>>> {
  const { valid, rejected } = validateItems(items);
  const w: PageWrite = { runId, workspace: 'w', page, rows: toPageRows(valid), rejected, itemsSeen: items.length, nextCursor: null };
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
      { run_id: runId, page: 3, item_id: null, reason: 'id: Invalid input: expected string, received undefined; agent_id: Invalid input: expected string, received undefined; created_at_unix: Invalid input: expected number, received undefined; and 4 more', raw: JSON.stringify(bad) },
      { run_id: runId, page: 3, item_id: null, reason: 'item: Invalid input: expected object, received number', raw: '7' },
    ]);
    const [run] = await database.sql`select pages, items_seen, rejected, versions_added, rows_inserted from sync_runs where id = ${runId}`;
    expect({ ...run }).toEqual({ pages: 1, items_seen: 3, rejected: 2, versions_added: 1, rows_inserted: 1 });
  });

  it('stores hostile strings verbatim', async () => {
    const name = `Robert'); DROP TABLE batch_calls;-- \\ " \t\n 🎉 ${'x'.repeat(10_000)}`;
    await write([job('a', 100, { name })]);
    expect((await current('a'))!.name).toBe(name);
  });

  it('rolls back the whole page when the run is no longer running', async () => {
    await database.sql`update sync_runs set status = 'failed' where id = ${runId}`;
    await expect(write([job('a', 100)])).rejects.toThrow(/no longer running/);
    const [{ n }] = (await database.sql`select count(*)::int as n from batch_call_history`) as unknown as [{ n: number }];
    expect(n).toBe(0);
  });
});
