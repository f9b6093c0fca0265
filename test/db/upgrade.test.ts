import { afterEach, describe, expect, it } from 'vitest';
import { runMigrations } from '../../src/db/migrate.ts';
import { databaseAt } from '../helpers/database-at.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});


describe('upgrading a database of the previous release', () => {
  it('folds repeated rejected rows into one per item and reason, and keeps a running reconciliation\'s seen ids', async () => {
    const { sql, url } = await databaseAt(2, cleanups);
    const [run1] = await sql`insert into sync_runs (workspace, kind, status) values ('w', 'sync', 'succeeded') returning id::int`;
    const [run2] = await sql`insert into sync_runs (workspace, kind, status) values ('w', 'reconcile', 'failed') returning id::int`;
    for (const [run, at] of [[run1!.id, '2026-01-01T00:00:00Z'], [run2!.id, '2026-01-02T00:00:00Z']] as const) {
      await sql`insert into rejected_records (run_id, workspace, page, item_id, reason, raw, received_at)
                values (${run}, 'w', 1, 'bad', 'status: expected string', ${`{"id":"bad","v":${run}}`}, ${at}),
                       (${run}, 'w', 2, null, 'item: expected object', '7', ${at})`;
    }
    await sql`insert into rejected_records (run_id, workspace, page, item_id, reason, raw) values (${run1!.id}, 'w', 1, null, ${'r'.repeat(400)}, '8')`;
    await sql`insert into reconcile_seen (run_id, id) values (${run2!.id}, 'a'), (${run2!.id}, 'b'), (999999, 'orphan')`;

    await runMigrations({ url });

    const rows = await sql`select item_id, reason, times_seen, page, run_id::int, raw,
                             first_seen_at = '2026-01-01T00:00:00Z' as first_ok, last_seen_at = '2026-01-02T00:00:00Z' as last_ok from rejected_records order by item_id nulls last, reason`;
    expect(rows.map((r) => ({ item_id: r.item_id, times_seen: r.times_seen, page: r.page, run_id: r.run_id, raw: r.raw, reasonLength: r.reason.length }))).toEqual([
      { item_id: 'bad', times_seen: 2, page: 1, run_id: run2!.id, raw: `{"id":"bad","v":${run2!.id}}`, reasonLength: 23 },
      { item_id: null, times_seen: 2, page: 2, run_id: run2!.id, raw: '7', reasonLength: 21 },
      { item_id: null, times_seen: 1, page: 1, run_id: run1!.id, raw: '8', reasonLength: 300 },
    ]);
    expect({ first: rows[0]!.first_ok, last: rows[0]!.last_ok }).toEqual({ first: true, last: true });
    expect((await sql`select id from reconcile_seen order by id`).map((r) => r.id)).toEqual(['a', 'b']);
    const [table] = await sql`select relpersistence from pg_catalog.pg_class where relname = 'reconcile_seen'`;
    expect(table!.relpersistence).toBe('p');
  });
});
