/**
 * A small seeded PRNG (mulberry32). The simulator must be reproducible: the
 * same seed has to give the same dataset and the same fault sequence, which
 * Math.random() cannot offer.
 */

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ALNUM_CODES = Array.from(ALNUM, (c) => c.charCodeAt(0));

export class Rng {
  private state: number;
  private readonly scratch = new Map<number, number[]>();

  constructor(seed: number) {
    // Fold any number (negative, fractional, large) into a 32-bit state.
    this.state = (Math.trunc(seed) ^ 0x6d2b79f5) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    if (max <= min) return min;
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick() from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Picks by weight: `weighted([['a', 3], ['b', 1]])` returns 'a' 75% of the time. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of choices) total += w;
    let r = this.next() * total;
    for (const [value, w] of choices) {
      r -= w;
      if (r < 0) return value;
    }
    return (choices[choices.length - 1] as readonly [T, number])[0];
  }

  /**
   * `prefix` + `length` random lowercase alphanumerics. Built from char codes
   * in one go so V8 stores a flat string rather than a concatenation rope,
   * which matters when a million ids are kept in memory.
   */
  alnum(length: number, prefix = ''): string {
    const total = prefix.length + length;
    // One scratch array per length, reused: a fresh array per id is pure garbage.
    let codes = this.scratch.get(total);
    if (!codes) {
      codes = new Array<number>(total).fill(0);
      this.scratch.set(total, codes);
    }
    for (let i = 0; i < prefix.length; i++) codes[i] = prefix.charCodeAt(i);
    for (let i = prefix.length; i < total; i++) {
      codes[i] = ALNUM_CODES[Math.floor(this.next() * ALNUM_CODES.length)] as number;
    }
    return String.fromCharCode.apply(null, codes);
  }

  /** Up to `n` distinct elements, in random order (partial Fisher-Yates on a copy). */
  sample<T>(items: readonly T[], n: number): T[] {
    const copy = items.slice();
    const count = Math.min(Math.max(0, Math.floor(n)), copy.length);
    for (let i = 0; i < count; i++) {
      const j = this.int(i, copy.length - 1);
      const tmp = copy[i] as T;
      copy[i] = copy[j] as T;
      copy[j] = tmp;
    }
    return copy.slice(0, count);
  }
}
