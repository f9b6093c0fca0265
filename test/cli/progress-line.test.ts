import { describe, expect, it } from 'vitest';
import { formatEta, formatProgress } from '../../src/cli/progress-line.ts';

const progress = { runId: 1, workspace: 'acme', pages: 12, itemsSeen: 6000, versionsAdded: 40, versionsAmended: 0, rowsInserted: 0, rowsUpdated: 0, rejected: 0, undeleted: 0, requests: 14, retries: 2 };

describe('formatProgress', () => {
  it('shows pages, items, rate, new versions, retries and elapsed time', () => {
    expect(formatProgress(progress, 2_500)).toBe('acme: page 12 · 6000 items · 2400 items/s · 40 new versions · 2 retries · 2.5s');
  });

  it('counts a budget wait down and shows the walk\'s ETA, right after the position (a narrow terminal cuts the end)', () => {
    const wait = { limit: '100/min', until: 1_000_000 + 41_200 };
    expect(formatProgress(progress, 2_500, { wait, now: 1_000_000, etaMs: 101_000 })).toBe(
      'acme: page 12 · 6000 items · waiting 42 s for the request budget (100/min) · ETA 1 min 41 s · 2400 items/s · 40 new versions · 2 retries · 2.5s',
    );
    // A wait that is over is no longer shown.
    expect(formatProgress(progress, 2_500, { wait, now: 1_041_200 })).toBe('acme: page 12 · 6000 items · 2400 items/s · 40 new versions · 2 retries · 2.5s');
  });

  it('formats an ETA in s, min or h', () => {
    expect([formatEta(0), formatEta(44_001), formatEta(61_000), formatEta(3_725_000)]).toEqual(['0 s', '45 s', '1 min 01 s', '1 h 02 min']);
  });
});
