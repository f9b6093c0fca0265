import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { MIGRATIONS_FOLDER, runMigrations } from '../../src/db/migrate.ts';
import { databaseUrl } from '../helpers/urls.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});

/** A database migrated only up to migration `upTo` (inclusive), as an older release left it. */
async function databaseAt(upTo: number): Promise<postgres.Sql> {
  const adminUrl = inject('pgAdminUrl');
  const name = `threetone_t_${inject('testRunPid')}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  cleanups.push(async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });
  const folder = mkdtempSync(path.join(tmpdir(), 'threetone-migrations-'));
  cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
  cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journalPath = path.join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { idx: number }[] };
  journal.entries = journal.entries.filter((e) => e.idx <= upTo);
  writeFileSync(journalPath, JSON.stringify(journal));
  const sql = postgres(databaseUrl(adminUrl, name), { max: 1, onnotice: () => undefined });
  cleanups.push(() => sql.end());
  await migrate(drizzle({ client: sql }), { migrationsFolder: folder });
  return sql;
}

describe('upgrading a database of the previous release', () => {
  it('folds repeated rejected rows into one per item and reason, and keeps a running reconciliation\'s seen ids', async () => {
    const sql = await databaseAt(2);
    const [run1] = await sql`insert into sync_runs (workspace, kind, status) values ('w', 'sync', 'succeeded') returning id::int`;
    const [run2] = await sql`insert into sync_runs (workspace, kind, status) values ('w', 'reconcile', 'failed') returning id::int`;
    for (const [run, at] of [[run1!.id, '2026-01-01T00:00:00Z'], [run2!.id, '2026-01-02T00:00:00Z']] as const) {
      await sql`insert into rejected_records (run_id, workspace, page, item_id, reason, raw, received_at)
                values (${run}, 'w', 1, 'bad', 'status: expected string', ${`{"id":"bad","v":${run}}`}, ${at}),
                       (${run}, 'w', 2, null, 'item: expected object', '7', ${at})`;
    }
    await sql`insert into rejected_records (run_id, workspace, page, item_id, reason, raw) values (${run1!.id}, 'w', 1, null, ${'r'.repeat(400)}, '8')`;
    await sql`insert into reconcile_seen (run_id, id) values (${run2!.id}, 'a'), (${run2!.id}, 'b'), (999999, 'orphan')`;

    await runMigrations({ url: databaseUrl(inject('pgAdminUrl'), (sql.options as unknown as { database: string }).database) });

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
