import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { runMigrations } from '../../src/db/migrate.ts';
import { T0 } from '../helpers/batch-call.ts';
import { useTestDatabase } from '../helpers/use.ts';
import { databaseAt } from '../helpers/database-at.ts';

/**
 * The history triggers (migrations 0005, 0006) under two writers whose transactions overlap: a backfill
 * inserting versions straight into history while the sync or an operator writes the same job. Each writer
 * is a session of its own holding its transaction open, so the second one's triggers run while the first
 * one's rows are still invisible to it.
 */
const H = 3600;
const WS = 'acme';
const at = (unix: number) => new Date(unix * 1000).toISOString();

const database = useTestDatabase();

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A session of its own with an open transaction. */
interface Session {
  sql: postgres.ReservedSql;
  pid: number;
}

async function openSession(url: string): Promise<Session> {
  const client = postgres(url, { max: 1, onnotice: () => undefined });
  cleanups.push(() => client.end({ timeout: 1 }));
  const sql = await client.reserve();
  cleanups.push(() => sql.release());
  const [row] = await sql<{ pid: number }[]>`select pg_catalog.pg_backend_pid() as pid`;
  await sql`begin`;
  return { sql, pid: row!.pid };
}

type Write = (sql: postgres.Sql) => Promise<unknown>;

function insertVersion(id: string, ts: number, status: string): Write {
  return (sql) => sql`
    insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
    values (${WS}, ${id}, ${`job ${id}`}, 'ag_1', 'Priya', ${T0}, ${T0}, ${ts}, ${status}, ${sql.json({ id, status, ts })})`;
}

const markDeleted = (id: string, ts: number): Write => (sql) => sql`update batch_calls set deleted_at = ${at(ts)} where workspace = ${WS} and id = ${id}`;
const setStatus = (id: string, ts: number, status: string): Write => (sql) =>
  sql`update batch_call_history set status = ${status} where workspace = ${WS} and id = ${id} and last_updated_at_unix = ${ts}`;

/** Until `pid` waits for a lock, or `settled` says its statement finished. */
async function blockedOrDone(url: string, pid: number, settled: () => boolean): Promise<boolean> {
  const probe = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    for (let i = 0; i < 500; i++) {
      if (settled()) return false;
      const [row] = await probe<{ waiting: boolean }[]>`select wait_event_type = 'Lock' as waiting from pg_catalog.pg_stat_activity where pid = ${pid}`;
      if (row?.waiting) return true;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('the second session neither finished its write nor waited for a lock');
  } finally {
    await probe.end({ timeout: 1 });
  }
}

/**
 * `first` runs in one session and leaves its transaction open; `second` runs in another meanwhile, until it
 * finishes or waits for a lock. Then the sessions commit in `order`. A second session that waits for the
 * first one's lock cannot commit first: the first commits, then the second finishes its write and commits.
 */
async function overlap(first: Write, second: Write, order: 'first commits first' | 'second commits first'): Promise<void> {
  const a = await openSession(database.url);
  const b = await openSession(database.url);
  await first(a.sql);
  let settled = false;
  const secondWrite = second(b.sql).finally(() => (settled = true));
  secondWrite.catch(() => undefined);
  const blocked = await blockedOrDone(database.url, b.pid, () => settled);
  if (blocked || order === 'first commits first') {
    await a.sql`commit`;
    await secondWrite;
    await b.sql`commit`;
  } else {
    await secondWrite;
    await b.sql`commit`;
    await a.sql`commit`;
  }
}

interface Stamp {
  key: string;
  valid_to: string;
  previous_status: string | null;
}

async function stored(): Promise<Stamp[]> {
  return database.sql<Stamp[]>`
    select id || '@' || (last_updated_at_unix - ${T0}) / ${H} as key, valid_to::text, previous_status
    from batch_call_history order by 1`;
}

