import { describe, expect, it } from 'vitest';
import { formatProgress } from '../../src/cli/progress-line.ts';

describe('formatProgress', () => {
  it('shows pages, items, rate, new versions, retries and elapsed time', () => {
    const line = formatProgress(
      { runId: 1, workspace: 'acme', pages: 12, itemsSeen: 6000, versionsAdded: 40, versionsAmended: 0, rowsInserted: 0, rowsUpdated: 0, rejected: 0, undeleted: 0, requests: 14, retries: 2 },
      2_500,
    );
    expect(line).toBe('acme: page 12 · 6000 items · 2400 items/s · 40 new versions · 2 retries · 2.5s');
  });
});
