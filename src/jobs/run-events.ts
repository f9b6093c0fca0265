import type { RunKind } from '../domain/runs.ts';
import type { SyncProgress, SyncSummary } from './sync-run.ts';

/**
 * What a run tells whoever listens, as it happens. The run loop emits; metrics,
 * the CLI's progress line and tests subscribe. One bus per process (or per
 * command) is handed to every run, so a new observer is a subscription in its
 * own module, not a callback threaded through the run's, the processor's and
 * the worker's options.
 */
export interface RunEventMap {
  'run:started': { runId: number; workspace: string; kind: RunKind; resumedFromPage: number | undefined };
  /** After a page and the run's progress committed together. */
  'page:committed': SyncProgress & { page: number };
  /** Before a request waits for the key's budget: which limit, how long, until when (local clock). */
  'budget:wait': { runId: number; workspace: string; limit: string; ms: number; until: number };
  /** After any wait for the budget of `key` (a fingerprint), in this process, whichever run waited. */
  'budget:waited': { key: string; ms: number };
  /** A request failed and is tried again after `delayMs`. */
  'request:retry': { runId: number; workspace: string; attempt: number; delayMs: number; status: number | undefined; error: string };
  /** Once the run is recorded, whatever its outcome. */
  'run:finished': SyncSummary;
}

export type RunEventName = keyof RunEventMap;
export type RunEventListener<E extends RunEventName> = (event: RunEventMap[E]) => void;

/**
 * A typed, synchronous event bus. A listener that throws is reported to
 * `onListenerError` and never reaches the run: an observer must not be able
 * to fail a sync.
 */
export class RunEvents {
  private readonly listeners = new Map<RunEventName, Set<RunEventListener<never>>>();

  constructor(private readonly onListenerError: (error: unknown, event: RunEventName) => void = () => undefined) {}

  /** Subscribes; returns the unsubscribe. */
  on<E extends RunEventName>(event: E, listener: RunEventListener<E>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as RunEventListener<never>);
    return () => set.delete(listener as RunEventListener<never>);
  }

  emit<E extends RunEventName>(event: E, payload: RunEventMap[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as RunEventListener<E>)(payload);
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }
}
