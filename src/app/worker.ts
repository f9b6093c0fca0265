import { requireWorkspaces, type Config } from '../config.ts';
import { openDatabase, type Database } from '../db/connection.ts';
import { openBudgetsAndMetrics } from './budgets-and-metrics.ts';
import { RunEvents } from '../jobs/run-events.ts';
import { requireCurrentSchema, runMigrations } from '../db/migrate.ts';
import { createReadiness } from '../http/readiness.ts';
import { startHttpServer } from '../http/server.ts';
import type { Logger } from '../log.ts';
import { formatDuration } from '../util/duration.ts';
import { createProcessor } from '../jobs/process-job.ts';
import { checkRedis, openQueueStore, type SyncQueue, type SyncWorker } from '../jobs/queue.ts';
import { startRetention } from '../jobs/retention.ts';
import { keepSchedules, registerSchedules, SCHEDULE_REFRESH_MS } from '../jobs/schedules.ts';
import { describeError } from '../errors/describe-error.ts';
import { ensureWebhookConsumer, startWebhookDelivery, type WebhookDeliveryOptions } from '../webhooks/deliver.ts';

export interface WorkerHandle {
  backend: 'redis' | 'postgres';
  queue: SyncQueue;
  worker: SyncWorker;
  database: Database;
  /**
   * Stops taking jobs, lets each run commit the page it is writing, hands its
   * job back to the queue, then closes worker, queue, budget store and
   * database, in reverse order of opening. Idempotent.
   */
  close(): Promise<void>;
}

export interface WorkerOptions {
  /** How often the schedules are registered again. Default SCHEDULE_REFRESH_MS. */
  scheduleRefreshMs?: number;
  /** Webhook delivery's lock retry and follow timings (tests); defaults in src/webhooks/deliver.ts. */
  webhookTimings?: Pick<WebhookDeliveryOptions, 'lockRetryMs' | 'pollMs' | 'safetyPollMs' | 'retryMs'>;
}

/** Longest the webhook delivery's stop waits for an attempt in flight to end. */
const WEBHOOK_STOP_DEADLINE_MS = 5_000;

/**
 * `threetone-sync worker`: migrations, schedules, then jobs until closed.
 * Several processes may run this against the same Redis (or Postgres) and
 * database: BullMQ spreads the jobs, the schedules are upserted idempotently,
 * and the request budget of each key is shared through the store.
 */
