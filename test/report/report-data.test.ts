import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadReportData } from '../../src/db/report-data.ts';
import { windowStart } from '../../src/report/days.ts';
import { buildReport } from '../../src/report/model.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { seedReport } from './seed.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedReport(database.sql);
});
afterAll(async () => {
  await database.drop();
});

describe('the report read from Postgres', () => {
  it('totals the jobs and calls of the window, live jobs only, with the overall finish rate', async () => {
    const model = buildReport(await loadReportData(database.sql, windowStart(new Date(), 30 * 86_400_000)));
    expect(model.totals).toMatchObject({ workspaces: 2, jobs: 7, callsScheduled: 60, callsFinished: 44, finishRate: 44 / 60 });
    const north = model.workspaces.find((w) => w.workspace === 'north')!;
    expect(north.totals).toMatchObject({ jobs: 6, byStatus: { completed: 2, pending: 1, failed: 3 }, callsScheduled: 50, callsFinished: 35, finishRate: 0.7 });
    expect(north.agents.map((a) => [a.agentName, a.jobs, a.finishRate])).toEqual([
      ['<b>Bo</b>, "the 2nd"', 4, 0.5],
      ['Ana', 2, 1],
    ]);
    // The jobs per day and the jobs per agent are the same jobs.
    expect(north.agents.reduce((sum, a) => sum + a.jobs, 0)).toBe(north.totals.jobs);
    expect(north.syncAgeMs).toBeGreaterThanOrEqual(7_200_000);
    expect(model.workspaces.find((w) => w.workspace === 'south')).toMatchObject({ lastSuccessAt: null, lastRunStatus: 'failed' });
  });

  it("marks Postgres's today as the partial day, the last of 31", async () => {
    const data = await loadReportData(database.sql, windowStart(new Date(), 30 * 86_400_000));
    const north = buildReport(data).workspaces.find((w) => w.workspace === 'north')!;
    expect(north.days).toHaveLength(31);
    expect(north.days.at(-1)).toMatchObject({ day: data.generatedAt.toISOString().slice(0, 10), partial: true, total: 3 });
    expect(north.days.filter((d) => d.partial)).toHaveLength(1);
    expect(north.days.at(-3)).toMatchObject({ total: 3, byStatus: { failed: 3 } });
  });

  it('reads the job 40 days old into a longer window', async () => {
    const model = buildReport(await loadReportData(database.sql, windowStart(new Date(), 45 * 86_400_000)));
    expect(model.workspaces.find((w) => w.workspace === 'north')!.totals).toMatchObject({ jobs: 7, callsScheduled: 150 });
  });
});
