import { describe, expect, it } from 'vitest';
import { countScale, rateScale } from '../../src/report/scale.ts';

describe('axis scales', () => {
  it('puts count ticks on round numbers from 0 to at least the largest value, in whole steps', () => {
    expect(countScale(788).ticks).toEqual([0, 200, 400, 600, 800]);
    expect(countScale(3).ticks).toEqual([0, 1, 2, 3]);
    expect(countScale(0).ticks).toEqual([0, 1]);
    expect(countScale(12_345).ticks).toEqual([0, 5000, 10_000, 15_000]);
  });

  it('starts a rate axis at a round number below the smallest rate, so 89.9% and 95.0% sit apart', () => {
    const scale = rateScale([0.899, 0.95]);
    expect(scale).toMatchObject({ min: 0.85, max: 1, step: 0.05 });
    expect(scale.ticks).toEqual([0.85, 0.9, 0.95, 1]);
  });

  it('keeps a rate axis at least 5 points wide, from 0 when a rate is near 0, and above 100% only for a rate above it', () => {
    expect(rateScale([1, 1])).toMatchObject({ min: 0.95, max: 1 });
    expect(rateScale([0.02, 0.9]).min).toBe(0);
    expect(rateScale([]).ticks.at(-1)).toBe(1);
    expect(rateScale([0.97, 1.02]).max).toBeGreaterThanOrEqual(1.02);
  });
});
