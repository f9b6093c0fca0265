import { describe, expect, it } from 'vitest';
import { anchorsFor, buildReport } from '../../src/report/model.ts';
import { GLOBEX, HOSTILE, REPORT_DATA } from './fixture.ts';

describe('the report model', () => {
  const model = buildReport(REPORT_DATA);
  const acme = model.workspaces.find((w) => w.workspace === 'acme')!;

  it('totals jobs by status and calls, and works the finish rate out from the summed calls', () => {
    expect(model.totals).toEqual({
      workspaces: 3,
      jobs: 31,
      byStatus: { pending: 4, in_progress: 3, completed: 21, failed: 2, cancelled: 0, paused: 1 },
      callsScheduled: 1260,
      callsFinished: 1119,
      finishRate: 1119 / 1260,
    });
    expect(acme.totals).toMatchObject({ jobs: 25, callsScheduled: 1200, callsFinished: 1089, finishRate: 1089 / 1200 });
    expect(model.workspaces.find((w) => w.workspace === 'idle')!.totals).toMatchObject({ jobs: 0, finishRate: null });
  });

  it('has every day of the window, empty days included, and only today marked partial', () => {
    expect(acme.days.map((d) => d.day)).toEqual(['2026-11-30', '2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06']);
    expect(acme.days.map((d) => d.total)).toEqual([12, 0, 8, 0, 0, 0, 5]);
    expect(acme.days.filter((d) => d.partial).map((d) => d.day)).toEqual(['2026-12-06']);
    expect(model.today).toBe('2026-12-06');
    // No jobs, no chart and no table.
    expect(model.workspaces.find((w) => w.workspace === 'idle')!.days).toEqual([]);
  });

  it('lists the known statuses in the API order, then the others seen', () => {
    expect(model.statuses).toEqual(['pending', 'in_progress', 'completed', 'failed', 'cancelled', 'paused']);
  });

  it('orders agents lowest finish rate first, those without calls last', () => {
    expect(acme.agents.map((a) => [a.agentName, a.finishRate])).toEqual([
      ['Priya', 0.899],
      ['Omar', 0.95],
      [HOSTILE, null],
    ]);
  });

  it('reads freshness into times and ages, and never-synced as null', () => {
    expect(acme.lastSuccessAt).toEqual(new Date('2026-12-06T08:01:00Z'));
    expect(acme.syncAgeMs).toBe(624_000);
    expect(model.workspaces.find((w) => w.workspace === GLOBEX)).toMatchObject({ lastSuccessAt: null, syncAgeMs: null, lastRunStatus: 'failed' });
  });

  it('gives every workspace a distinct anchor made of safe characters', () => {
    expect(anchorsFor(['acme', 'Acme', 'a c', 'a-c', '<>', '"x"'])).toEqual(['ws-acme', 'ws-acme-2', 'ws-a-c', 'ws-a-c-2', 'ws', 'ws-x']);
    for (const w of model.workspaces) expect(w.anchor).toMatch(/^ws(-[a-z0-9]+)*(-\d+)?$/);
  });
});
