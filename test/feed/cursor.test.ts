import postgres from 'postgres';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READ_CHANGES, readChanges } from '../../src/db/feed/read-changes.ts';
import { hasPendingChanges } from '../../src/db/feed/pending-changes.ts';
import { positionOf } from '../../src/feed/line.ts';
import { BEGINNING } from '../../src/feed/position.ts';
import { T0 } from '../helpers/batch-call.ts';
import { spawnCli, type Child } from '../helpers/child.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
const children: Child[] = [];
const clients: postgres.Sql[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  for (const child of children) child.process.kill('SIGKILL');
  for (const client of clients) await client.end({ timeout: 1 });
  await database.drop();
});

/**
 * A version of job `id` inserted into history the way a backfill would: the feed's trigger writes its entry. A
 * workspace of its own each, as concurrent syncs are: two writers of one workspace queue on its daily count.
 */
const version = (sql: postgres.Sql | postgres.TransactionSql, id: string, ts: number) => sql`
  insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
  values (${`w-${id}`}, ${id}, 'n', 'ag', 'A', ${T0}, ${T0}, ${ts}, 'pending', '{}'::jsonb)`;

function session(): postgres.Sql {
  const client = postgres(database.url, { max: 1, onnotice: () => undefined });
  clients.push(client);
  return client;
}

function linesOf(text: string): { id: number; job_id: string }[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{"id"') && l.endsWith('}'))
    .map((l) => JSON.parse(l));
}

/** Resolves once the child has printed `n` feed lines in all. */
function printed(child: Child, n: number): Promise<{ id: number; job_id: string }[]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const lines = linesOf(child.output());
      if (lines.length < n) return false;
      child.process.stdout!.off('data', check);
      resolve(lines);
      return true;
    };
    if (check()) return;
    child.process.stdout!.on('data', check);
    void child.exited.then((code) => reject(new Error(`changes exited (${code}): ${child.output().slice(-400)}`)));
  });
}

