import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunOwner } from '../../src/db/runs/run-owner.ts';
import { writePage } from '../../src/db/write-page.ts';
import { toPageRows } from '../../src/pages/page-rows.ts';
import { validateItems } from '../../src/pages/validate.ts';
import { batchCalls } from '../../src/resources/batch-calls.ts';
import { batchCall, T0 } from '../helpers/batch-call.ts';
import { spawnCli, type Child } from '../helpers/child.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { ownRun } from '../helpers/own-run.ts';

let database: TestDatabase;
const children: Child[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  for (const child of children) child.process.kill('SIGKILL');
  await database.drop();
});
beforeEach(async () => {
  await database.sql`truncate batch_calls, batch_call_history, sync_runs, change_feed, feed_consumers cascade`;
});

function changes(args: string[]): Child {
  const child = spawnCli(['changes', ...args], { DATABASE_URL: database.url, LOG_LEVEL: 'warn' });
  children.push(child);
  return child;
}

interface Line {
  id: number;
  position: string;
  kind: string;
  job_id: string;
}

/** The complete feed lines of a child's output (stderr's log lines, JSON too, have no position). */
const linesOf = (text: string): Line[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{"id"') && l.endsWith('}'))
    .map((l) => JSON.parse(l) as Line);

/** Resolves once the child has printed `n` complete lines since it started. */
function stdoutLines(child: Child, n: number): Promise<Line[]> {
  return new Promise((resolve, reject) => {
    let newlines = 0;
    const check = () => {
      if (newlines < n) return false;
      const lines = linesOf(child.output());
      if (lines.length < n) return false;
      child.process.stdout!.off('data', onData);
      resolve(lines);
      return true;
    };
    const onData = (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 10) newlines += 1;
      check();
    };
    newlines = child.output().split('\n').length - 1;
    if (check()) return;
    child.process.stdout!.on('data', onData);
    void child.exited.then((code) => reject(new Error(`changes exited (${code}) before ${n} lines: ${child.output().slice(-500)}`)));
  });
}

/** `n` entries written straight into the feed, one transaction. */
async function entries(n: number, workspace = 'w'): Promise<void> {
  await database.sql`
    insert into change_feed (kind, workspace, job_id, version, status)
    select 'created', ${workspace}, 'job' || g, ${T0} + g, 'pending' from generate_series(1, ${n}) g`;
}

async function positionOf(consumer: string): Promise<string | undefined> {
  const [row] = await database.sql<{ position: string }[]>`select position_xid::text || ':' || position_id::text as position from feed_consumers where name = ${consumer}`;
  return row?.position;
}

async function feedIds(): Promise<number[]> {
  return (await database.sql<{ id: number }[]>`select id::float8 as id from change_feed order by xid, id`).map((r) => r.id);
}

