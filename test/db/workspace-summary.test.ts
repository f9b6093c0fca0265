import { afterEach, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { databaseAt } from '../helpers/database-at.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { runMigrations } from '../../src/db/migrate.ts';

/** sync_workspaces as the migration's backfill computes it from the runs: what the trigger must keep equal. */
async function recomputed(sql: postgres.Sql) {
  return sql`
    WITH s AS (
      SELECT workspace, min(started_at) AS first_run_at, max(started_at) AS last_run_at,
             max(finished_at) FILTER (WHERE status = 'succeeded') AS last_success_at,
             max(started_at) FILTER (WHERE status = 'succeeded') AS last_success_started_at
      FROM sync_runs GROUP BY workspace)
    SELECT s.workspace, s.first_run_at, s.last_run_at, s.last_success_at,
           f.failing_runs, f.failing_since, f.failing_error,
           (SELECT r.list_order FROM sync_runs r WHERE r.workspace = s.workspace AND r.status <> 'running' AND r.list_order IS NOT NULL
             ORDER BY r.started_at DESC, r.id DESC LIMIT 1) AS list_order,
           COALESCE((SELECT r.stop_reason = 'delete_guard' FROM sync_runs r
             WHERE r.workspace = s.workspace AND r.kind = 'reconcile' AND r.finished_at IS NOT NULL AND (r.status = 'succeeded' OR r.stop_reason = 'delete_guard')
             ORDER BY r.finished_at DESC, r.id DESC LIMIT 1), false) AS reconcile_refused
    FROM s CROSS JOIN LATERAL (
      SELECT count(*)::int AS failing_runs, min(r.started_at) AS failing_since, (array_agg(r.error ORDER BY r.started_at DESC, r.id DESC))[1] AS failing_error
      FROM sync_runs r WHERE r.workspace = s.workspace AND r.status = 'failed' AND r.started_at > COALESCE(s.last_success_started_at, '-infinity')) f
    ORDER BY s.workspace`;
}

async function kept(sql: postgres.Sql) {
  return sql`
    SELECT workspace, first_run_at, last_run_at, last_success_at, failing_runs, failing_since, failing_error, list_order, reconcile_refused
    FROM sync_workspaces ORDER BY workspace`;
}

/** Runs of three workspaces starting a minute apart, each closed as the script says; what a worker's ledger does to rows. */
async function playRuns(sql: postgres.Sql, seed: number, hasAliveAt = true): Promise<void> {
  let state = seed;
  const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const outcomes = ['succeeded', 'failed', 'failed', 'interrupted', 'refused', 'resume'] as const;
  for (let i = 0; i < 60; i++) {
    const workspace = `ws-${Math.floor(random() * 3)}`;
    const kind = random() < 0.3 ? 'reconcile' : 'incremental';
    const [run] = await sql<{ id: number }[]>`
      INSERT INTO sync_runs (workspace, kind, started_at) VALUES (${workspace}, ${kind}, now() + make_interval(mins => ${i})) RETURNING id::int`;
    await sql`UPDATE sync_runs SET pages = 1 ${hasAliveAt ? sql`, alive_at = now()` : sql``} WHERE id = ${run!.id}`;
    const outcome = outcomes[Math.floor(random() * outcomes.length)]!;
    const order = random() < 0.2 ? 'unknown' : 'created';
    if (outcome === 'refused') {
      await sql`UPDATE sync_runs SET status = 'failed', stop_reason = 'delete_guard', error = 'would delete 90 %', list_order = ${order}, finished_at = now() + make_interval(mins => ${i}, secs => 30) WHERE id = ${run!.id}`;
    } else if (outcome === 'resume') {
      // Fails, then a later attempt resumes it and it succeeds.
      await sql`UPDATE sync_runs SET status = 'failed', error = ${`attempt ${i} failed`}, finished_at = now() WHERE id = ${run!.id}`;
      await sql`UPDATE sync_runs SET status = 'running', error = NULL, finished_at = NULL WHERE id = ${run!.id}`;
      await sql`UPDATE sync_runs SET status = 'succeeded', stop_reason = 'end', list_order = ${order}, finished_at = now() + make_interval(mins => ${i}, secs => 30) WHERE id = ${run!.id}`;
    } else {
      await sql`UPDATE sync_runs SET status = ${outcome}, error = ${outcome === 'failed' ? `run ${i} failed` : null}, list_order = ${order},
                  finished_at = now() + make_interval(mins => ${i}, secs => 30) WHERE id = ${run!.id}`;
    }
  }
}

describe('sync_workspaces, kept by a trigger on sync_runs', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('equals what the runs say after any sequence of starts, failures, resumes, refusals and successes', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    for (const seed of [1, 7, 42]) {
      await database.sql`TRUNCATE sync_runs CASCADE`;
      expect(await kept(database.sql)).toEqual([]);
      await playRuns(database.sql, seed);
      const expected = await recomputed(database.sql);
      expect(expected.length).toBe(3);
      expect(await kept(database.sql)).toEqual(expected);
    }
  });

  it('follows runs inserted already finished, many in one statement (a backfill), as it follows runs one at a time', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    await database.sql`
      INSERT INTO sync_runs (workspace, kind, status, started_at, finished_at, error, stop_reason, list_order)
      SELECT 'ws-' || (g % 3), CASE WHEN g % 7 = 0 THEN 'reconcile' ELSE 'incremental' END,
             CASE WHEN g % 10 = 0 OR g > 2990 THEN 'failed' ELSE 'succeeded' END,
             now() - make_interval(mins => 3000 - g), now() - make_interval(mins => 3000 - g) + interval '30 s',
             CASE WHEN g % 10 = 0 OR g > 2990 THEN 'run ' || g || ' failed' END,
             CASE WHEN g % 70 = 0 THEN 'delete_guard' WHEN g % 10 = 0 OR g > 2990 THEN 'error' ELSE 'end' END,
             CASE WHEN g % 11 = 0 THEN 'unknown' ELSE 'created' END
      FROM generate_series(1, 3000) g`;
    // One more, alone, after the bulk: the two paths agree on the same rows.
    await playRuns(database.sql, 11);
    expect(await kept(database.sql)).toEqual(await recomputed(database.sql));
    expect((await kept(database.sql)).find((w) => w.workspace === 'ws-1')).toMatchObject({ failing_runs: expect.any(Number) });
  });

  it('keeps a failing streak when retention deletes the failed runs it counted', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    await database.sql`INSERT INTO sync_runs (workspace, kind, status, started_at, finished_at, error) VALUES
      ('acme', 'incremental', 'failed', now() - interval '100 days', now() - interval '100 days', 'API key rejected (401)')`;
    await database.sql`DELETE FROM sync_runs`;
    expect(await kept(database.sql)).toEqual([expect.objectContaining({ workspace: 'acme', failing_runs: 1, failing_error: 'API key rejected (401)' })]);
  });

  it('is filled from the runs already kept when the migration runs', async () => {
    const { sql, url } = await databaseAt(9, cleanups);
    // Before migration 0010 there is no alive_at column.
    await playRuns(sql, 3, false);
    await runMigrations({ url });
    expect(await kept(sql)).toEqual(await recomputed(sql));
    expect((await kept(sql)).length).toBe(3);
  });
});