describe('the feed cursor', () => {
  it('never skips an entry whose transaction took an early id and committed last, while a follower reads', async () => {
    await version(database.sql, 'before', T0 + 1);
    const follower = spawnCli(['changes', '--consumer', 'follower', '--follow'], { DATABASE_URL: database.url, LOG_LEVEL: 'warn' });
    children.push(follower);
    await printed(follower, 1);

    // The long transaction: its entry takes the next id, then it stays open.
    const long = session();
    let commitLong!: () => void;
    const longOpen = new Promise<void>((resolve) => (commitLong = resolve));
    let tookId!: () => void;
    const idTaken = new Promise<void>((resolve) => (tookId = resolve));
    const longDone = long.begin(async (tx) => {
      await version(tx, 'long', T0 + 2);
      tookId();
      await longOpen;
    });
    await idTaken;

    // Later transactions take later ids and commit first; each sends its NOTIFY to the follower.
    for (let i = 0; i < 5; i++) await version(database.sql, `quick${i}`, T0 + 3);
    const ids = await database.sql<{ id: number; job_id: string }[]>`select id::float8 as id, job_id from change_feed order by id`;
    expect(ids.map((r) => r.job_id)).toEqual(['before', 'quick0', 'quick1', 'quick2', 'quick3', 'quick4']);

    // A reader by id alone would now be at quick4 and never return the long transaction's entry, whose id is lower.
    const lastSeenByIdAlone = ids[ids.length - 1]!.id;
    // The cursor holds the later entries back while the long transaction runs, and says some are waiting.
    const [first] = await readChanges(database.sql, BEGINNING, 10);
    expect(first!.jobId).toBe('before');
    expect(await readChanges(database.sql, positionOf(first!), 10)).toEqual([]);
    expect(await hasPendingChanges(database.sql, positionOf(first!))).toBe(true);

    commitLong();
    await longDone;
    const all = await printed(follower, 7);
    expect(all.map((l) => l.job_id)).toEqual(['before', 'long', 'quick0', 'quick1', 'quick2', 'quick3', 'quick4']);
    const longId = all[1]!.id;
    expect(longId).toBeLessThan(lastSeenByIdAlone);
    const [{ n: missedByIdAlone }] = (await database.sql`select count(*)::int as n from change_feed where id > ${lastSeenByIdAlone}`) as unknown as [{ n: number }];
    expect(missedByIdAlone).toBe(0);
    follower.process.kill('SIGTERM');
    expect(await follower.exited).toBe(0);
  });

  it('reads a range of the (xid, id) primary key', async () => {
    await database.sql`
      insert into change_feed (kind, workspace, job_id, version, status)
      select 'created', 'w', 'j' || g, g, 'pending' from generate_series(1, 20000) g`;
    await database.sql`analyze change_feed`;
    const plan = await database.sql.begin(async (tx) => {
      await tx`set local plan_cache_mode = force_generic_plan`;
      await tx.unsafe(`prepare feed_read(text, text, int) as ${READ_CHANGES.replace('$1::pg_catalog.xid8', '$1::text::pg_catalog.xid8').replace('$2::pg_catalog.int8', '$2::text::pg_catalog.int8')}`);
      const rows = await tx.unsafe<{ 'QUERY PLAN': string }[]>(`explain execute feed_read('0', '0', 5000)`);
      await tx.unsafe('deallocate feed_read');
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index Scan using change_feed_xid_id_pk on change_feed/);
    expect(plan).toMatch(/Index Cond: \(\(ROW\(xid, id\) > ROW\(.*AND \(xid < pg_snapshot_xmin\(pg_current_snapshot\(\)\)\)/);
    expect(plan).not.toMatch(/Sort|Seq Scan/);
  });

  it('gives SQL users the same through threetone_changes and threetone_changes_ack, as the BI role', async () => {
    await database.sql.unsafe(readFileSync(new URL('../../sql/bi-reader-role.sql', import.meta.url), 'utf8'));
    const login = `feed_reader_${randomBytes(4).toString('hex')}`;
    await database.sql.unsafe(`create role ${login} login password 'pw' in role threetone_reader`);
    try {
      const url = new URL(database.url);
      url.username = login;
      url.password = 'pw';
      const bi = postgres(url.toString(), { max: 1, onnotice: () => undefined });
      clients.push(bi);
      await expect(bi`select * from threetone_changes('nobody', 10)`).rejects.toMatchObject({ message: 'no feed consumer named "nobody"' });
      const [{ position }] = (await bi`select threetone_consumer_create('dbt', 'beginning') as position`) as unknown as [{ position: string }];
      expect(position).toBe('0:0');
      const batch = await bi<{ id: string; xid: string; job_id: string }[]>`select id, xid::text, job_id from threetone_changes('dbt', 3)`;
      expect(batch.map((r) => r.job_id)).toEqual(['before', 'long', 'quick0']);
      const last = batch[2]!;
      await bi`select threetone_changes_ack('dbt', ${last.xid}::xid8, ${last.id}::bigint)`;
      const next = await bi<{ job_id: string }[]>`select job_id from threetone_changes('dbt', 2)`;
      expect(next.map((r) => r.job_id)).toEqual(['quick1', 'quick2']);
      // Never backwards, never past what a read can return, and no direct write.
      await bi`select threetone_changes_ack('dbt', '1'::xid8, 1)`;
      expect((await bi`select job_id from threetone_changes('dbt', 1)`)[0]!.job_id).toBe('quick1');
      await expect(bi`select threetone_changes_ack('dbt', '999999999999'::xid8, 1)`).rejects.toMatchObject({ code: '22023' });
      await expect(bi`update feed_consumers set position_id = 0`).rejects.toMatchObject({ code: '42501' });
      await bi.end();
    } finally {
      await database.sql.unsafe(`drop owned by ${login}; drop role ${login}`);
    }
  });
});