describe('threetone-sync changes', () => {
  it('prints every entry once as a JSON line, stores the position, and goes on from it next time', async () => {
    await entries(30);
    const first = changes(['--consumer', 'c1', '--limit', '20', '--batch-size', '7']);
    expect(await first.exited).toBe(0);
    const printed = linesOf(first.output());
    expect(printed).toHaveLength(20);
    expect(printed[0]).toMatchObject({ kind: 'created', workspace: 'w', job_id: 'job1', version: T0 + 1, status: 'pending', previous_status: null, run_id: null });
    expect(await positionOf('c1')).toBe(printed[19]!.position);
    const second = changes(['--consumer', 'c1']);
    expect(await second.exited).toBe(0);
    const rest = linesOf(second.output());
    expect([...printed, ...rest].map((l) => l.id)).toEqual(await feedIds());
    // Nothing new: nothing printed, and the position stays.
    const third = changes(['--consumer', 'c1', '--since', 'now']);
    expect(await third.exited).toBe(0);
    expect(linesOf(third.output())).toEqual([]);
    expect(third.output()).toContain('--since applies only to a new consumer');
  });

  it('starts a new consumer --since now after what is committed, and refuses a --since it cannot read', async () => {
    await entries(5);
    const now = changes(['--consumer', 'late', '--since', 'now']);
    expect(await now.exited).toBe(0);
    expect(linesOf(now.output())).toEqual([]);
    await entries(2);
    const next = changes(['--consumer', 'late']);
    expect(await next.exited).toBe(0);
    expect(linesOf(next.output()).map((l) => l.job_id)).toEqual(['job1', 'job2']);
    const bad = changes(['--consumer', 'x', '--since', 'yesterday']);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain('--since must be beginning, now');
  });

  it('resumes a consumer killed mid-batch from the last batch it wrote out, losing nothing', async () => {
    await entries(15_000);
    const all = await feedIds();
    const killed = changes(['--consumer', 'k', '--batch-size', '5000']);
    // Into the second batch: the first was written out and acknowledged before the second was read.
    const seen = await stdoutLines(killed, 5001);
    // Stop reading: the rest of the second batch (about 1.2 MB, more than the pipe holds) blocks the child's
    // write, before its acknowledgement.
    killed.process.stdout!.pause();
    killed.process.kill('SIGKILL');
    await killed.exited;
    expect(linesOf(killed.output()).length).toBeLessThan(10_000);
    expect(await positionOf('k')).toBe(seen[4999]!.position);
    const resumed = changes(['--consumer', 'k', '--batch-size', '5000']);
    expect(await resumed.exited).toBe(0);
    const again = linesOf(resumed.output());
    expect(again[0]!.id).toBe(all[5000]);
    const union = new Set([...linesOf(killed.output()), ...again].map((l) => l.id));
    expect([...union].sort((a, b) => a - b)).toEqual([...all].sort((a, b) => a - b));
    expect(await positionOf('k')).toBe(again[again.length - 1]!.position);
  });

  it('refuses a second process on the same consumer', async () => {
    await entries(1);
    const follower = changes(['--consumer', 'one', '--follow']);
    await stdoutLines(follower, 1);
    const second = changes(['--consumer', 'one']);
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain('is being read by another process');
    follower.process.kill('SIGTERM');
    expect(await follower.exited).toBe(0);
  });

  it('--follow falls back to polling when its notification connection is killed, and listens again', async () => {
    await entries(1);
    const follower = changes(['--consumer', 'dropped', '--follow']);
    await stdoutLines(follower, 1);
    const listenPid = async () =>
      (await database.sql<{ pid: number }[]>`
        select pid from pg_stat_activity where datname = current_database() and application_name = 'threetone-sync-listen' and query ilike 'listen%'`)[0]?.pid;
    let pid: number | undefined;
    while ((pid = await listenPid()) === undefined) await new Promise((r) => setTimeout(r, 50));
    await database.sql`select pg_terminate_backend(${pid})`;
    await entries(1);
    expect((await stdoutLines(follower, 2))[1]).toMatchObject({ kind: 'created', job_id: 'job1' });
    // LISTEN is back (a new backend), and a commit is printed again.
    let again: number | undefined;
    while ((again = await listenPid()) === undefined || again === pid) await new Promise((r) => setTimeout(r, 50));
    await entries(1);
    await stdoutLines(follower, 3);
    expect(follower.output()).toContain('change notifications are down');
    follower.process.kill('SIGTERM');
    expect(await follower.exited).toBe(0);
  });

  it('--follow prints a page as soon as it commits', async () => {
    const follower = changes(['--consumer', 'f', '--follow']);
    const { owner, release } = await ownRun(database, 'w');
    try {
      // The follower is up once it printed the first page; then the second must come by NOTIFY.
      await write(owner, [batchCall('a', T0 + 1), batchCall('b', T0 + 1)]);
      expect((await stdoutLines(follower, 2)).map((l) => [l.kind, l.job_id])).toEqual(expect.arrayContaining([['created', 'a'], ['created', 'b']]));
      await write(owner, [batchCall('a', T0 + 2, { status: 'completed' })]);
      const lines = await stdoutLines(follower, 3);
      expect(lines[2]).toMatchObject({ kind: 'updated', job_id: 'a', status: 'completed', previous_status: 'pending', run_id: owner.runId });
    } finally {
      await release();
    }
    follower.process.kill('SIGTERM');
    expect(await follower.exited).toBe(0);
  });
});

async function write(owner: RunOwner, items: Record<string, unknown>[]) {
  const { valid, rejected } = validateItems(batchCalls, items);
  return writePage(database.sql, {
    resource: batchCalls, owner, page: 1, rows: toPageRows(batchCalls, valid), rejected, itemsSeen: items.length, nextCursor: null,
    listedIds: valid.map((v) => v.item.id), recordSeen: false, requests: 0, retries: 0,
  });
}
