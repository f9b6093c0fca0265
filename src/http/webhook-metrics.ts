import { Counter, Gauge, type Registry } from 'prom-client';
import type { Database } from '../db/connection.ts';
import { consumerLags } from '../db/feed/consumer-lag.ts';
import type { Logger } from '../log.ts';
import { withTimeout } from '../util/with-timeout.ts';
import { webhookState } from '../webhooks/state.ts';

/**
 * Signed webhooks (src/webhooks/deliver.ts), from this process's delivery state (webhookState()): no series while
 * WEBHOOK_URL is unset. Only the process holding the webhook consumer's lock delivers; the others report paused 0,
 * so alert on max. Registered by createMetrics (src/http/metrics.ts).
 */
export function webhookCollectors(registry: Registry, sources: { database: Pick<Database, 'reads'>; log: Logger; collectTimeoutMs?: number }): void {
  const registers = [registry];
  new Gauge({
    name: 'threetone_webhook_paused',
    help: 'Whether this process delivers webhooks to a paused receiver (1): it failed WEBHOOK_PAUSE_AFTER_FAILURES times in a row or for WEBHOOK_PAUSE_AFTER, and gets one attempt every WEBHOOK_PROBE_EVERY.',
    registers,
    collect() {
      this.reset();
      const state = webhookState();
      if (state) this.set(state.role === 'delivering' && state.paused ? 1 : 0);
    },
  });
  new Counter({
    name: 'threetone_webhook_deliveries_total',
    help: 'Webhook delivery attempts of this process by outcome: delivered (2xx), rejected (another status), error (network), timeout (WEBHOOK_TIMEOUT_MS).',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      const state = webhookState();
      if (state) for (const [outcome, count] of Object.entries(state.attempts)) this.inc({ outcome }, count);
    },
  });
  const timeoutMs = sources.collectTimeoutMs ?? 2000;
  new Gauge({
    name: 'threetone_webhook_lag_entries',
    help: "Change feed entries after the webhook consumer's acknowledged position (up to 1000000), read from Postgres at scrape time.",
    registers,
    async collect() {
      this.reset();
      const state = webhookState();
      if (!state) return;
      try {
        const lag = (await withTimeout(consumerLags(sources.database.reads), timeoutMs, 'webhook lag')).find((c) => c.name === state.consumer);
        if (lag) this.set(lag.lagEntries);
      } catch (error) {
        sources.log.warn({ source: 'webhook lag', error: (error as Error)?.name }, 'metrics source did not answer');
      }
    },
  });
}
