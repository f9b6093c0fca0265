import type { Admission, BudgetBlock, BudgetLimit } from './rule.ts';

/**
 * Where the log of request times of each key lives. Every method is atomic per key across everything sharing the
 * store, and reads the time from the store itself (Redis TIME, Postgres clock_timestamp()), so processes whose clocks
 * disagree still agree on the windows. Keys are API key fingerprints, never keys.
 */
export interface BudgetStore {
  /** Admits one request (logging its time) or says how long until room. */
  take(key: string, limits: readonly BudgetLimit[], marginMs: number): Promise<Admission>;
  /** Nothing is admitted on `key` for `ms` from now (store clock); an earlier block that lasts longer stays. */
  block(key: string, ms: number, reason: string): Promise<void>;
  /** The key's log within the longest window, its block, and the store's clock now (ms). */
  read(key: string, limits: readonly BudgetLimit[], marginMs: number): Promise<StoreSnapshot>;
  close(): Promise<void>;
}

export interface StoreSnapshot {
  now: number;
  times: number[];
  block: BudgetBlock | null;
}
