import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/simulator/random.ts';
import { parseChaosArgs } from './args.ts';
import { FAULT_KINDS, FaultDeck } from './faults.ts';

describe('FaultDeck', () => {
  it('deals every kind once per deck, so 3 decks hit each kind 3 times', () => {
    const deck = new FaultDeck(new Rng(7));
    const dealt = Array.from({ length: FAULT_KINDS.length * 3 }, () => deck.next());
    for (let d = 0; d < 3; d++) expect(new Set(dealt.slice(d * FAULT_KINDS.length, (d + 1) * FAULT_KINDS.length)).size).toBe(FAULT_KINDS.length);
  });

  it('replays from its seed, and another seed deals another order', () => {
    const deal = (seed: number) => {
      const deck = new FaultDeck(new Rng(seed));
      return Array.from({ length: 20 }, () => deck.next());
    };
    expect(deal(42)).toEqual(deal(42));
    expect(deal(42)).not.toEqual(deal(43));
  });
});

describe('parseChaosArgs', () => {
  it('defaults to one minute, a seed from the clock and a record in the temporary folder', () => {
    const args = parseChaosArgs([], 1_765_000_123_456);
    expect(args.minutes).toBe(1);
    expect(args.seed).toBe(123_456);
    expect(args.out).toMatch(/chaos-record-123456-1765000123456\.json$/);
  });

  it('takes --minutes, --seed and --out', () => {
    expect(parseChaosArgs(['--minutes', '10', '--seed', '5', '--out', '/tmp/x.json'])).toEqual({ minutes: 10, seed: 5, out: '/tmp/x.json', keepGoing: false });
    expect(parseChaosArgs(['--keep-going']).keepGoing).toBe(true);
  });

  it('refuses what it cannot use', () => {
    expect(() => parseChaosArgs(['--minutes', '0'])).toThrow('--minutes');
    expect(() => parseChaosArgs(['--seed', '-1'])).toThrow('--seed');
    expect(() => parseChaosArgs(['--rounds', '3'])).toThrow();
  });
});
