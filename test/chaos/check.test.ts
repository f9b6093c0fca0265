import { describe, expect, it } from 'vitest';
import { compareCopy, compareMarks, describeMismatch, formatDifference, INFINITY, type ApiJob, type Deletes, type StoredCopy } from './check.ts';

const DELETED_AT = '2026-12-06 09:00:00.123+00';
const job = (id: string, updated: number, extra: Record<string, unknown> = {}): ApiJob => ({ id, last_updated_at_unix: updated, status: 'pending', name: `job ${id}`, ...extra });
const none: Deletes = { stored: new Set(), unseen: new Set() };

/** A copy that holds exactly `live` (one version each, current), plus `marked` jobs deleted at DELETED_AT. */
function exactCopy(live: ApiJob[], marked: ApiJob[] = []): StoredCopy {
  return {
    jobs: [...live.map((j) => ({ id: j.id, raw: { ...j }, deletedAt: null })), ...marked.map((j) => ({ id: j.id, raw: { ...j }, deletedAt: DELETED_AT }))],
    versions: [
      ...live.map((j) => ({ id: j.id, lastUpdatedAtUnix: j.last_updated_at_unix, validTo: INFINITY })),
      ...marked.map((j) => ({ id: j.id, lastUpdatedAtUnix: j.last_updated_at_unix, validTo: DELETED_AT })),
    ],
  };
}

function served(...jobs: ApiJob[]): Set<string> {
  return new Set(jobs.map((j) => `${j.id}@${j.last_updated_at_unix}`));
}

const lines = (differences: ReturnType<typeof compareCopy>) => differences.map(formatDifference);