/** The definition the stored columns must equal once both writers committed. */
async function bruteForce(): Promise<Stamp[]> {
  return database.sql<Stamp[]>`
    select v.id || '@' || (v.last_updated_at_unix - ${T0}) / ${H} as key,
           coalesce(lead(v.last_updated_at) over w, c.deleted_at, 'infinity')::text as valid_to,
           lag(v.status) over w as previous_status
    from batch_call_history v left join batch_calls c on c.workspace = v.workspace and c.id = v.id
    window w as (partition by v.workspace, v.id order by v.last_updated_at_unix)
    order by 1`;
}

async function currentVersions(id: string): Promise<number> {
  const [row] = await database.sql<{ n: number }[]>`select count(*)::int as n from batch_call_history where id = ${id} and valid_to = 'infinity'`;
  return row!.n;
}

const ORDERS = ['first commits first', 'second commits first'] as const;

describe('history triggers under two overlapping writers', () => {
  describe.each(ORDERS)('%s', (order) => {
    it('two first versions of one job: the older one ends where the newer begins', async () => {
      await overlap(insertVersion('a', T0, 'pending'), insertVersion('a', T0 + H, 'in_progress'), order);
      expect(await currentVersions('a')).toBe(1);
      const rows = await stored();
      expect(rows.map((r) => [r.key, r.previous_status])).toEqual([['a@0', null], ['a@1', 'pending']]);
      expect(rows[1]!.valid_to).toBe('infinity');
      expect(rows).toEqual(await bruteForce());
    });

    it('the newer version inserted first, the older one second', async () => {
      await overlap(insertVersion('a', T0 + H, 'completed'), insertVersion('a', T0, 'pending'), order);
      expect(await currentVersions('a')).toBe(1);
      const rows = await stored();
      expect(rows.map((r) => [r.key, r.previous_status])).toEqual([['a@0', null], ['a@1', 'pending']]);
      expect(rows[1]!.valid_to).toBe('infinity');
      expect(rows).toEqual(await bruteForce());
    });

    it('two new versions of a job that already has one: one chain, one current version', async () => {
      await insertVersion('a', T0, 'pending')(database.sql);
      await overlap(insertVersion('a', T0 + 2 * H, 'completed'), insertVersion('a', T0 + H, 'in_progress'), order);
      expect(await currentVersions('a')).toBe(1);
      const rows = await stored();
      expect(rows.map((r) => [r.key, r.previous_status])).toEqual([['a@0', null], ['a@1', 'pending'], ['a@2', 'in_progress']]);
      expect(rows).toEqual(await bruteForce());
    });

    it('pages of several jobs, one writer per page, in opposite orders', async () => {
      const page = (ts: number, status: string, ids: string[]): Write => async (sql) => {
        for (const id of ids) await insertVersion(id, ts, status)(sql);
      };
      await overlap(page(T0, 'pending', ['a', 'b', 'c']), page(T0 + H, 'in_progress', ['c', 'b', 'a']), order);
      for (const id of ['a', 'b', 'c']) expect(await currentVersions(id)).toBe(1);
      expect(await stored()).toEqual(await bruteForce());
    });

    it('a version inserted while the job is marked deleted: the newest version ends at deleted_at', async () => {
      await insertVersion('a', T0, 'pending')(database.sql);
      await database.sql`
        insert into batch_calls (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
        values (${WS}, 'a', 'job a', 'ag_1', 'Priya', ${T0}, ${T0}, ${T0}, 'pending', '{}')`;
      await overlap(insertVersion('a', T0 + H, 'in_progress'), markDeleted('a', T0 + 5 * H), order);
      expect(await stored()).toEqual(await bruteForce());
      expect(await currentVersions('a')).toBe(0);

      // And the other way round: the mark first, the version second.
      await database.sql`delete from batch_calls`;
      await database.sql`delete from batch_call_history`;
      await insertVersion('b', T0, 'pending')(database.sql);
      await database.sql`
        insert into batch_calls (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
        values (${WS}, 'b', 'job b', 'ag_1', 'Priya', ${T0}, ${T0}, ${T0}, 'pending', '{}')`;
      await overlap(markDeleted('b', T0 + 5 * H), insertVersion('b', T0 + H, 'in_progress'), order);
      expect(await stored()).toEqual(await bruteForce());
      expect(await currentVersions('b')).toBe(0);
    });

    it('a status corrected while a later version is inserted: the later one records the corrected status', async () => {
      await insertVersion('a', T0, 'pending')(database.sql);
      await overlap(setStatus('a', T0, 'cancelled'), insertVersion('a', T0 + H, 'in_progress'), order);
      expect((await stored()).map((r) => [r.key, r.previous_status])).toEqual([['a@0', null], ['a@1', 'cancelled']]);
      expect(await stored()).toEqual(await bruteForce());

      await database.sql`delete from batch_call_history`;
      await insertVersion('b', T0, 'pending')(database.sql);
      await overlap(insertVersion('b', T0 + H, 'in_progress'), setStatus('b', T0, 'cancelled'), order);
      expect((await stored()).map((r) => [r.key, r.previous_status])).toEqual([['b@0', null], ['b@1', 'cancelled']]);
      expect(await stored()).toEqual(await bruteForce());
    });
  });

  it('writers of different workspaces do not wait for each other', async () => {
    const a = await openSession(database.url);
    const b = await openSession(database.url);
    await insertVersion('a', T0, 'pending')(a.sql);
    await b.sql`
      insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
      values ('other', 'a', 'job a', 'ag_1', 'Priya', ${T0}, ${T0}, ${T0 + H}, 'pending', '{}')`;
    await b.sql`commit`;
    await a.sql`commit`;
    expect(await database.sql`select workspace, valid_to::text from batch_call_history order by 1`).toEqual([
      { workspace: 'acme', valid_to: 'infinity' },
      { workspace: 'other', valid_to: 'infinity' },
    ]);
  });
});


