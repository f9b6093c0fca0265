import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { finishReconcile } from '../../src/db/runs/finish-reconcile.ts';
import type { RunOwner } from '../../src/db/runs/run-owner.ts';
import { writePage, type PageWrite } from '../../src/db/write-page.ts';
import { toPageRows } from '../../src/pages/page-rows.ts';
import { validateItems } from '../../src/pages/validate.ts';
import { batchCalls } from '../../src/resources/batch-calls.ts';
import { batchCall, T0 } from '../helpers/batch-call.ts';
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
  await database.sql`truncate batch_calls, batch_call_history, rejected_records, sync_runs, change_feed cascade`;
  ({ owner, release } = await ownRun(database, 'w'));
});

async function write(items: Record<string, unknown>[], recordSeen = false) {
  const { valid, rejected } = validateItems(batchCalls, items);
  const w: PageWrite = {
    resource: batchCalls, owner, page: 1, rows: toPageRows(batchCalls, valid), rejected, itemsSeen: items.length, nextCursor: null,
    listedIds: valid.map((v) => v.item.id), recordSeen, requests: 0, retries: 0,
  };
  return writePage(database.sql, w);
}

interface Entry {
  id: string;
  kind: string;
  job_id: string;
  version: number;
  status: string;
  previous_status: string | null;
  run_id: number | null;
  same_xid: boolean;
}

/** The feed in its order, with whether each entry's xid is its row's writing transaction. */
async function feed(): Promise<Entry[]> {
  return database.sql<Entry[]>`
    select id::text, kind, job_id, version::int, status, previous_status, run_id::int, (xid::text::bigint % 4294967296)::text = xmin::text as same_xid
    from change_feed order by xid, id`;
}

