import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/connection.ts';
import { consumerLags } from '../db/feed/consumer-lag.ts';
import { lagSeconds, type ConsumerLag } from '../feed/lag.ts';
import { loadConfig } from '../config.ts';
import { DELETE_GUARD } from '../domain/runs.ts';
import { WORKSPACE_STATES, type HealthThresholds, type WorkspaceHealth } from '../health/judge.ts';
import { loadHealth } from '../health/load-health.ts';
import type { SyncQueue } from '../jobs/queue.ts';
import type { RunEvents } from '../jobs/run-events.ts';
import type { SyncSummary } from '../jobs/sync-run.ts';
import type { Logger } from '../log.ts';
import { withTimeout } from '../util/with-timeout.ts';
import { webhookCollectors } from './webhook-metrics.ts';

/** Job states shown by `threetone_queue_jobs`; BullMQ 6 has no `paused` state. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

export interface MetricsSources {
  /** Read at scrape time, on the HTTP endpoint's own pool: the last success and refused reconciliation of every workspace, whichever process ran it. */
  database: Pick<Database, 'reads'>;
  /** Read at scrape time: job counts by state. */
  queue: Pick<SyncQueue, 'getJobCounts'>;
  log: Logger;
  /** Read at scrape time: requests left in each budget window of every key (SharedBudgets.remaining). */
  budgets?: { remaining(): Promise<{ key: string; window: string; remaining: number }[]> };
  /** Longest a scrape waits for each source. Default 2000 ms. */
  collectTimeoutMs?: number;
  /** The process's run events: finished runs and budget waits are counted from them. */
  events: RunEvents;
  /** When a copy is stale and a run stuck: the same thresholds as the status page (config.health). Default: the defaults of STALE_AFTER, STUCK_AFTER and SYNC_EVERY. */
  health?: HealthThresholds;
}


export interface Metrics {
  /** Its own registry: several instances may live in one process (tests). */
  registry: Registry;
}

const DURATION_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * Run counters are fed by the process's `run:finished` events and so count this process's runs
 * only (Prometheus sums across processes); the queue, last-success and refused-reconciliation gauges
 * are read from the shared stores at scrape time, so every process reports
 * the same truth and a restart loses nothing.
 */
export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  // Standard names (process_*, nodejs_*), so community Node.js dashboards and alerts work unchanged.
  collectDefaultMetrics({ register: registry });
  sources.events.on('run:finished', runCollectors(registry));
  pageCollectors(registry, sources.events);
  storeGauges(registry, snapshotReader(sources));
  feedGauges(registry, sources);
  const observeBudgetWait = budgetCollectors(registry, sources);
  sources.events.on('budget:waited', ({ key, ms }) => observeBudgetWait(key, ms));
  webhookCollectors(registry, sources);
  return { registry };
}

/** What the shared stores said during one scrape; undefined: that source failed or was late. */
interface Snapshot {
  queue: Record<string, number> | undefined;
  /** Every workspace judged at scrape time (src/health/judge.ts), as the status page judges it. */
  postgres: WorkspaceHealth[] | undefined;
}

/**
 * prom-client collects all metrics of a scrape at once; the gauges share one
 * read of the stores so they agree with each other and each store is asked
 * once per scrape.
 */
function snapshotReader(sources: MetricsSources): () => Promise<Snapshot> {
  const timeoutMs = sources.collectTimeoutMs ?? 2000;
  const read = async <T>(source: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await withTimeout(fn(), timeoutMs, source);
    } catch (error) {
      // The name only: a drizzle or driver message may carry query text and parameters.
      sources.log.warn({ source, error: (error as Error)?.name }, 'metrics source did not answer');
      return undefined;
    }
  };
  const health = sources.health ?? loadConfig({}).health;
  let pending: Promise<Snapshot> | undefined;
  return () =>
    (pending ??= (async () => {
      const [queue, postgres] = await Promise.all([
        read('queue', () => sources.queue.getJobCounts(...QUEUE_STATES)),
        read('postgres', () => loadHealth(sources.database.reads, health, new Date())),
      ]);
      return { queue, postgres };
    })().finally(() => (pending = undefined)));
}

