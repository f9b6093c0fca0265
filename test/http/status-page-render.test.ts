import { describe, expect, it } from 'vitest';
import type { RunRow } from '../../src/db/runs/latest-runs.ts';
import { emptyCounters } from '../../src/domain/run-counters.ts';
import { judgeWorkspace, type WorkspaceFacts } from '../../src/health/judge.ts';
import { parseOverviewQuery, renderOverview, TABLE_PAGE_SIZE } from '../../src/http/status-page/overview.ts';
import { renderWorkspaceDetail } from '../../src/http/status-page/workspace.ts';

const NOW = new Date('2026-12-01T12:00:00Z');
const MIN = 60_000;
const thresholds = { staleAfterMs: 15 * MIN, stuckAfterMs: 15 * MIN, syncEveryMs: 5 * MIN };
const chrome = { title: 'threetone-sync status', now: NOW, boardEnabled: false };

function run(id: number, status: string, error: string | null = null): RunRow {
  const started = new Date(NOW.getTime() - id * 300_000).toISOString().replace('T', ' ').replace('Z', '+00');
  return { id: 100 - id, workspace: 'acme', kind: 'incremental', status, started_at: started, finished_at: status === 'running' ? null : started, counters: { ...emptyCounters(), pages: 1, itemsSeen: 10, requests: 1 }, error, stop_reason: status === 'failed' ? 'error' : null, list_order: 'created' };
}

function facts(overrides: Partial<WorkspaceFacts> = {}): WorkspaceFacts {
  return { workspace: 'acme', firstRunAt: new Date('2026-11-01T00:00:00Z'), lastSuccessAt: new Date(NOW.getTime() - 2 * MIN), failing: null, running: [], refusedReconcile: null, listOrderUnknown: false, ...overrides };
}

function detail(runs: RunRow[], f: Partial<WorkspaceFacts> = {}): string {
  return renderWorkspaceDetail({ health: judgeWorkspace(facts(f), thresholds, NOW), runs, versionsPerDay: [{ day: '2026-12-01', versions: 0 }], running: [] }, chrome);
}

describe("a workspace's own page", () => {
  const down = 'API request failed: 503 (gave up after 6 attempts)';

  it('shows a repeated error once, with how many runs it stood for, and keeps different errors apart', () => {
    const html = detail([run(1, 'failed', down), run(2, 'failed', down), run(3, 'failed', down), run(4, 'failed', 'cannot reach Postgres'), run(5, 'succeeded')]);
    expect(html.split(down)).toHaveLength(2);
    expect(html).toContain('(×3: this run and the 2 older ones below)');
    expect(html).toContain('cannot reach Postgres</td>');
    expect((html.match(/<tr class="run">/g) ?? []).length).toBe(5);
  });

  it('leads with the verdict and its reason', () => {
    const html = detail([run(1, 'failed', down)], { failing: { runs: 2, since: new Date('2026-12-01T11:45:00Z'), error: down } });
    expect(html).toContain(`<p class="verdict"><span class="badge failing">failing</span> failing since 2026-12-01T11:45:00Z (15 min ago), 2 runs: ${down}</p>`);
  });

  it('warns while the newest walk found neither creation nor last-update order, and not after', () => {
    const warning = 'List order not recognised:</strong> the API listed jobs in neither creation nor last-update order in its latest walk';
    expect(detail([run(1, 'succeeded')], { listOrderUnknown: true })).toContain(warning);
    expect(detail([run(1, 'succeeded')])).not.toContain('List order not recognised');
  });
});

describe('the overview', () => {
  const many = Array.from({ length: 120 }, (_, i) =>
    judgeWorkspace(facts({ workspace: `ws-${String(i).padStart(3, '0')}`, ...(i === 77 ? { failing: { runs: 3, since: new Date(NOW.getTime() - 60 * MIN), error: '<b>boom</b>' } } : {}) }), thresholds, NOW),
  ).sort((a, b) => (a.state === b.state ? a.workspace.localeCompare(b.workspace) : a.state === 'failing' ? -1 : 1));

  it('counts states, lists what needs attention first and pages the rest', () => {
    const html = renderOverview(many, parseOverviewQuery(new URLSearchParams()), chrome);
    expect(html).toContain('<strong>1</strong> failing');
    expect(html).toContain('<strong>119</strong> ok');
    expect(html).toMatch(/Needs attention \(1\)<\/h2>\n<ol class="attention">\n<li><span class="badge failing">failing<\/span><a href="\/workspaces\/ws-077">ws-077<\/a><span class="reason">failing since [^<]+, 3 runs: &lt;b&gt;boom&lt;\/b&gt;<\/span><\/li>/);
    expect((html.match(/<tr>/g) ?? []).length).toBe(TABLE_PAGE_SIZE + 1);
    expect(html).toContain('1–50 of 120');
    expect(html).toContain('<a href="/?page=2">next →</a>');
  });

  it('filters by state and by name, and keeps the filter across pages', () => {
    expect(renderOverview(many, parseOverviewQuery(new URLSearchParams('state=failing')), chrome)).toContain('1–1 of 1');
    const second = renderOverview(many, parseOverviewQuery(new URLSearchParams('q=WS-0&page=2')), chrome);
    expect(second).toContain('51–100 of 100');
    expect(second).toContain('<a href="/?q=WS-0&amp;page=1">← previous</a>');
    expect(second).not.toContain('next →');
    // Past the last page: the last page.
    expect(renderOverview(many, parseOverviewQuery(new URLSearchParams('q=ws-1&page=9')), chrome)).toContain('1–20 of 20');
    expect(parseOverviewQuery(new URLSearchParams('state=nonsense&page=-3'))).toEqual({ page: 1 });
  });

  it('says so when nothing needs attention', () => {
    expect(renderOverview(many.filter((h) => h.state === 'ok'), { page: 1 }, chrome)).toContain('Nothing needs attention');
  });

  it('leads with a paused webhook, and says who delivers otherwise', () => {
    const webhook = {
      receiver: 'hooks.example.com#1a2b3c4d', consumer: 'webhook', role: 'delivering' as const, paused: true, pausedAt: new Date(NOW.getTime() - 20 * MIN),
      failures: 10, failingSince: new Date(NOW.getTime() - 35 * MIN), lastError: 'HTTP 503', lastAttemptAt: NOW, lastDeliveredAt: null, position: null,
      attempts: { delivered: 0, rejected: 10, error: 0, timeout: 0 }, entriesDelivered: 0,
    };
    const html = renderOverview(many, { page: 1 }, chrome, [], webhook);
    expect(html).toMatch(/<main>\n<p class="warning-box" role="alert"><strong>Webhook paused<\/strong> since <time[^>]*>[^<]*<\/time> <span class="age">20 min ago<\/span>: 10 failed attempts to hooks\.example\.com#1a2b3c4d, the last HTTP 503;/);
    expect(renderOverview(many, { page: 1 }, chrome, [], { ...webhook, paused: false, failures: 0, role: 'standby' })).toContain('another worker delivers (this one stands by)');
    expect(renderOverview(many, { page: 1 }, chrome)).not.toContain('Webhook');
  });
});
