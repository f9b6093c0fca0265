import { describe, expect, it } from 'vitest';
import { validateItems } from '../../src/pages/validate.ts';
import { toPageRows } from '../../src/pages/page-rows.ts';
import { writePage } from '../../src/db/write-page.ts';
import { batchCalls } from '../../src/resources/batch-calls.ts';
import { batchCall, T0 } from '../helpers/batch-call.ts';
import { ownRun } from '../helpers/own-run.ts';
import { useTestDatabase } from '../helpers/use.ts';

/**
 * Stored validity intervals (batch_call_history.valid_to) and predecessor statuses (previous_status), kept by
 * triggers: after every kind of write they must equal what a window over the whole history computes, and
 * batch_calls_as_of must equal the brute-force answer at every instant.
 */
const H = 3600;
const WS = 'acme';
const at = (unix: number) => new Date(unix * 1000).toISOString();

const database = useTestDatabase();

function job(id: string, ts: number, status: string, extra: Record<string, unknown> = {}) {
  return batchCall(id, ts, { status, ...extra });
}

/** Pages through the real write, one page per call, as a sync would. */
async function syncPages(pages: Record<string, unknown>[][], listed: string[][] = []): Promise<void> {
  const { owner, release } = await ownRun(database, WS);
  try {
    for (const [i, items] of pages.entries()) {
      const { valid } = validateItems(batchCalls, items);
      await writePage(database.sql, {
        resource: batchCalls,
        owner,
        page: i + 1,
        rows: toPageRows(batchCalls, valid),
        rejected: [],
        itemsSeen: items.length,
        nextCursor: null,
        listedIds: listed[i] ?? [],
        recordSeen: false,
        requests: 0,
        retries: 0,
      });
    }
  } finally {
    await release();
  }
}

/** A version written straight into history, as an operator's backfill would. */
async function insertVersion(id: string, ts: number, status: string, workspace = WS): Promise<void> {
  await database.sql`
    insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
    values (${workspace}, ${id}, ${`job ${id}`}, 'ag_1', 'Priya', ${T0}, ${T0}, ${ts}, ${status}, ${database.sql.json({ id, status, ts })})`;
}

interface Stamp {
  key: string;
  valid_to: string;
  previous_status: string | null;
}

/** What the triggers stored, per version. */
async function stored(): Promise<Stamp[]> {
  return database.sql<Stamp[]>`
    select workspace || '/' || id || '@' || last_updated_at_unix as key, valid_to::text, previous_status
    from batch_call_history order by 1`;
}

/** The same, computed from scratch over all history: the definition the stored columns must always equal. */
async function bruteForce(): Promise<Stamp[]> {
  return database.sql<Stamp[]>`
    select v.workspace || '/' || v.id || '@' || v.last_updated_at_unix as key,
           coalesce(lead(v.last_updated_at) over w, c.deleted_at, 'infinity')::text as valid_to,
           lag(v.status) over w as previous_status
    from batch_call_history v left join batch_calls c on c.workspace = v.workspace and c.id = v.id
    window w as (partition by v.workspace, v.id order by v.last_updated_at_unix)
    order by 1`;
}

async function expectConsistent(): Promise<void> {
  expect(await stored()).toEqual(await bruteForce());
  // The per-day counts the same triggers keep.
  const daily = await database.sql`select workspace, day::text, versions::int from batch_call_history_daily where versions <> 0 order by 1, 2`;
  const counted = await database.sql`
    select workspace, (observed_at at time zone 'UTC')::date::text as day, count(*)::int as versions from batch_call_history group by 1, 2 order by 1, 2`;
  expect(daily).toEqual(counted);
  // Every instant at which something changes, and just before and after it.
  const [bounds] = await database.sql<{ instants: number[] }[]>`
    select array_agg(distinct t) as instants from (
      select extract(epoch from last_updated_at)::bigint as t from batch_call_history
      union all select extract(epoch from deleted_at)::bigint from batch_calls where deleted_at is not null
    ) x`;
  for (const t of (bounds?.instants ?? []).flatMap((x) => [Number(x) - 1, Number(x), Number(x) + 1])) {
    const asOf = await database.sql<{ key: string }[]>`
      select workspace || '/' || id || '@' || last_updated_at_unix as key from batch_calls_as_of(${at(t)}) order by 1`;
    const brute = await database.sql<{ key: string }[]>`
      select key from (
        select v.workspace || '/' || v.id || '@' || v.last_updated_at_unix as key, v.last_updated_at as valid_from,
               coalesce(lead(v.last_updated_at) over w, c.deleted_at) as valid_to
        from batch_call_history v left join batch_calls c on c.workspace = v.workspace and c.id = v.id
        window w as (partition by v.workspace, v.id order by v.last_updated_at_unix)
      ) b
      where valid_from <= ${at(t)} and (valid_to is null or valid_to > ${at(t)}) order by 1`;
    expect(asOf.map((r) => r.key), `as of ${at(t)}`).toEqual(brute.map((r) => r.key));
  }
}

