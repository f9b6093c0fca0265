import type postgres from 'postgres';
import { ackConsumer } from '../db/feed/ack-consumer.ts';
import { createConsumer } from '../db/feed/create-consumer.ts';
import { listenForChanges, type ChangeListener } from '../db/feed/listen-changes.ts';
import { lockConsumer, type ConsumerLock } from '../db/feed/lock-consumer.ts';
import { hasPendingChanges } from '../db/feed/pending-changes.ts';
import { readChanges } from '../db/feed/read-changes.ts';
import { describeError } from '../errors/describe-error.ts';
import { consume } from '../feed/consume.ts';
import type { FeedEntry } from '../feed/line.ts';
import { formatPosition } from '../feed/position.ts';
import { Wake } from '../feed/wake.ts';
import type { Logger } from '../log.ts';
import { selectEntries, type WebhookFilter } from './filter.ts';
import { buildBatch, type WebhookBatch } from './payload.ts';
import { isDelivered, isPaused, nextDelayMs, type AttemptResult, type RetryTimings, type Streak } from './policy.ts';
import { receiverFingerprint, secretKey, signedHeaders } from './sign.ts';
import { publishWebhookState, type WebhookState } from './state.ts';

/** The feed consumer webhook delivery reads as, unless told otherwise. */
export const WEBHOOK_CONSUMER = 'webhook';

export interface WebhookSettings {
  url: string;
  /** `whsec_<base64>`. */
  secret: string;
  filter: WebhookFilter;
  /** Per request: connect, send, and the answer's status line and headers. */
  timeoutMs: number;
  /** Feed entries read per batch (a delivery holds those of them the filter keeps). */
  batchSize: number;
  timings: RetryTimings;
}

export interface WebhookDeliveryOptions {
  /** Reads and acknowledgements (the sync's pool). */
  sql: postgres.Sql;
  /** For the consumer's lock session and the LISTEN connection. */
  databaseUrl: string;
  log: Logger;
  webhook: WebhookSettings;
  /** Default WEBHOOK_CONSUMER. */
  consumer?: string;
  /** Where a new consumer starts (threetone_feed_position). Default `now`: a new receiver gets what changes from its install on. */
  since?: string;
  /** While another process delivers (or after an error), try to take over this often. Default 30000 ms. */
  lockRetryMs?: number;
  /** The follower's timings (src/feed/consume.ts); defaults there. */
  pollMs?: number;
  safetyPollMs?: number;
  retryMs?: readonly number[];
  random?: () => number;
}

export interface WebhookDelivery {
  state(): WebhookState;
  /** Stops taking batches, aborts an attempt in flight (its batch is sent again later), releases the lock. Idempotent; waits at most `deadlineMs` (default 5000). */
  stop(deadlineMs?: number): Promise<void>;
}

class Stopped extends Error {}

/** This worker's consumer lock went (its connection dropped): another worker may deliver now. */
class LockLost extends Error {
  constructor() {
    super('the webhook consumer lock was lost with its connection; another worker may deliver now');
  }
}

/**
 * Creates the webhook consumer at `since` (default `now`) unless it exists; the worker awaits this before it takes
 * jobs, so a fresh install's first sync is delivered. Returns whether it was created.
 */
export async function ensureWebhookConsumer(sql: postgres.Sql, consumer = WEBHOOK_CONSUMER, since = 'now'): Promise<boolean> {
  return (await createConsumer(sql, consumer, since)).created;
}

/**
 * Delivers the change feed to WEBHOOK_URL as a durable feed consumer: one loop, batches in feed order (so in order
 * per workspace), each POSTed signed (Standard Webhooks) and acknowledged only after a 2xx: at least once. A failed
 * attempt (network error, timeout, non-2xx) is retried with full-jitter backoff, or after the receiver's
 * Retry-After. After `pauseAfterFailures` failures in a row, or `pauseAfterMs` of failing, the receiver is paused:
 * one attempt every `probeEveryMs`, and delivery goes on from the same batch once one succeeds. One process
 * delivers at a time (the consumer's advisory lock); the others try to take the lock every `lockRetryMs`.
 * The URL and the secret are never logged: the receiver is named by receiverFingerprint().
 */