function storeGauges(registry: Registry, snapshot: () => Promise<Snapshot>): void {
  const registers = [registry];
  new Gauge({
    name: 'threetone_metrics_source_up',
    help: 'Whether the store behind the scrape-time gauges answered in this scrape (1) or not (0: its gauges are left out).',
    labelNames: ['source'],
    registers,
    async collect() {
      const s = await snapshot();
      this.set({ source: 'queue' }, s.queue ? 1 : 0);
      this.set({ source: 'postgres' }, s.postgres ? 1 : 0);
    },
  });
  new Gauge({
    name: 'threetone_queue_jobs',
    help: 'Jobs in the queue by state, read from the queue store at scrape time.',
    labelNames: ['state'],
    registers,
    async collect() {
      this.reset();
      const counts = (await snapshot()).queue;
      if (counts) for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
    },
  });
  /** One gauge per workspace from the judged health; a workspace absent from the scrape (no run yet) gets no series. */
  const perWorkspace = (name: string, help: string, value: (h: WorkspaceHealth) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['workspace'],
      registers,
      async collect() {
        this.reset();
        for (const h of (await snapshot()).postgres ?? []) {
          const v = value(h);
          if (v !== undefined) this.set({ workspace: h.workspace }, v);
        }
      },
    });
  perWorkspace(
    'threetone_sync_last_success_timestamp_seconds',
    'End of the last succeeded run per workspace (unix seconds), from Postgres at scrape time; absent for a workspace that never succeeded (see threetone_sync_copy_stale).',
    (h) => (h.facts.lastSuccessAt === null ? undefined : h.facts.lastSuccessAt.getTime() / 1000),
  );
  perWorkspace(
    'threetone_sync_copy_stale',
    'Whether the workspace\'s copy is stale (1): its last success, or its first run when it never succeeded, is older than STALE_AFTER (default 3 x SYNC_EVERY). The status page and `status` judge the same way.',
    (h) => (h.stale ? 1 : 0),
  );
  perWorkspace(
    'threetone_sync_run_stuck',
    'Whether a run of the workspace is stuck (1): marked running while no session holds its workspace lock, or with no progress for STUCK_AFTER (default 15m).',
    (h) => (h.stuck ? 1 : 0),
  );
  perWorkspace(
    'threetone_sync_reconcile_refused',
    'Whether the workspace\'s reconciliation stands refused (1): its newest reconciliation that decided about deletes would have marked too many jobs deleted and marked none; reconcile --allow-mass-delete confirms. From Postgres at scrape time.',
    (h) => (h.facts.refusedReconcile ? 1 : 0),
  );
  new Gauge({
    name: 'threetone_sync_workspaces',
    help: 'Workspaces in each state, judged as the status page judges them (failing, stuck, stale, warning, running, ok).',
    labelNames: ['state'],
    registers,
    async collect() {
      this.reset();
      const all = (await snapshot()).postgres;
      if (!all) return;
      for (const state of WORKSPACE_STATES) this.set({ state }, all.filter((h) => h.state === state).length);
    },
  });
}

/**
 * The change feed's consumers (src/db/feed/), read on the reads pool at scrape time; both gauges share one read
 * per scrape. A consumer with nothing to read reports 0.
 */
function feedGauges(registry: Registry, sources: MetricsSources): void {
  const timeoutMs = sources.collectTimeoutMs ?? 2000;
  let pending: Promise<ConsumerLag[] | undefined> | undefined;
  const read = () =>
    (pending ??= withTimeout(consumerLags(sources.database.reads), timeoutMs, 'feed')
      .catch((error: unknown) => {
        sources.log.warn({ source: 'feed', error: (error as Error)?.name }, 'metrics source did not answer');
        return undefined;
      })
      .finally(() => (pending = undefined)));
  const perConsumer = (name: string, help: string, value: (lag: ConsumerLag, now: Date) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['consumer'],
      registers: [registry],
      async collect() {
        this.reset();
        const now = new Date();
        for (const lag of (await read()) ?? []) this.set({ consumer: lag.name }, value(lag, now));
      },
    });
  perConsumer(
    'threetone_sync_feed_consumer_lag_entries',
    'Change feed entries after the consumer\'s acknowledged position (threetone-sync changes, threetone_changes_ack), counted up to 1000000.',
    (lag) => lag.lagEntries,
  );
  perConsumer(
    'threetone_sync_feed_consumer_lag_seconds',
    'Age of the oldest change feed entry the consumer has not acknowledged (observed_at), in seconds; 0 when it has read everything.',
    (lag, now) => lagSeconds(lag, now),
  );
}

