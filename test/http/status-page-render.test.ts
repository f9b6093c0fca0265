import { describe, expect, it } from 'vitest';
import type { RunRow } from '../../src/db/runs/latest-runs.ts';
import { emptyCounters } from '../../src/domain/run-counters.ts';
import { failingStreak, renderStatusPage, type WorkspaceStatus } from '../../src/http/status-page.ts';

const NOW = new Date('2026-12-01T12:00:00Z');

function run(id: number, status: string, error: string | null = null): RunRow {
  const started = new Date(NOW.getTime() - id * 300_000).toISOString().replace('T', ' ').replace('Z', '+00');
  return { id: 100 - id, workspace: 'acme', kind: 'incremental', status, started_at: started, finished_at: status === 'running' ? null : started, counters: { ...emptyCounters(), pages: 1, itemsSeen: 10, requests: 1 }, error, stop_reason: status === 'failed' ? 'error' : null, list_order: 'created' };
}

function page(runs: RunRow[]): string {
  const status: WorkspaceStatus = { workspace: 'acme', lastSuccess: new Date('2026-11-30T12:00:00Z'), runs, versionsPerDay: [{ day: '2026-12-01', versions: 0 }], refusedReconcile: null };
  return renderStatusPage([status], { now: NOW, boardEnabled: false });
}

describe('the status page on a failing workspace', () => {
  const down = 'API request failed: 503 (gave up after 6 attempts)';

  it('shows a repeated error once, with how many runs it stood for, and keeps different errors apart', () => {
    const html = page([run(1, 'failed', down), run(2, 'failed', down), run(3, 'failed', down), run(4, 'failed', 'cannot reach Postgres'), run(5, 'succeeded')]);
    expect(html.split(down)).toHaveLength(2);
    expect(html).toContain('(×3: this run and the 2 older ones below)');
    expect(html).toContain('cannot reach Postgres</td>');
    expect((html.match(/<tr class="run">/g) ?? []).length).toBe(5);
  });

  it('says since when the runs have been failing, ignoring runs in progress and interrupted ones', () => {
    const runs = [run(0, 'running'), run(1, 'failed', down), run(2, 'interrupted', 'interrupted (shutting down)'), run(3, 'failed', down), run(4, 'succeeded')];
    expect(failingStreak(runs)).toEqual({ since: new Date(NOW.getTime() - 3 * 300_000), count: 2, all: false });
    expect(page(runs)).toMatch(/<strong>Failing<\/strong> since <time datetime="2026-12-01T11:45:00Z">[^<]+<\/time> <span class="age">\([^)]+\)<\/span>: 2 runs in a row/);
    expect(page([run(1, 'succeeded'), run(2, 'failed', down)])).not.toContain('Failing');
    expect(failingStreak([run(1, 'failed', down)])).toMatchObject({ count: 1, all: true });
  });
});

describe('the status page on a list whose order is not recognised', () => {
  it('warns while the newest walk that read a page found neither creation nor last-update order, and not after', () => {
    const unknown = { ...run(2, 'succeeded'), list_order: 'unknown' };
    const warning = 'List order not recognised:</strong> the API listed jobs in neither creation nor last-update order in its latest walk';
    expect(page([{ ...run(1, 'failed', 'API down'), list_order: null }, unknown])).toContain(warning);
    expect(page([run(1, 'succeeded'), unknown])).not.toContain('List order not recognised');
  });
});