async function stampOf(id: string, ts: number): Promise<{ valid_to: string; previous_status: string | null }> {
  const [row] = await database.sql<{ valid_to: string; previous_status: string | null }[]>`
    select case when valid_to = 'infinity' then 'infinity' else to_char(valid_to at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') end as valid_to, previous_status
    from batch_call_history where workspace = ${WS} and id = ${id} and last_updated_at_unix = ${ts}`;
  return row!;
}
const iso = (unix: number) => at(unix).slice(0, 19);

describe('stored validity intervals', () => {
  it('splits an interval when a version arrives late (older than the newest stored)', async () => {
    await syncPages([[job('a', T0, 'pending')], [job('a', T0 + 2 * H, 'completed')]]);
    expect(await stampOf('a', T0)).toEqual({ valid_to: iso(T0 + 2 * H), previous_status: null });
    // A lagging replica serves the in-between version afterwards.
    await syncPages([[job('a', T0 + H, 'in_progress')]]);
    expect(await stampOf('a', T0)).toEqual({ valid_to: iso(T0 + H), previous_status: null });
    expect(await stampOf('a', T0 + H)).toEqual({ valid_to: iso(T0 + 2 * H), previous_status: 'pending' });
    expect(await stampOf('a', T0 + 2 * H)).toEqual({ valid_to: 'infinity', previous_status: 'in_progress' });
    const [current] = await database.sql`select status from batch_calls where id = 'a'`;
    expect(current!.status).toBe('completed');
    await expectConsistent();
  });

  it('ends the newest version at deleted_at, and reopens it when the job is listed again', async () => {
    await syncPages([[job('a', T0, 'pending'), job('b', T0, 'pending')], [job('a', T0 + H, 'in_progress')]]);
    await database.sql`update batch_calls set deleted_at = ${at(T0 + 5 * H)} where id = 'a'`;
    expect(await stampOf('a', T0 + H)).toEqual({ valid_to: iso(T0 + 5 * H), previous_status: 'pending' });
    expect(await stampOf('a', T0)).toEqual({ valid_to: iso(T0 + H), previous_status: null });
    await expectConsistent();
    // The page write's own undelete: the API lists it again, unchanged.
    await syncPages([[job('a', T0 + H, 'in_progress')]], [['a']]);
    expect(await stampOf('a', T0 + H)).toEqual({ valid_to: 'infinity', previous_status: 'pending' });
    await expectConsistent();
  });

  it('stays right for a backfill written straight into the tables with plain INSERT, UPDATE and DELETE', async () => {
    await syncPages([[job('a', T0 + 3 * H, 'in_progress')]]);
    // Older versions of a synced job, several in one statement, out of order.
    await database.sql`
      insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
      values (${WS}, 'a', 'job a', 'ag_1', 'Priya', ${T0}, ${T0}, ${T0 + 2 * H}, 'pending', '{}'),
             (${WS}, 'a', 'job a', 'ag_1', 'Priya', ${T0}, ${T0}, ${T0}, 'pending', '{}')`;
    expect(await stampOf('a', T0)).toEqual({ valid_to: iso(T0 + 2 * H), previous_status: null });
    expect(await stampOf('a', T0 + 2 * H)).toEqual({ valid_to: iso(T0 + 3 * H), previous_status: 'pending' });
    await expectConsistent();
    // A job that exists only in the backfill: history first, then its current row, already marked deleted.
    await insertVersion('z', T0, 'pending');
    await insertVersion('z', T0 + H, 'failed');
    await database.sql`
      insert into batch_calls (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw, deleted_at)
      values (${WS}, 'z', 'job z', 'ag_1', 'Priya', ${T0}, ${T0}, ${T0 + H}, 'failed', '{}', ${at(T0 + 4 * H)})`;
    expect(await stampOf('z', T0 + H)).toEqual({ valid_to: iso(T0 + 4 * H), previous_status: 'pending' });
    await expectConsistent();
    // Repairs: a version's timestamp corrected, a status corrected, a bogus version removed, a current row removed.
    await database.sql`update batch_call_history set last_updated_at_unix = ${T0 + 4 * H} where id = 'a' and last_updated_at_unix = ${T0 + 2 * H}`;
    expect(await stampOf('a', T0 + 3 * H)).toEqual({ valid_to: iso(T0 + 4 * H), previous_status: 'pending' });
    await expectConsistent();
    await database.sql`update batch_call_history set status = 'cancelled' where id = 'a' and last_updated_at_unix = ${T0 + 3 * H}`;
    expect(await stampOf('a', T0 + 4 * H)).toEqual({ valid_to: 'infinity', previous_status: 'cancelled' });
    await database.sql`delete from batch_call_history where id = 'a' and last_updated_at_unix = ${T0 + 3 * H}`;
    expect(await stampOf('a', T0)).toEqual({ valid_to: iso(T0 + 4 * H), previous_status: null });
    await database.sql`update batch_call_history set observed_at = observed_at - interval '3 days' where id = 'z'`;
    await database.sql`delete from batch_calls where id = 'z'`;
    expect(await stampOf('z', T0 + H)).toEqual({ valid_to: 'infinity', previous_status: 'pending' });
    await expectConsistent();
  });

  it('keeps the interval of an amended version (same timestamp, new content) and follows a changed status', async () => {
    await syncPages([[job('a', T0, 'pending')], [job('a', T0 + H, 'in_progress')], [job('a', T0 + 2 * H, 'completed')]]);
    // The API changed the middle version without bumping its timestamp: a counter, then the status itself.
    await syncPages([[job('a', T0 + H, 'in_progress', { total_calls_finished: 3 })]]);
    expect(await stampOf('a', T0 + H)).toEqual({ valid_to: iso(T0 + 2 * H), previous_status: 'pending' });
    await syncPages([[job('a', T0 + H, 'failed', { total_calls_finished: 3 })]]);
    const [amended] = await database.sql`select amended_at is not null as amended from batch_call_history where id = 'a' and last_updated_at_unix = ${T0 + H}`;
    expect(amended!.amended).toBe(true);
    expect(await stampOf('a', T0 + H)).toEqual({ valid_to: iso(T0 + 2 * H), previous_status: 'pending' });
    expect(await stampOf('a', T0 + 2 * H)).toEqual({ valid_to: 'infinity', previous_status: 'failed' });
    await expectConsistent();
  });

  it('equals a brute-force computation from history after a random mix of writes', async () => {
    // A fixed pseudo-random sequence (no Math.random: a failure must reproduce).
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const statuses = ['pending', 'in_progress', 'completed', 'failed'];
    for (let round = 0; round < 12; round++) {
      const page = Array.from({ length: 8 }, () => job(`j${next(6)}`, T0 + next(40) * 600, statuses[next(4)]!));
      await syncPages([page]);
      const victim = `j${next(6)}`;
      if (next(3) === 0) await database.sql`update batch_calls set deleted_at = ${at(T0 + next(40) * 600)} where id = ${victim}`;
      if (next(4) === 0) await database.sql`update batch_calls set deleted_at = null where id = ${victim}`;
      if (next(5) === 0) await insertVersion(victim, T0 + next(40) * 600 + 1, statuses[next(4)]!);
      if (next(6) === 0) await database.sql`delete from batch_call_history where ctid = (select ctid from batch_call_history where id = ${victim} limit 1)`;
    }
    await expectConsistent();
  });

  it('serves as-of from an index, not a window over history', async () => {
    await syncPages([[job('a', T0, 'pending'), job('b', T0, 'pending')]]);
    await database.sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      const plan = await tx.unsafe<{ 'QUERY PLAN': string }[]>(
        `explain select count(*) from batch_calls_as_of('${at(T0)}') where status = 'pending'`,
      );
      const text = plan.map((r) => r['QUERY PLAN']).join('\n');
      expect(text).toMatch(/batch_call_history_valid_idx|batch_call_history_valid_from_brin|batch_call_history_changed_idx/);
      expect(text).not.toMatch(/WindowAgg|Seq Scan/);
    });
  });
});
