import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const SCRIPT = readFileSync(new URL('../../sql/bi-reader-role.sql', import.meta.url), 'utf8');

let database: TestDatabase;
let reader: postgres.Sql;
const login = `reader_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.sql.unsafe(SCRIPT);
  // Idempotent: a second run changes nothing and does not fail.
  await database.sql.unsafe(SCRIPT);
  await database.sql.unsafe(`CREATE ROLE ${login} LOGIN PASSWORD 'pw' IN ROLE threetone_reader`);
  await database.sql`insert into sync_runs (workspace, kind, status) values ('w', 'sync', 'succeeded')`;
  const url = new URL(database.url);
  url.username = login;
  url.password = 'pw';
  reader = postgres(url.toString(), { max: 1, onnotice: () => undefined });
});
afterAll(async () => {
  await reader.end();
  await database.drop();
  const admin = postgres(database.url.replace(/\/[^/]+$/, '/postgres'), { max: 1, onnotice: () => undefined });
  await admin.unsafe(`DROP ROLE IF EXISTS ${login}`);
  await admin.end();
});

describe('sql/bi-reader-role.sql', () => {
  it('lets a BI login read every table, view and the as-of function', async () => {
    for (const relation of ['batch_calls', 'batch_call_history', 'sync_runs', 'rejected_records', 'batch_call_versions', 'bi_sync_freshness', 'bi_agent_performance']) {
      await expect(reader.unsafe(`select count(*) from ${relation}`)).resolves.toHaveLength(1);
    }
    await expect(reader`select * from batch_calls_as_of(now())`).resolves.toEqual([]);
    const [freshness] = await reader`select workspace from bi_sync_freshness`;
    expect(freshness!.workspace).toBe('w');
  });

  it('refuses every write and the scratch and queue tables', async () => {
    await expect(reader`insert into sync_runs (workspace, kind) values ('x', 'sync')`).rejects.toMatchObject({ code: '42501' });
    await expect(reader`update batch_calls set name = 'x'`).rejects.toMatchObject({ code: '42501' });
    await expect(reader`delete from batch_call_history`).rejects.toMatchObject({ code: '42501' });
    await expect(reader`select * from reconcile_seen`).rejects.toMatchObject({ code: '42501' });
    await expect(reader`create table mine (x int)`).rejects.toMatchObject({ code: '42501' });
  });
});