describe('the change feed', () => {
  it('writes created once for a job first seen, updated for each later version, none for an unchanged page', async () => {
    await write([batchCall('a', T0 + 10), batchCall('b', T0 + 10)]);
    await write([batchCall('a', T0 + 20, { status: 'in_progress' }), batchCall('b', T0 + 10)]);
    const unchanged = await write([batchCall('a', T0 + 20, { status: 'in_progress' }), batchCall('b', T0 + 10)]);
    expect(unchanged.versionsAdded + unchanged.versionsAmended).toBe(0);
    const entries = await feed();
    expect(entries.map(({ kind, job_id, version, status, previous_status, run_id }) => ({ kind, job_id, version, status, previous_status, run_id }))).toEqual([
      { kind: 'created', job_id: 'a', version: T0 + 10, status: 'pending', previous_status: null, run_id: owner.runId },
      { kind: 'created', job_id: 'b', version: T0 + 10, status: 'pending', previous_status: null, run_id: owner.runId },
      { kind: 'updated', job_id: 'a', version: T0 + 20, status: 'in_progress', previous_status: 'pending', run_id: owner.runId },
    ]);
    expect(entries.every((e) => e.same_xid)).toBe(true);
  });

  it('writes one amended entry for a version whose content changed in place, with the status before and after', async () => {
    await write([batchCall('a', T0 + 10)]);
    await write([batchCall('a', T0 + 10, { status: 'in_progress', total_calls_finished: 3 })]);
    await write([batchCall('a', T0 + 10, { status: 'in_progress', total_calls_finished: 3 })]);
    const entries = await feed();
    expect(entries.map((e) => [e.kind, e.version, e.status, e.previous_status, e.run_id])).toEqual([
      ['created', T0 + 10, 'pending', null, owner.runId],
      ['amended', T0 + 10, 'in_progress', 'pending', owner.runId],
    ]);
  });

  it('writes deleted for each job a reconciliation marks, and undeleted when a page lists it again', async () => {
    await write([batchCall('a', T0 + 10), batchCall('b', T0 + 10), batchCall('c', T0 + 10)]);
    await release!();
    await database.sql`update batch_calls set first_seen_at = now() - interval '1 hour'`;
    ({ owner, release } = await ownRun(database, 'w', 'reconcile'));
    await write([batchCall('a', T0 + 10)], true);
    const counts = await database.sql.begin((tx) => finishReconcile(tx, owner, () => undefined));
    expect(counts.deleted).toBe(2);
    const reconcileRun = owner.runId;
    // The next sync lists b again (a page of the reconciliation itself was listed before its marks: src/db/write-page.ts).
    await release!();
    ({ owner, release } = await ownRun(database, 'w', 'incremental'));
    const syncRun = owner.runId;
    await write([batchCall('b', T0 + 10)]);
    const entries = (await feed()).filter((e) => e.kind !== 'created');
    // One statement marks both: their order within it is the plan's.
    const deletes = entries.slice(0, 2).sort((x, y) => x.job_id.localeCompare(y.job_id));
    expect([...deletes, entries[2]!].map((e) => [e.kind, e.job_id, e.status, e.previous_status, e.run_id])).toEqual([
      ['deleted', 'b', 'pending', 'pending', reconcileRun],
      ['deleted', 'c', 'pending', 'pending', reconcileRun],
      ['undeleted', 'b', 'pending', 'pending', syncRun],
    ]);
    // A delete mark moved to another time is no event.
    await database.sql`update batch_calls set deleted_at = deleted_at - interval '1 minute' where id = 'c'`;
    expect((await feed()).filter((e) => e.kind !== 'created')).toHaveLength(3);
  });

  it('follows a backfill written outside the sync, in one statement, several versions of a job included', async () => {
    await write([batchCall('a', T0 + 10)]);
    await database.sql`
      insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
      select 'w', j.id, 'n', 'ag', 'A', ${T0}, ${T0}, j.ts, j.status, '{}'::jsonb
      from (values ('a', ${T0 + 30}::bigint, 'completed'), ('a', ${T0 + 5}::bigint, 'pending'), ('x', ${T0 + 1}::bigint, 'pending'), ('x', ${T0 + 2}::bigint, 'failed')) j(id, ts, status)`;
    const entries = await feed();
    const backfill = entries.slice(1).map((e) => [e.kind, e.job_id, e.version, e.status, e.previous_status, e.run_id]);
    expect(backfill).toEqual(expect.arrayContaining([
      ['updated', 'a', T0 + 30, 'completed', 'pending', null],
      // Older than the version already stored: a new version of a job that exists, not a second creation.
      ['updated', 'a', T0 + 5, 'pending', null, null],
      ['created', 'x', T0 + 1, 'pending', null, null],
      ['updated', 'x', T0 + 2, 'failed', 'pending', null],
    ]));
    expect(backfill).toHaveLength(4);
    expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
  });

  it('writes no feed WAL and no entry for an unchanged resync, and notifies once per writing transaction', async () => {
    const items = Array.from({ length: 200 }, (_, i) => batchCall(`j${i}`, T0 + i));
    await write(items);
    const received: string[] = [];
    let heard!: () => void;
    const notified = new Promise<void>((resolve) => (heard = resolve));
    const listener = await database.sql.listen('threetone_changes', (payload) => {
      received.push(payload);
      heard();
    });
    // What the feed's WAL would come from: its rows, its index, its sequence (WAL itself is the whole server's,
    // and other databases write to it meanwhile: bench/feed.ts compares it with the triggers off).
    const feedState = async () =>
      (await database.sql<{ n: number; bytes: number; seq: string }[]>`
        select (select count(*)::int from change_feed) as n, pg_total_relation_size('change_feed')::int as bytes,
               (select last_value::text || is_called::text from change_feed_id_seq) as seq`)[0]!;
    const before = await feedState();
    await write(items);
    expect(await feedState()).toEqual(before);
    await write([batchCall('j1', T0 + 1000), batchCall('j2', T0 + 1000)]);
    await notified;
    // The unchanged page sent nothing; the changed one, one notification for its two entries.
    await database.sql`select 1`;
    expect(received).toEqual(['']);
    await listener.unlisten();
  });
});