/** Keys are API key fingerprints (never keys): the same label every process and the budget store use. */
function budgetCollectors(registry: Registry, sources: MetricsSources): (key: string, ms: number) => void {
  const registers = [registry];
  const waited = new Counter({
    name: 'threetone_sync_budget_wait_seconds_total',
    help: 'Seconds this process waited for the request budget, by API key fingerprint.',
    labelNames: ['key'],
    registers,
  });
  const budgets = sources.budgets;
  if (budgets) {
    const timeoutMs = sources.collectTimeoutMs ?? 2000;
    new Gauge({
      name: 'threetone_sync_budget_remaining',
      help: 'Requests the budget would admit now in each window (e.g. 100/min, 1000/h), by API key fingerprint; read from the budget store at scrape time, so every process reports the same.',
      labelNames: ['key', 'window'],
      registers,
      async collect() {
        this.reset();
        try {
          for (const r of await withTimeout(budgets.remaining(), timeoutMs, 'budget')) this.set({ key: r.key, window: r.window }, r.remaining);
        } catch (error) {
          sources.log.warn({ source: 'budget', error: (error as Error)?.name }, 'metrics source did not answer');
        }
      },
    });
  }
  return (key, ms) => waited.inc({ key }, ms / 1000);
}

/**
 * Per page, as it commits: a walk of hundreds of pages shows its progress long
 * before its run finishes, and a walk that stopped moving shows its age.
 */
function pageCollectors(registry: Registry, events: RunEvents): void {
  const lastPage = new Gauge({
    name: 'threetone_sync_last_page_timestamp_seconds',
    help: 'When this process last committed a page of the workspace (unix seconds).',
    labelNames: ['workspace'],
    registers: [registry],
  });
  events.on('page:committed', (page) => lastPage.set({ workspace: page.workspace }, Date.now() / 1000));
}

function runCollectors(registry: Registry): (summary: SyncSummary) => void {
  const registers = [registry];
  const byWorkspace = (name: string, help: string) => new Counter({ name, help, labelNames: ['workspace'], registers });
  const runs = new Counter({ name: 'threetone_sync_runs_total', help: 'Finished sync runs.', labelNames: ['workspace', 'kind', 'outcome'], registers });
  const duration = new Histogram({
    name: 'threetone_sync_run_duration_seconds',
    help: 'Wall time of a sync run, lock to record.',
    labelNames: ['kind', 'outcome'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const pages = byWorkspace('threetone_sync_pages_total', 'Pages committed.');
  const items = byWorkspace('threetone_sync_items_total', 'Items received from the API.');
  const versions = byWorkspace('threetone_sync_versions_added_total', 'New versions written to batch_call_history.');
  const rejected = byWorkspace('threetone_sync_rejected_items_total', 'Items that failed validation (kept in rejected_records).');
  const retries = byWorkspace('threetone_api_retries_total', 'API requests retried.');
  const refused = byWorkspace('threetone_sync_reconcile_refused_total', 'Reconciliations that refused to mark a mass delete and marked nothing.');
  const unrecognised = byWorkspace(
    'threetone_sync_list_order_unrecognised_total',
    'Runs that found the API listing jobs in neither creation nor last-update order (no early stop, no deletes marked).',
  );
  const restarts = byWorkspace('threetone_sync_walk_restarts_total', 'Walks started again from the top because the API rejected a cursor (expired or rotated).');
  const responses = new Counter({
    name: 'threetone_api_responses_total',
    help: 'API responses by HTTP status, or network / timeout.',
    labelNames: ['workspace', 'status'],
    registers,
  });
  return (s) => {
    const workspace = { workspace: s.workspace };
    runs.inc({ ...workspace, kind: s.kind, outcome: s.status });
    duration.observe({ kind: s.kind, outcome: s.status }, s.durationMs / 1000);
    pages.inc(workspace, s.pages);
    items.inc(workspace, s.itemsSeen);
    versions.inc(workspace, s.versionsAdded);
    rejected.inc(workspace, s.rejected);
    retries.inc(workspace, s.retries);
    for (const [status, count] of Object.entries(s.apiResponses)) responses.inc({ ...workspace, status }, count);
    if (s.stopReason === DELETE_GUARD) refused.inc(workspace);
    if (s.listOrder === 'unknown') unrecognised.inc(workspace);
    restarts.inc(workspace, s.walkRestarts);
  };
}