describe('compareCopy', () => {
  const a = job('a', 100);
  const b = job('b', 200);
  const gone = job('gone', 50);

  it('finds nothing when the copy equals the API', () => {
    expect(compareCopy('ws', { live: [a, b], served: served(a, b) }, exactCopy([a, b]), none)).toEqual([]);
  });

  it('compares raw as parsed JSON: key order does not matter', () => {
    const copy = exactCopy([a]);
    copy.jobs[0]!.raw = Object.fromEntries(Object.entries(a).reverse());
    expect(compareCopy('ws', { live: [a], served: served(a) }, copy, none)).toEqual([]);
  });

  it('names a job the API lists that is not stored, or stored marked deleted', () => {
    const missing = exactCopy([a]);
    expect(lines(compareCopy('ws', { live: [a, b], served: served(a, b) }, missing, none))).toEqual(['ws b: listed by the API but not stored']);
    const marked = exactCopy([a], [b]);
    expect(lines(compareCopy('ws', { live: [a, b], served: served(a, b) }, marked, none))).toEqual([`ws b: listed by the API but marked deleted at ${DELETED_AT}`]);
  });

  it('says which fields of raw differ, stored value first', () => {
    const copy = exactCopy([a]);
    copy.jobs[0]!.raw = { ...a, status: 'in_progress', retry_count: 1 };
    expect(lines(compareCopy('ws', { live: [a], served: served(a) }, copy, none))).toEqual([
      'ws a: raw differs from the API: retry_count stored 1, API absent; status stored "in_progress", API "pending"',
    ]);
  });

  it('wants a job the API deleted after it was stored kept and marked', () => {
    const deletes: Deletes = { stored: new Set(['gone']), unseen: new Set() };
    expect(compareCopy('ws', { live: [a], served: served(a, gone) }, exactCopy([a], [gone]), deletes)).toEqual([]);
    const unmarked = exactCopy([a, gone]);
    expect(lines(compareCopy('ws', { live: [a], served: served(a, gone) }, unmarked, deletes))).toContain('ws gone: deleted by the API but not marked deleted');
    expect(lines(compareCopy('ws', { live: [a], served: served(a, gone) }, exactCopy([a]), deletes))).toEqual([
      'ws gone: deleted by the API after it was stored, but its row is gone',
    ]);
  });

  it('lets a job deleted before any walk stored it be absent, or stored and marked, never live', () => {
    const deletes: Deletes = { stored: new Set(), unseen: new Set(['gone']) };
    const api = { live: [a], served: served(a, gone) };
    expect(compareCopy('ws', api, exactCopy([a]), deletes)).toEqual([]);
    expect(compareCopy('ws', api, exactCopy([a], [gone]), deletes)).toEqual([]);
    expect(lines(compareCopy('ws', api, exactCopy([a, gone]), deletes))).toContain('ws gone: deleted by the API but not marked deleted');
  });

  it('names rows the API never listed nor deleted', () => {
    const api = { live: [a], served: served(a, gone) };
    expect(lines(compareCopy('ws', api, exactCopy([a, gone]), none))).toContain('ws gone: stored, but the API never listed it');
    expect(lines(compareCopy('ws', api, exactCopy([a], [gone]), none))).toContain(`ws gone: marked deleted at ${DELETED_AT}, but the API never deleted it`);
  });

  it('wants the current version in history, open (valid_to infinity), and only it', () => {
    const a2 = job('a', 150);
    const api = { live: [a2], served: served(a, a2) };
    const stale = exactCopy([a2]);
    stale.versions = [{ id: 'a', lastUpdatedAtUnix: 100, validTo: INFINITY }];
    expect(lines(compareCopy('ws', api, stale, none))).toEqual(['ws a: history lacks the current version 150 (has 100)']);

    const closed = exactCopy([a2]);
    closed.versions = [
      { id: 'a', lastUpdatedAtUnix: 100, validTo: INFINITY },
      { id: 'a', lastUpdatedAtUnix: 150, validTo: '2026-01-01 00:00:00+00' },
    ];
    expect(lines(compareCopy('ws', api, closed, none))).toEqual([
      'ws a: current version 150 has valid_to 2026-01-01 00:00:00+00, not infinity',
    ]);

    const twoOpen = exactCopy([a2]);
    twoOpen.versions = [
      { id: 'a', lastUpdatedAtUnix: 100, validTo: INFINITY },
      { id: 'a', lastUpdatedAtUnix: 150, validTo: INFINITY },
    ];
    expect(lines(compareCopy('ws', api, twoOpen, none))).toEqual(['ws a: 2 history rows with valid_to infinity (want 1)']);
  });

  it('wants a marked job\'s newest version closed at its deleted_at', () => {
    const deletes: Deletes = { stored: new Set(['gone']), unseen: new Set() };
    const api = { live: [a], served: served(a, gone) };
    const open = exactCopy([a], [gone]);
    open.versions[1]!.validTo = INFINITY;
    expect(lines(compareCopy('ws', api, open, deletes))).toEqual(['ws gone: marked deleted but 1 history row(s) still have valid_to infinity']);
    const wrong = exactCopy([a], [gone]);
    wrong.versions[1]!.validTo = '2026-12-06 08:00:00+00';
    expect(lines(compareCopy('ws', api, wrong, deletes))).toEqual([
      `ws gone: newest version 50 has valid_to 2026-12-06 08:00:00+00, not deleted_at ${DELETED_AT}`,
    ]);
  });

  it('names versions the API never served, and rows without history', () => {
    const copy = exactCopy([a, b]);
    copy.versions.push({ id: 'a', lastUpdatedAtUnix: 99, validTo: '2026-01-01 00:00:00+00' });
    copy.versions = copy.versions.filter((v) => v.id !== 'b');
    expect(lines(compareCopy('ws', { live: [a, b], served: served(a, b) }, copy, none))).toEqual([
      'ws a: history holds version 99, which the API never served',
      'ws b: stored without any history',
    ]);
  });
});

describe('compareMarks', () => {
  const deletes: Deletes = { stored: new Set(['d1']), unseen: new Set(['d2']) };

  it('accepts marks on jobs the API deleted, and none', () => {
    expect(compareMarks('ws', ['a', 'b'], ['d1', 'd2'], deletes)).toEqual([]);
    expect(compareMarks('ws', ['a', 'b'], [], deletes)).toEqual([]);
  });

  it('names a live job marked deleted, and a mark the API did not cause', () => {
    expect(compareMarks('ws', ['a', 'b'], ['b', 'x'], deletes).map(formatDifference)).toEqual([
      'ws b: marked deleted while the API lists it',
      'ws x: marked deleted, but the API never deleted it',
    ]);
  });
});

describe('describeMismatch', () => {
  it('shows four fields at most and counts the rest', () => {
    const stored = { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 };
    expect(describeMismatch(stored, {})).toBe('a stored 1, API absent; b stored 2, API absent; c stored 3, API absent; d stored 4, API absent (+2 more fields)');
  });

  it('cuts long values', () => {
    expect(describeMismatch('x'.repeat(100), null)).toBe(`stored "${'x'.repeat(59)}…, API null`);
  });
});
