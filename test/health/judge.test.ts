import { describe, expect, it } from 'vitest';
import { countStates, judgeWorkspace, worstFirst, type WorkspaceFacts } from '../../src/health/judge.ts';

const NOW = new Date('2026-12-06T08:00:00Z');
const MIN = 60_000;
const thresholds = { staleAfterMs: 15 * MIN, stuckAfterMs: 15 * MIN, syncEveryMs: 5 * MIN };
const ago = (ms: number) => new Date(NOW.getTime() - ms);

function facts(overrides: Partial<WorkspaceFacts> = {}): WorkspaceFacts {
  return { workspace: 'acme', firstRunAt: ago(30 * 86_400_000), lastSuccessAt: ago(2 * MIN), failing: null, running: [], refusedReconcile: null, listOrderUnknown: false, ...overrides };
}

describe('judging a workspace', () => {
  it('is ok when its last success is recent, and says how recent', () => {
    expect(judgeWorkspace(facts(), thresholds, NOW)).toMatchObject({ state: 'ok', reason: 'last success 2 min ago', stale: false, stuck: false });
  });

  it('calls a copy stale once its last success is older than the threshold, even with no failed run', () => {
    const h = judgeWorkspace(facts({ lastSuccessAt: ago(29 * MIN) }), thresholds, NOW);
    expect(h).toMatchObject({ state: 'stale', reason: 'stale: last success 29 min ago, expected every 5 min', stale: true });
    expect(judgeWorkspace(facts({ lastSuccessAt: ago(14 * MIN) }), thresholds, NOW).state).toBe('ok');
  });

  it('judges a workspace that never succeeded by its first run', () => {
    expect(judgeWorkspace(facts({ lastSuccessAt: null, firstRunAt: ago(3 * MIN) }), thresholds, NOW).stale).toBe(false);
    const h = judgeWorkspace(facts({ lastSuccessAt: null, firstRunAt: ago(3 * 86_400_000) }), thresholds, NOW);
    expect(h).toMatchObject({ state: 'stale', reason: 'stale: never succeeded; first run 3 days ago, expected every 5 min' });
  });

  it('puts failing first, with since when, how many runs and the newest error, and notes that it is stale too', () => {
    const h = judgeWorkspace(facts({ lastSuccessAt: ago(5 * 3_600_000), failing: { runs: 12, since: new Date('2026-12-06T03:00:00Z'), error: 'API key rejected (401)' } }), thresholds, NOW);
    expect(h.state).toBe('failing');
    expect(h.reason).toBe('failing since 2026-12-06T03:00:00Z (5 h 0 min ago), 12 runs: API key rejected (401)');
    expect(h.alsoStates).toEqual(['stale']);
  });

  it('calls a run stuck when its process is gone, or when it has not moved for the bound', () => {
    const run = { runId: 7, kind: 'full', startedAt: ago(60 * MIN), aliveAt: ago(40 * MIN), ownerAlive: true, pages: 2 };
    expect(judgeWorkspace(facts({ running: [run] }), thresholds, NOW)).toMatchObject({ state: 'stuck', reason: 'stuck: run 7 (full) has made no progress for 40 min' });
    const gone = judgeWorkspace(facts({ running: [{ ...run, aliveAt: ago(MIN), ownerAlive: false }] }), thresholds, NOW);
    expect(gone.state).toBe('stuck');
    expect(gone.reason).toMatch(/^stuck: run 7 \(full\) is marked running but its process is gone/);
    // Moving, with a live owner: running, not stuck.
    expect(judgeWorkspace(facts({ running: [{ ...run, aliveAt: ago(MIN) }] }), thresholds, NOW)).toMatchObject({ state: 'running', reason: 'running full since 2026-12-06T07:00:00Z: 2 pages so far' });
  });

  it('warns about a refused reconciliation and an unrecognised list order', () => {
    expect(judgeWorkspace(facts({ refusedReconcile: { at: ago(MIN), error: 'would mark 60 % deleted' } }), thresholds, NOW)).toMatchObject({ state: 'warning', reason: expect.stringContaining('would mark 60 % deleted') });
    expect(judgeWorkspace(facts({ listOrderUnknown: true }), thresholds, NOW).reason).toMatch(/^list order not recognised/);
  });

  it('orders worst first: by state, then longest in it, then by name', () => {
    const all = [
      judgeWorkspace(facts({ workspace: 'b-ok' }), thresholds, NOW),
      judgeWorkspace(facts({ workspace: 'stale-short', lastSuccessAt: ago(20 * MIN) }), thresholds, NOW),
      judgeWorkspace(facts({ workspace: 'a-ok' }), thresholds, NOW),
      judgeWorkspace(facts({ workspace: 'failing', failing: { runs: 1, since: ago(MIN), error: null } }), thresholds, NOW),
      judgeWorkspace(facts({ workspace: 'stale-long', lastSuccessAt: ago(90 * MIN) }), thresholds, NOW),
    ].sort(worstFirst);
    expect(all.map((h) => h.workspace)).toEqual(['failing', 'stale-long', 'stale-short', 'a-ok', 'b-ok']);
    expect(countStates(all)).toEqual({ failing: 1, stuck: 0, stale: 2, warning: 0, running: 0, ok: 2 });
  });
});