export function startWebhookDelivery(options: WebhookDeliveryOptions): WebhookDelivery {
  const { sql, log, webhook } = options;
  const consumer = options.consumer ?? WEBHOOK_CONSUMER;
  const key = secretKey(webhook.secret);
  const receiver = receiverFingerprint(webhook.url);
  const lockRetryMs = options.lockRetryMs ?? 30_000;
  const random = options.random ?? Math.random;
  const stopping = new AbortController();
  const wake = new Wake();
  let inflight: AbortController | undefined;
  let streak: Streak | undefined;
  const state: WebhookState = {
    receiver,
    consumer,
    role: 'standby',
    paused: false,
    pausedAt: null,
    failures: 0,
    failingSince: null,
    lastError: null,
    lastAttemptAt: null,
    lastDeliveredAt: null,
    position: null,
    attempts: { delivered: 0, rejected: 0, error: 0, timeout: 0 },
    entriesDelivered: 0,
  };
  const snapshot = (): WebhookState => ({ ...state, attempts: { ...state.attempts } });
  const withdraw = publishWebhookState(snapshot);

  /** Resolves after `ms`, or throws Stopped at a stop. */
  const sleep = (ms: number) =>
    new Promise<void>((resolve, reject) => {
      if (stopping.signal.aborted) return reject(new Stopped());
      const onStop = () => {
        clearTimeout(timer);
        reject(new Stopped());
      };
      const timer = setTimeout(() => {
        stopping.signal.removeEventListener('abort', onStop);
        resolve();
      }, ms);
      stopping.signal.addEventListener('abort', onStop, { once: true });
    });

  const attempt = async (batch: WebhookBatch): Promise<AttemptResult> => {
    const controller = new AbortController();
    inflight = controller;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, webhook.timeoutMs);
    try {
      const response = await fetch(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'threetone-sync-webhooks',
          ...signedHeaders(key, batch.id, Math.floor(Date.now() / 1000), batch.body),
        },
        body: batch.body,
        redirect: 'manual',
        signal: controller.signal,
      });
      // The status decides; the body is not read (a stop from here on no longer undoes the delivery).
      void response.body?.cancel().catch(() => undefined);
      if (isDelivered(response.status)) return { outcome: 'delivered', status: response.status };
      return { outcome: 'rejected', status: response.status, retryAfter: response.headers.get('retry-after'), reason: `HTTP ${response.status}` };
    } catch (error) {
      if (stopping.signal.aborted) throw new Stopped();
      if (timedOut) return { outcome: 'timeout', reason: `no answer within ${webhook.timeoutMs} ms` };
      return { outcome: 'error', reason: networkReason(error) };
    } finally {
      clearTimeout(timer);
      inflight = undefined;
    }
  };

  /** Sends one batch until the receiver takes it; throws Stopped at a stop, and whatever `beforeAttempt` throws. */
  const deliver = async (batch: WebhookBatch, beforeAttempt: () => Promise<void>): Promise<void> => {
    for (;;) {
      if (stopping.signal.aborted) throw new Stopped();
      await beforeAttempt();
      state.lastAttemptAt = new Date();
      const result = await attempt(batch);
      state.attempts[result.outcome] += 1;
      const now = Date.now();
      if (result.outcome === 'delivered') {
        if (state.paused) log.info({ receiver, failures: state.failures }, `webhook receiver ${receiver} recovered: delivering again`);
        streak = undefined;
        Object.assign(state, { paused: false, pausedAt: null, failures: 0, failingSince: null, lastError: null, lastDeliveredAt: new Date(now) });
        state.entriesDelivered += batch.entries;
        return;
      }
      streak = streak ? { failures: streak.failures + 1, since: streak.since } : { failures: 1, since: now };
      state.failures = streak.failures;
      state.failingSince = new Date(streak.since);
      state.lastError = result.reason ?? result.outcome;
      const delayMs = nextDelayMs(streak, result, webhook.timings, now, random);
      const fields = { receiver, webhookId: batch.id, failures: streak.failures, error: state.lastError, retryInMs: delayMs };
      if (!state.paused && isPaused(streak, webhook.timings, now)) {
        state.paused = true;
        state.pausedAt = new Date(now);
        log.error(fields, `webhook receiver ${receiver} paused after ${streak.failures} failed attempts (${state.lastError}): one attempt every ${Math.round(webhook.timings.probeEveryMs / 1000)} s until it answers 2xx`);
      } else {
        log.warn(fields, `webhook delivery to ${receiver} failed (${state.lastError}): ${state.paused ? 'paused, next probe' : 'retrying'} in ${delayMs} ms`);
      }
      await sleep(delayMs);
    }
  };

  const followFeed = async (lock: ConsumerLock): Promise<void> => {
    const stillHolding = async () => {
      if (!(await lock.held())) throw new LockLost();
    };
    const start = await createConsumer(sql, consumer, options.since ?? 'now');
    if (start.created) log.info({ consumer, position: formatPosition(start.position) }, `webhook consumer "${consumer}" created at ${formatPosition(start.position)}`);
    state.position = formatPosition(start.position);
    let listener: ChangeListener | undefined;
    try {
      listener = await listenForChanges(options.databaseUrl, {
        onWake: () => wake.notify(),
        onDown: (error) => log.warn({ error: describeError(error) }, 'webhook delivery: change notifications are down, polling'),
        retryMs: options.pollMs,
      });
      let read: FeedEntry[] = [];
      await consume(
        {
          read: async (position, limit) => (read = await readChanges(sql, position, limit)),
          pending: (position) => hasPendingChanges(sql, position),
          write: async () => {
            const selected = selectEntries(read, webhook.filter);
            if (selected.length > 0) await deliver(buildBatch(selected, new Date()), stillHolding);
          },
          ack: async (position) => {
            await stillHolding();
            await ackConsumer(sql, consumer, position);
            state.position = formatPosition(position);
          },
          listening: () => listener?.listening() ?? false,
        },
        { start: start.position, batchSize: webhook.batchSize, follow: true, wake, pollMs: options.pollMs, safetyPollMs: options.safetyPollMs, retryMs: options.retryMs },
      );
    } finally {
      await listener?.close().catch(() => undefined);
    }
  };

  const run = async (): Promise<void> => {
    let announcedStandby = false;
    while (!stopping.signal.aborted) {
      let lock: ConsumerLock | undefined;
      try {
        lock = await lockConsumer(options.databaseUrl, consumer);
        if (!lock) {
          state.role = 'standby';
          if (!announcedStandby) log.info({ consumer, receiver }, `webhook consumer "${consumer}" is delivered by another process: standing by`);
          announcedStandby = true;
        } else {
          state.role = 'delivering';
          announcedStandby = false;
          log.info({ consumer, receiver }, `delivering the change feed to webhook receiver ${receiver}`);
          await followFeed(lock);
        }
      } catch (error) {
        if (!(error instanceof Stopped) && !stopping.signal.aborted) {
          log.warn({ consumer, receiver, error: describeError(error) }, `webhook delivery stopped on an error; trying again in ${lockRetryMs} ms`);
        }
      } finally {
        state.role = 'standby';
        await lock?.release().catch(() => undefined);
      }
      await sleep(lockRetryMs).catch(() => undefined);
    }
  };

  const done = run();
  let closing: Promise<void> | undefined;
  return {
    state: snapshot,
    stop: (deadlineMs = 5_000) =>
      (closing ??= (async () => {
        stopping.abort();
        wake.stop();
        inflight?.abort();
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), deadlineMs)));
        const outcome = await Promise.race([done.then(() => 'done' as const), late]);
        clearTimeout(timer);
        if (outcome === 'late') log.warn({ consumer, deadlineMs }, 'webhook delivery did not stop in time');
        withdraw();
      })()),
  };
}

/** A network failure in one line, without the URL: undici's `fetch failed` with its cause's code. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; name?: unknown } })?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : typeof cause?.name === 'string' ? cause.name : (error as Error)?.name;
  return `network error (${code ?? 'unknown'})`;
}
