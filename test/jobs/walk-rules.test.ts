import { describe, expect, it } from 'vitest';
import { WalkTooLongError } from '../../src/errors/WalkTooLongError.ts';
import { isPermanent } from '../../src/errors/is-permanent.ts';
import { headBoundary, nextSweepBoundary, SWEEP_CLOCK_MARGIN_S, sweepRoundReached } from '../../src/jobs/head-sweep.ts';
import { ListOrderWatch, worstOrder } from '../../src/jobs/list-order.ts';
import { WALK_PAGE_MARGIN, WalkBound } from '../../src/jobs/walk-bound.ts';

const item = (created: number, updated: number) => ({ created, updated });

describe('ListOrderWatch', () => {
  it('recognises creation order when last update goes up somewhere along the walk', () => {
    const watch = new ListOrderWatch();
    watch.observe([item(50, 90), item(40, 95)]);
    watch.observe([item(40, 41), item(10, 12)]);
    expect(watch.order).toBe('created');
  });

  it('recognises last-update order across pages', () => {
    const watch = new ListOrderWatch();
    watch.observe([item(10, 100), item(50, 90)]);
    watch.observe([item(5, 90), item(60, 70)]);
    expect(watch.order).toBe('updated');
  });

  it('treats a walk consistent with both orders as by last update (the one that needs the sweep)', () => {
    const watch = new ListOrderWatch();
    watch.observe([item(30, 30), item(20, 20), item(10, 10)]);
    expect(watch.order).toBe('updated');
  });

  it('calls an order that is neither unknown and says where it broke', () => {
    const watch = new ListOrderWatch();
    watch.observe([item(50, 90), item(40, 95)]);
    watch.observe([item(60, 99)]);
    expect(watch.order).toBe('unknown');
    expect(watch.evidence).toBe('page 2: created_at 40 then 60, last_updated_at 95 then 99');
  });

  it('takes the least trusted order of a run', () => {
    expect(worstOrder([])).toBe('created');
    expect(worstOrder(['created', 'updated'])).toBe('updated');
    expect(worstOrder(['updated', 'unknown', 'created'])).toBe('unknown');
  });
});

describe('the head sweep', () => {
  it('a round ends at the first page holding a job unchanged since its boundary, or at the last page', () => {
    expect(sweepRoundReached([120, 110, 100], 100, false)).toBe(false);
    expect(sweepRoundReached([120, 110, 99], 100, false)).toBe(true);
    expect(sweepRoundReached([120], 100, true)).toBe(true);
    expect(sweepRoundReached([], 100, false)).toBe(false);
  });

  it('another round follows only a round of several pages, reading back to the head that round saw', () => {
    expect(nextSweepBoundary({ pages: 1, headBoundaryS: 1_000 })).toBeUndefined();
    expect(nextSweepBoundary({ pages: 2, headBoundaryS: 1_000 })).toBe(1_000);
  });

  it('a head page bounds the next read by its newest last update, by the API\'s clock, unless that is implausibly ahead of ours', () => {
    expect(headBoundary([900, 1_000, 950], 2_000)).toBe(1_000);
    expect(headBoundary([900, 2_000 + SWEEP_CLOCK_MARGIN_S + 1], 2_000)).toBe(900);
    expect(headBoundary([], 2_000)).toBe(2_000 - SWEEP_CLOCK_MARGIN_S);
  });
});

describe('WalkBound', () => {
  it('never stops a walk whose pages bring new jobs, however many there are', () => {
    const bound = new WalkBound({ storedLive: 0, pageSize: 2, maxPages: 0 });
    for (let page = 0; page < 500; page++) bound.afterPage([`a${page}`, `b${page}`]);
    expect(bound.limit).toBe(2 * 500 + WALK_PAGE_MARGIN);
  });

  it('stops a walk of empty pages past twice the stored jobs\' pages plus the margin, as a permanent one-line error', () => {
    const bound = new WalkBound({ storedLive: 100, pageSize: 10, maxPages: 0 });
    const limit = 2 * 10 + WALK_PAGE_MARGIN;
    for (let page = 0; page < limit; page++) bound.afterPage([]);
    let error: unknown;
    try {
      bound.afterPage([]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WalkTooLongError);
    expect(isPermanent(error)).toBe(true);
    expect((error as Error).message).toMatch(/^walk stopped at 70 pages without reaching the end \(0 distinct jobs listed\).*\(after page 71\)$/);
  });

  it('stops the same items served again and again with fresh cursors', () => {
    const bound = new WalkBound({ storedLive: 0, pageSize: 2, maxPages: 0 });
    expect(() => {
      for (let page = 0; page < 1000; page++) bound.afterPage(['x', 'y']);
    }).toThrow(WalkTooLongError);
  });

  it('WALK_MAX_PAGES overrides the derived bound', () => {
    const bound = new WalkBound({ storedLive: 1_000_000, pageSize: 10, maxPages: 3 });
    bound.afterPage(['a']);
    bound.afterPage(['b']);
    bound.afterPage(['c']);
    expect(() => bound.afterPage(['d'])).toThrow(/walk stopped at 3 pages/);
  });
});
