import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

export interface ChaosArgs {
  minutes: number;
  seed: number;
  /** Where the JSON record goes; worker logs go next to it. */
  out: string;
  /** Record a failed round and go on to the next (exit 1 at the end), to see every failure of a long run. */
  keepGoing: boolean;
}

export const USAGE = 'usage: npm run chaos -- [--minutes N] [--seed S] [--out FILE] [--keep-going]';

/** `--minutes` (default 1, fractions allowed), `--seed` (default: drawn, and printed so the run can be replayed), `--out`, `--keep-going`. */
export function parseChaosArgs(argv: string[], now = Date.now()): ChaosArgs {
  const { values } = parseArgs({
    args: argv,
    options: { minutes: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, 'keep-going': { type: 'boolean' } },
    strict: true,
    allowPositionals: false,
  });
  const minutes = values.minutes === undefined ? 1 : Number(values.minutes);
  if (!(minutes > 0 && minutes <= 24 * 60)) throw new Error(`--minutes must be a number above 0 (got "${values.minutes}")`);
  const seed = values.seed === undefined ? now % 1_000_000 : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed must be a whole number from 0 (got "${values.seed}")`);
  // Not the checkout: the record and the worker logs are a run's output, not the project's.
  const out = path.resolve(values.out ?? path.join(tmpdir(), `chaos-record-${seed}-${now}.json`));
  return { minutes, seed, out, keepGoing: values['keep-going'] === true };
}