describe('upgrading a database at 0005', () => {
  it('repairs the versions the race already stamped wrong, and the upgraded triggers hold under overlapping writers', async () => {
    const { sql, url } = await databaseAt(5, cleanups);
    const insert = (s: postgres.Sql | postgres.ReservedSql, id: string, ts: number, status: string) => s`
      insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
      values (${WS}, ${id}, ${`job ${id}`}, 'ag_1', 'Priya', ${T0}, ${T0}, ${ts}, ${status}, '{}')`;
    // What 0005's triggers left after two overlapping first inserts: two current versions, no predecessor.
    await insert(sql, 'a', T0, 'pending');
    await insert(sql, 'a', T0 + H, 'completed');
    await sql`update batch_call_history set valid_to = 'infinity', previous_status = null where id = 'a'`;
    await insert(sql, 'fine', T0, 'pending');
    await insert(sql, 'fine', T0 + H, 'completed');

    await runMigrations({ url });

    const rows = await sql`select id, last_updated_at_unix - ${T0} as at, valid_to::text, previous_status from batch_call_history order by id, at`;
    expect(rows.map((r) => [r.id, Number(r.at), r.valid_to === 'infinity', r.previous_status])).toEqual([
      ['a', 0, false, null],
      ['a', H, true, 'pending'],
      ['fine', 0, false, null],
      ['fine', H, true, 'pending'],
    ]);

    const first = postgres(url, { max: 1, onnotice: () => undefined });
    const second = postgres(url, { max: 1, onnotice: () => undefined });
    cleanups.push(() => first.end({ timeout: 1 }), () => second.end({ timeout: 1 }));
    const a = await first.reserve();
    const b = await second.reserve();
    cleanups.push(() => a.release(), () => b.release());
    await a`begin`;
    await b`begin`;
    await insert(a, 'b', T0, 'pending');
    const late = insert(b, 'b', T0 + H, 'in_progress');
    await a`commit`;
    await late;
    await b`commit`;
    const b2 = await sql`select valid_to::text, previous_status from batch_call_history where id = 'b' order by last_updated_at_unix`;
    expect(b2.map((r) => [r.valid_to === 'infinity', r.previous_status])).toEqual([[false, null], [true, 'pending']]);
  });
});
