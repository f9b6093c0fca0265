import type { Logger } from '../log.ts';
import { sleep } from '../util/sleep.ts';
import { bulkLimits, remainingIn, type BudgetLimit } from './rule.ts';
import { walkEta, type WalkEta } from './eta.ts';
import { learnFrom, type BudgetResponse } from './learn.ts';
import type { BudgetStore, StoreSnapshot } from './store.ts';

/** Default of THREETONE_BUDGET_MARGIN_MS: added to every window (clock skew between us and the API, and the API counting a request when it arrives, after we logged it). */
export const DEFAULT_MARGIN_MS = 1000;

/** Default of THREETONE_BUDGET_FRESH_RESERVE: the share of each window bulk requests leave to fresh ones. */
export const DEFAULT_FRESH_RESERVE = 0.2;

/** Waits longer than this are logged at info (shorter ones at debug): a user should never stare at a silent terminal. */
export const LOUD_WAIT_MS = 2000;

/** One wait for the budget: which limit, how long, until when (local Date.now() clock). */
export interface BudgetWait {
  limit: string;
  ms: number;
  until: number;
}

export interface TakeOptions {
  /** Called before every wait. */
  onWait?: (wait: BudgetWait) => void;
  /** A long walk's request: admitted only within the limits less the fresh reserve (rule.ts bulkLimits). Default false. */
  bulk?: boolean;
}

export interface WindowRemaining {
  window: string;
  remaining: number;
}

/** Every request to the API first takes a slot from the budget of its key. */
export interface RequestBudget {
  /** Resolves when a request may be sent; rejects if `signal` aborts while waiting. Returns ms waited. */
  take(signal?: AbortSignal, options?: TakeOptions): Promise<number>;
  /** Called with every API response: a 429 or a RateLimit header saying nothing remains blocks the key for everyone sharing the store. */
  learn?(response: BudgetResponse): Promise<void>;
  /** Requests each window would admit now (0 everywhere while a learned block holds). */
  remaining?(): Promise<WindowRemaining[]>;
  /** The fastest finish the limits allow for `requests` more requests, from the key's log now (local clock). */
  eta?(requests: number, perRequestMs?: number): Promise<WalkEta>;
}

export interface BudgetOptions {
  /** Added to every window. Default DEFAULT_MARGIN_MS. */
  marginMs?: number;
  /** Share of each window bulk takes leave to the others. Default DEFAULT_FRESH_RESERVE. */
  freshReserve?: number;
  /** Logs one line per wait (info when longer than LOUD_WAIT_MS). */
  log?: Logger;
  /** Called before every wait of every take (the worker's metrics, a progress display). */
  onWait?: (wait: BudgetWait) => void;
  /** Called after every wait with the ms actually waited (threetone_sync_budget_wait_seconds_total). */
  onWaited?: (ms: number) => void;
}

/** The budget of `key` (an API key's fingerprint, never the key itself) kept in `store`. */
export function createBudget(store: BudgetStore, key: string, limits: readonly BudgetLimit[], options: BudgetOptions = {}): RequestBudget & { key: string } {
  const marginMs = options.marginMs ?? DEFAULT_MARGIN_MS;
  const shortest = Math.min(...limits.map((l) => l.windowMs)) + marginMs;
  const bulk = bulkLimits(limits, options.freshReserve ?? DEFAULT_FRESH_RESERVE);
  const local = (s: StoreSnapshot) => {
    // The store's clock may differ from ours: convert its times to the local clock.
    const offset = Date.now() - s.now;
    return { now: s.now + offset, times: s.times.map((t) => t + offset), block: s.block ? { ...s.block, until: s.block.until + offset } : null };
  };
  return {
    key,
    async take(signal, takeOptions) {
      let waited = 0;
      for (;;) {
        if (signal?.aborted) throw signal.reason;
        // A store that stops answering (a half-open connection) must not hold the run, and the workspace lock it
        // holds, past its abort: the call is left to settle (or time out) on its own.
        const verdict = await untilAborted(store.take(key, takeOptions?.bulk ? bulk : limits, marginMs), signal);
        if (verdict.ok) return waited;
        const wait: BudgetWait = { limit: verdict.limit, ms: verdict.waitMs, until: Date.now() + verdict.waitMs };
        if (options.log) {
          const line = `waiting ${Math.ceil(wait.ms / 1000)} s for the request budget (${wait.limit})`;
          if (wait.ms > LOUD_WAIT_MS) options.log.info({ key, limit: wait.limit, waitMs: wait.ms }, line);
          else options.log.debug({ key, limit: wait.limit, waitMs: wait.ms }, line);
        }
        options.onWait?.(wait);
        takeOptions?.onWait?.(wait);
        const started = Date.now();
        try {
          await sleep(wait.ms, signal);
        } finally {
          const ms = Date.now() - started;
          waited += ms;
          options.onWaited?.(ms);
        }
      }
    },
    async learn(response) {
      const learned = learnFrom(response, shortest);
      if (!learned) return;
      // The block counts from the response's arrival; some of it may have passed already.
      const ms = learned.ms - (Date.now() - response.at);
      if (ms > 0) await store.block(key, ms, learned.reason);
    },
    async remaining() {
      const s = await store.read(key, limits, marginMs);
      return remainingIn(s.times, s.now, limits, marginMs, s.block);
    },
    async eta(requests, perRequestMs = 0) {
      const s = local(await store.read(key, limits, marginMs));
      return walkEta({ requests, log: s.times, now: s.now, limits, marginMs, block: s.block, perRequestMs });
    },
  };
}

/** `promise`, or the signal's reason as soon as it aborts (the promise is then left to settle unobserved). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => undefined);
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort!));
}