export async function startWorker(config: Config, log: Logger, options: WorkerOptions = {}): Promise<WorkerHandle> {
  const workspaces = requireWorkspaces(config);
  const cleanups: (() => Promise<void>)[] = [];
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const cleanup of cleanups.reverse()) {
        await cleanup().catch((error: unknown) => log.warn({ error: String(error) }, 'error while closing'));
      }
    })());

  try {
    // Before anything is written: a wrong REDIS_URL should fail here, not after migrations.
    if (config.redisUrl) await checkRedis(config.redisUrl);
    const database = await openDatabase(config, log);
    cleanups.push(() => database.close());
    if (config.worker.migrateOnStart) await runMigrations(database, { lockTimeoutMs: config.pg.migrationLockTimeoutMs, log, reportTimeZone: config.reportTimeZone });
    else await requireCurrentSchema(database);
    // Old runs and rejected items, in small batches, hourly; stopped before the database closes.
    const retention = startRetention({ config, database, log });
    cleanups.push(() => retention.stop());

    const store = openQueueStore(config, database.url);
    cleanups.push(() => store.close());
    const queue = store.openQueue();
    // Unheard, BullMQ prints each of these with its stack (a queue without an 'error' listener).
    queue.on('error', errorLines(log, 'queue error'));
    cleanups.push(() => queue.close());
    await queue.waitUntilReady();

    // The process's one event bus: every run emits on it, the metrics subscribe.
    const events = new RunEvents((error, event) => log.warn({ event, error: describeError(error) }, 'a run event listener failed'));
    const { budgets, metrics } = await openBudgetsAndMetrics(config, database, queue, log, events);
    cleanups.push(() => budgets.close());

    // Up before the worker, so /healthz answers during start-up; closed after it (cleanups run in reverse),
    // so /readyz reports the drain.
    let schedulesRegistered = false;
    let httpUrl: string | undefined;
    if (config.http.port !== 0) {
      const http = await startHttpServer({
        config,
        log,
        database,
        queue,
        metrics,
        ready: createReadiness({ database, redisUrl: config.redisUrl, schedulesRegistered: () => schedulesRegistered && !closing }),
      });
      cleanups.push(() => http.close());
      httpUrl = http.url;
    }

    // Signed webhooks: a consumer of the change feed, after the HTTP server (its state is on /metrics), stopped
    // before it closes. Stopping aborts an attempt in flight; its batch goes again later (at least once).
    if (config.webhook) {
      // Created (from now on) before any job runs, so the first sync of a fresh install is delivered.
      await ensureWebhookConsumer(database.sql);
      const webhooks = startWebhookDelivery({ sql: database.sql, databaseUrl: database.url, log, webhook: config.webhook, ...options.webhookTimings });
      cleanups.push(() => webhooks.stop(WEBHOOK_STOP_DEADLINE_MS));
    }

    await registerSchedules(queue, config, workspaces, log);
    schedulesRegistered = true;
    const schedules = keepSchedules(() => registerSchedules(queue, config, workspaces, log, { refresh: true }), log, options.scheduleRefreshMs ?? SCHEDULE_REFRESH_MS);
    store.onReconnect(() => schedules.refresh());
    cleanups.push(async () => schedules.stop());

    const worker = store.openWorker(createProcessor({ config, database, budgets, queue, log, events }), {
      concurrency: config.worker.concurrency,
      lockDuration: config.worker.lockMs,
      stalledInterval: Math.min(30_000, config.worker.lockMs),
    });
    // close() waits for active jobs; aborting their signal makes each stop after the page it is writing.
    worker.on('closing', () => worker.cancelAllJobs('shutting down'));
    worker.on('failed', (job, error) => log.warn({ jobId: job?.id, workspace: job?.data.workspace, error: error.message }, 'job failed'));
    worker.on('error', errorLines(log, 'worker error'));
    cleanups.push(() => worker.close());
    await worker.waitUntilReady();

    const { syncEveryMs, reconcileCron, reconcileTz, concurrency } = config.worker;
    const every = `incremental sync every ${formatDuration(syncEveryMs)}, reconcile at "${reconcileCron}" (${reconcileTz})`;
    log.info(
      { backend: store.kind, http: httpUrl ?? null, concurrency, workspaces: workspaces.map((w) => w.name), syncEveryMs, reconcileCron, reconcileTz },
      `worker started: queue on ${store.kind}, HTTP ${httpUrl ?? 'off'}, ${workspaces.length} workspace(s), ${every}`,
    );
    return { backend: store.kind, queue, worker, database, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Identical errors within this long are counted, not logged again. */
const REPEAT_QUIET_MS = 60_000;

/**
 * An 'error' listener that logs one line per error: while Redis or Postgres
 * is away BullMQ reports the same failure on every reconnect attempt, so a
 * repeat of the last message within REPEAT_QUIET_MS is only counted, and the
 * count goes with the next line.
 */
function errorLines(log: Logger, what: string): (error: Error) => void {
  let last: { message: string; at: number } | undefined;
  let repeated = 0;
  return (error) => {
    const message = describeError(error);
    const now = Date.now();
    if (last?.message === message && now - last.at < REPEAT_QUIET_MS) {
      repeated++;
      return;
    }
    log.error({ error: message, ...(repeated > 0 ? { repeatedBefore: repeated } : {}) }, `${what}: ${message}`);
    last = { message, at: now };
    repeated = 0;
  };
}
