import { describe, expect, it } from 'vitest';
import { runningWalks } from '../../src/db/runs/running-walks.ts';
import { emptyCounters } from '../../src/domain/run-counters.ts';
import { walkProgress } from '../../src/jobs/walk-progress.ts';
import { loadStatus, renderStatusPage } from '../../src/http/status-page.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { ownRun } from '../helpers/own-run.ts';

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
        const html = renderStatusPage(await loadStatus(database, new Date()), { now: new Date(), boardEnabled: false });
        expect(html).toMatch(/Running full since <time[^>]*>[^<]*<\/time>: page 3 of ~3 · 1,500 items · ETA 0 ms/);
      } finally {
        await run.release();
      }
    } finally {
      await database.drop();
    }
  });
});
