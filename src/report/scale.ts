/** Axis ticks at round numbers (1, 2 or 5 times a power of ten), so a reader can read a value off the axis. */

export interface Scale {
  min: number;
  max: number;
  step: number;
  /** From min to max, both included. */
  ticks: number[];
}

export function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  if (!(raw > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  // Tolerant: 1 - 0.95 is 0.050000000000000044, which must still step by 0.01, not 0.02.
  const normalised = raw / magnitude - 1e-9;
  return (normalised <= 1 ? 1 : normalised <= 2 ? 2 : normalised <= 5 ? 5 : 10) * magnitude;
}

function ticksOf(min: number, max: number, step: number): number[] {
  const count = Math.round((max - min) / step);
  // Rounded: 0.1 * 3 is 0.30000000000000004, which would print as such in a CSV or a label.
  return Array.from({ length: count + 1 }, (_, i) => Number((min + i * step).toPrecision(12)));
}

/** A count axis from 0 to at least `max`, in whole steps: a day's jobs are never 2.5. */
export function countScale(max: number, target = 4): Scale {
  const step = Math.max(1, niceStep(Math.max(max, 1), target));
  const top = Math.max(step, Math.ceil(max / step) * step);
  return { min: 0, max: top, step, ticks: ticksOf(0, top, step) };
}

/** The narrowest span a rate axis shows: below it, rounding noise would look like a difference. */
const MIN_RATE_SPAN = 0.05;

/**
 * A rate axis (0..1) from a round number at or below the smallest rate to 100 % (or the largest rate, if a bad
 * count put one above 1): rates of 89.9 % and 95.0 % then sit far apart instead of at the same bar length.
 */
export function rateScale(rates: number[], target = 5): Scale {
  const hi = Math.max(1, ...rates);
  const lo = Math.min(hi - MIN_RATE_SPAN, ...rates);
  const step = niceStep(hi - lo, target);
  const min = Math.max(0, Math.floor(Number((lo / step).toPrecision(12))) * step);
  const max = Math.ceil(Number((hi / step).toPrecision(12))) * step;
  return { min: Number(min.toPrecision(12)), max: Number(max.toPrecision(12)), step, ticks: ticksOf(min, max, step) };
}
