import type { AttemptOutcome } from './policy.ts';

/**
 * What this process knows of webhook delivery, for the status page and /metrics. Held in memory by the running
 * delivery (src/webhooks/deliver.ts): one process delivers at a time (the consumer's advisory lock); the others
 * report `standby`. A restart forgets the failing streak (and so a pause) and starts over.
 */
export interface WebhookState {
  /** The receiver's host and a hash of its URL (never the URL). */
  receiver: string;
  /** The feed consumer delivery reads as (feed_consumers.name). */
  consumer: string;
  /** `delivering`: this process holds the consumer's lock; `standby`: another does (or the lock is being taken). */
  role: 'delivering' | 'standby';
  /** The failing streak reached the bound: one attempt every WEBHOOK_PROBE_EVERY until one succeeds. */
  paused: boolean;
  pausedAt: Date | null;
  /** Failed attempts in a row (0 after a success). */
  failures: number;
  failingSince: Date | null;
  /** Why the last attempt failed: `HTTP 503`, `no answer within 10000 ms`, `network error (ECONNREFUSED)`; null after a success. */
  lastError: string | null;
  lastAttemptAt: Date | null;
  lastDeliveredAt: Date | null;
  /** The position acknowledged last, `XID:ID`; null before the first. */
  position: string | null;
  /** Attempts by outcome since the process started. */
  attempts: Record<AttemptOutcome, number>;
  /** Entries delivered (2xx) since the process started. */
  entriesDelivered: number;
}

let current: (() => WebhookState) | undefined;

/** This process's webhook delivery now; undefined when WEBHOOK_URL is unset (or delivery has stopped). */
export function webhookState(): WebhookState | undefined {
  return current?.();
}

/** Used by the delivery: publishes its state reader; the returned function withdraws it (only if still its own). */
export function publishWebhookState(read: () => WebhookState): () => void {
  current = read;
  return () => {
    if (current === read) current = undefined;
  };
}
