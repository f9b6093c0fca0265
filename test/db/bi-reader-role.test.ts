import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const SCRIPT = readFileSync(new URL('../../sql/bi-reader-role.sql', import.meta.url), 'utf8');

/**
 * Objects in public that BI must not read, on purpose. Everything else in public must be readable: a migration
 * that adds a table or view fails this test until sql/bi-reader-role.sql grants it or it is added here.
 */
const WORKER_ONLY = ['reconcile_seen'];

interface CatalogObject {
  oid: number;
  name: string;
  kind: string;
}

let database: TestDatabase;
let reader: postgres.Sql;
const suffix = randomBytes(4).toString('hex');
const login = `reader_${suffix}`;
/** Owns batch_calls, standing in for a worker role that migrated without being the database or schema owner. */
const migrator = `migrator_${suffix}`;

/** Tables, views, materialized views and functions in public, from the catalog. */
async function relations(): Promise<CatalogObject[]> {
  return database.sql<CatalogObject[]>`
    select c.oid::int as oid, c.relname as name, c.relkind as kind
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f')
    order by c.relname`;
}

beforeAll(async () => {
  database = await createTestDatabase();
  // A database created before Postgres 15 (or pg_upgrade'd from one) lets PUBLIC create in public;
  // without this the CVE-2018-1058 checks below would pass on Postgres 15's defaults alone.
  await database.sql.unsafe('GRANT CREATE ON SCHEMA public TO PUBLIC');
  await database.sql.unsafe(`CREATE ROLE ${migrator} NOLOGIN`);
  await database.sql.unsafe(`ALTER TABLE batch_calls OWNER TO ${migrator}`);
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
  await reader?.end();
  await database?.drop();
  // Roles are cluster-wide; after the database, which held everything they own or were granted.
  const admin = postgres(database.url.replace(/\/[^/]+$/, '/postgres'), { max: 1, onnotice: () => undefined });
  await admin.unsafe(`DROP ROLE IF EXISTS ${login}`);
  await admin.unsafe(`DROP ROLE IF EXISTS ${migrator}`);
  await admin.end();
});

describe('sql/bi-reader-role.sql', () => {
  it('lets a BI login read every table and view in public but the worker-only ones', async () => {
    const all = await relations();
    const names = all.map((r) => r.name);
    // The enumeration found the real schema, and the exclusions name tables that still exist.
    expect(names).toEqual(expect.arrayContaining(['batch_calls', 'batch_call_history', 'sync_runs', 'bi_sync_freshness', ...WORKER_ONLY]));
    const readable = all.filter((r) => !WORKER_ONLY.includes(r.name));
    for (const { oid, name } of readable) {
      const [{ allowed }] = (await database.sql`select has_table_privilege(${login}, ${oid}::oid, 'SELECT') as allowed`) as unknown as [{ allowed: boolean }];
      expect(allowed, name).toBe(true);
      await expect(reader.unsafe(`select * from public."${name}" limit 1`), name).resolves.toBeDefined();
    }
    const [freshness] = await reader`select workspace from bi_sync_freshness`;
    expect(freshness!.workspace).toBe('w');
  });

  it('lets it execute every function in public', async () => {
    const functions = await database.sql<{ oid: number; signature: string }[]>`
      select p.oid::int as oid, p.oid::regprocedure::text as signature
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public'`;
    expect(functions.map((f) => f.signature)).toContain('batch_calls_as_of(timestamp with time zone)');
    for (const { oid, signature } of functions) {
      const [{ allowed }] = (await database.sql`select has_function_privilege(${login}, ${oid}::oid, 'EXECUTE') as allowed`) as unknown as [{ allowed: boolean }];
      expect(allowed, signature).toBe(true);
    }
    await expect(reader`select * from batch_calls_as_of(now())`).resolves.toEqual([]);
  });

  it('refuses every write, the worker-only tables and the sequences', async () => {
    for (const { oid, name } of await relations()) {
      const [{ allowed }] = (await database.sql`
        select has_table_privilege(${login}, ${oid}::oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') as allowed`) as unknown as [
        { allowed: boolean },
      ];
      expect(allowed, name).toBe(false);
    }
    const sequences = await database.sql<{ name: string; allowed: boolean }[]>`
      select c.relname as name, has_sequence_privilege(${login}, c.oid, 'USAGE, SELECT, UPDATE') as allowed
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'S'`;
    expect(sequences.length).toBeGreaterThan(0);
    for (const { name, allowed } of sequences) expect(allowed, name).toBe(false);

    await expect(reader`insert into sync_runs (workspace, kind) values ('x', 'sync')`).rejects.toMatchObject({ code: '42501' });
    await expect(reader`update batch_calls set name = 'x'`).rejects.toMatchObject({ code: '42501' });
    await expect(reader`delete from batch_call_history`).rejects.toMatchObject({ code: '42501' });
    for (const name of WORKER_ONLY) await expect(reader.unsafe(`select * from public."${name}"`), name).rejects.toMatchObject({ code: '42501' });
  });

  it('stops a BI login creating objects in public that could shadow what the worker calls (CVE-2018-1058)', async () => {
    const [{ create }] = (await database.sql`select has_schema_privilege(${login}, 'public', 'CREATE') as create`) as unknown as [{ create: boolean }];
    expect(create).toBe(false);
    // Unqualified, as a shadowing attack would be: with no schema named after the login, these land in public.
    await expect(reader`create table batch_calls_shadow (x int)`).rejects.toMatchObject({ code: '42501' });
    await expect(reader`create view sync_runs_shadow as select 1 as x`).rejects.toMatchObject({ code: '42501' });
    await expect(reader`create function public.lower(text) returns text language sql as 'select $1'`).rejects.toMatchObject({ code: '42501' });
    await expect(reader`create function to_timestamp(bigint) returns timestamptz language sql as 'select now()'`).rejects.toMatchObject({ code: '42501' });
    await expect(reader`create schema ${reader(login)}`).rejects.toMatchObject({ code: '42501' });
    // PUBLIC itself holds no CREATE on public any more.
    const publicCreate = await database.sql`
      select 1 from pg_namespace, aclexplode(nspacl) a
      where nspname = 'public' and a.grantee = 0 and a.privilege_type = 'CREATE'`;
    expect(publicCreate).toHaveLength(0);
  });

  it('keeps CREATE on public for the role that owns the tables, which may have relied on PUBLIC', async () => {
    const [{ create }] = (await database.sql`select has_schema_privilege(${migrator}, 'public', 'CREATE') as create`) as unknown as [{ create: boolean }];
    expect(create).toBe(true);
  });
});
