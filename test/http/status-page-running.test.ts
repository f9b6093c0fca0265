import { describe, expect, it } from 'vitest';
import { runningWalks } from '../../src/db/runs/running-walks.ts';
import { emptyCounters } from '../../src/domain/run-counters.ts';
import { walkProgress } from '../../src/jobs/walk-progress.ts';
import { loadConfig } from '../../src/config.ts';
import { loadHealth } from '../../src/health/load-health.ts';
import { loadWorkspaceDetail, renderWorkspaceDetail } from '../../src/http/status-page/workspace.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { ownRun } from '../helpers/own-run.ts';

const health = loadConfig({}).health;

describe('a running walk on the status page', () => {
  it('expects pages from the stored rows and estimates the finish', () => {
    const walk = { kind: 'full', counters: { ...emptyCounters(), pages: 40, itemsSeen: 20_000 }, stored_jobs: 75_000, started_at: '2026-12-01 10:00:00+00' };
    const now = Date.parse('2026-12-01T10:00:40Z');
    // Pace: 1 s a page so far, 110 pages left.
    expect(walkProgress(walk, now, 500)).toEqual({ expectedPages: 150, pagesLeft: 110, etaMs: 110_000 });
    // With the budget's fastest schedule instead.
    expect(walkProgress(walk, now, 500, (left) => left * 10)).toEqual({ expectedPages: 150, pagesLeft: 110, etaMs: 1100 });
    expect(walkProgress({ ...walk, kind: 'incremental' }, now, 500).etaMs).toBeNull();
    expect(walkProgress({ ...walk, counters: emptyCounters() }, now, 500)).toMatchObject({ expectedPages: 150, etaMs: null });
  });

  it('reads running runs from Postgres and shows their progress', async () => {
    const database = await createTestDatabase();
    try {
      const run = await ownRun(database, 'acme', 'full');
      try {
        await database.sql`update sync_runs set pages = 3, items_seen = 1500 where id = ${run.owner.runId}`;
        const walks = await runningWalks(database.sql);
        expect(walks).toEqual([expect.objectContaining({ id: run.owner.runId, workspace: 'acme', counters: expect.objectContaining({ pages: 3, itemsSeen: 1500 }), stored_jobs: 0 })]);
        const now = new Date();
        const detail = await loadWorkspaceDetail(database.sql, 'acme', health, now);
        expect(renderWorkspaceDetail(detail!, { title: 't', now, boardEnabled: false })).toMatch(/Running full since <time[^>]*>[^<]*<\/time>: page 3 of ~3 · 1,500 items · ETA 0 ms/);
        expect((await loadHealth(database.sql, health, now))[0]).toMatchObject({ state: 'running', stuck: false });
      } finally {
        await run.release();
      }
    } finally {
      await database.drop();
    }
  });

  it('calls a run stuck once its process is gone, though its row still says running', async () => {
    const database = await createTestDatabase();
    try {
      const run = await ownRun(database, 'acme', 'incremental');
      expect((await loadHealth(database.sql, health, new Date()))[0]).toMatchObject({ state: 'running', stuck: false });
      // The process dies: its lock session goes, its row stays `running` until the next run of the workspace.
      await run.release();
      const [judged] = await loadHealth(database.sql, health, new Date());
      expect(judged).toMatchObject({ state: 'stuck', stuck: true });
      expect(judged!.reason).toMatch(new RegExp(`^stuck: run ${run.owner.runId} \\(incremental\\) is marked running but its process is gone`));
    } finally {
      await database.drop();
    }
  });

  it('calls a run stuck when it has shown no progress for STUCK_AFTER, and a long budget wait it announced is progress', async () => {
    const database = await createTestDatabase();
    try {
      const run = await ownRun(database, 'acme', 'full');
      try {
        await database.sql`update sync_runs set alive_at = now() - interval '40 minutes' where id = ${run.owner.runId}`;
        const [judged] = await loadHealth(database.sql, health, new Date());
        expect(judged).toMatchObject({ state: 'stuck', reason: `stuck: run ${run.owner.runId} (full) has made no progress for 40 min` });
        // The run announces it will wait out the hour's budget: not stuck while it waits.
        const { announceWait } = await import('../../src/db/runs/announce-wait.ts');
        await announceWait(database.sql, run.owner, Date.now() + 50 * 60_000);
        expect((await loadHealth(database.sql, health, new Date()))[0]).toMatchObject({ state: 'running', stuck: false });
      } finally {
        await run.release();
      }
    } finally {
      await database.drop();
    }
  });
});
