import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openQueueStore } from '../../src/jobs/queue.ts';
import { createMetrics, QUEUE_STATES } from '../../src/http/metrics.ts';
import { enqueueRun } from '../../src/jobs/schedules.ts';
import { runSync, type SyncSummary } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { captureLogs } from '../helpers/logs.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { BACKENDS, deleteRedisKeys, queueConfig } from '../helpers/queue.ts';
import { keyFingerprint } from '../../src/api/key-fingerprint.ts';
import { openBudgetsAndMetrics } from '../../src/app/budgets-and-metrics.ts';
import { blackHole, sample, samples, startHttpEnv, type HttpEnv } from './fixture.ts';
import { RunEvents } from '../../src/jobs/run-events.ts';

/** A bus on which `onFinish` hears the run's end. */
function onFinishEvents(onFinish: (s: SyncSummary) => void): { events: RunEvents } {
  const events = new RunEvents();
  events.on('run:finished', onFinish);
  return { events };
}

describe.each(BACKENDS)('/metrics on %s', (backend) => {
  let env: HttpEnv | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  const scrape = async () => {
    const response = await fetch(`${env!.server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text();
  };

  const runRow = async (runId: number) => {
    const [row] = await env!.database.sql<
      { pages: number; items_seen: number; versions_added: number; rejected: number; retries: number; finished: number }[]
    >`select pages, items_seen, versions_added, rejected, retries, extract(epoch from finished_at)::float8 as finished from sync_runs where id = ${runId}`;
    return row!;
  };

  it('counts a real run exactly as the run summary and the database record it', async () => {
    env = await startHttpEnv(backend);
    env.simulator.injectInvalid(3);
    env.simulator.injectFaults('429', '500');
    const summary = await env.sync();
    await enqueueRun(env.queue, env.config, { workspace: 'alpha', kind: 'full', trigger: 'manual' });
    await enqueueRun(env.queue, env.config, { workspace: 'alpha', kind: 'reconcile', trigger: 'manual' });

    const text = await scrape();
    const row = await runRow(summary.runId);
    const ws = { workspace: 'alpha' };
    expect(summary).toMatchObject({ status: 'succeeded', itemsSeen: 253, rejected: 3, retries: 2 });
    expect(sample(text, 'threetone_sync_runs_total', { ...ws, kind: summary.kind, outcome: 'succeeded' })).toBe(1);
    expect(sample(text, 'threetone_sync_pages_total', ws)).toBe(row.pages);
    expect(sample(text, 'threetone_sync_items_total', ws)).toBe(row.items_seen);
    expect(sample(text, 'threetone_sync_versions_added_total', ws)).toBe(row.versions_added);
    expect(sample(text, 'threetone_sync_rejected_items_total', ws)).toBe(row.rejected);
    expect(sample(text, 'threetone_api_retries_total', ws)).toBe(row.retries);
    expect([row.pages, row.items_seen, row.versions_added, row.rejected, row.retries]).toEqual([
      summary.pages,
      summary.itemsSeen,
      summary.versionsAdded,
      summary.rejected,
      summary.retries,
    ]);
    const [stored] = await env.database.sql<{ n: number }[]>`select count(*)::int as n from batch_call_history where run_id = ${summary.runId}`;
    expect(row.versions_added).toBe(stored!.n);

    const responses = Object.fromEntries(samples(text, 'threetone_api_responses_total').map((s) => [s.labels.status, s.value]));
    expect(responses).toEqual(summary.apiResponses);
    expect(responses).toEqual(env.simulator.stats.byStatus);
    expect(responses).toMatchObject({ '200': summary.pages, '429': 1, '500': 1 });

    const outcome = { kind: summary.kind, outcome: 'succeeded' };
    expect(sample(text, 'threetone_sync_run_duration_seconds_count', outcome)).toBe(1);
    expect(sample(text, 'threetone_sync_run_duration_seconds_sum', outcome)).toBeCloseTo(summary.durationMs / 1000, 6);

    expect(sample(text, 'threetone_sync_last_success_timestamp_seconds', ws)).toBeCloseTo(row.finished, 2);
    const counts = await env.queue.getJobCounts(...QUEUE_STATES);
    expect(counts.waiting).toBe(2);
    for (const state of QUEUE_STATES) expect(sample(text, 'threetone_queue_jobs', { state }), state).toBe(counts[state]);

    expect(sample(text, 'threetone_metrics_source_up', { source: 'queue' })).toBe(1);
    expect(sample(text, 'threetone_metrics_source_up', { source: 'postgres' })).toBe(1);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).not.toContain(env.config.workspaces[0]!.apiKey);
  });

  it('counts a failed run as failed, with the status the API answered', async () => {
    env = await startHttpEnv(backend);
    let failed: SyncSummary | undefined;
    const onFinish = (s: SyncSummary) => {
      failed = s;
      env!.events.emit('run:finished', s);
    };
    await expect(
      runSync({ config: env.config, database: env.database, log: silentLogger, ...onFinishEvents(onFinish) }, { workspace: 'alpha', apiKey: 'sk_not_a_key', kind: 'full' }),
    ).rejects.toThrow();
    const text = await scrape();
    expect(failed).toMatchObject({ status: 'failed', pages: 0 });
    expect(sample(text, 'threetone_sync_runs_total', { workspace: 'alpha', outcome: 'failed' })).toBe(1);
    expect(sample(text, 'threetone_sync_runs_total', { workspace: 'alpha', outcome: 'succeeded' })).toBeUndefined();
    expect(sample(text, 'threetone_api_responses_total', { workspace: 'alpha', status: '401' })).toBe(1);
    expect(sample(text, 'threetone_sync_last_success_timestamp_seconds', { workspace: 'alpha' })).toBeUndefined();
  });

  it('counts walks restarted after a rejected cursor, and stamps when the workspace last committed a page', async () => {
    env = await startHttpEnv(backend);
    let invalidated = false;
    const unsubscribe = env.events.on('page:committed', () => {
      if (!invalidated) env!.simulator.invalidateCursors();
      invalidated = true;
    });
    const summary = await runSync(
      { config: env.config, database: env.database, log: silentLogger, events: env.events },
      { workspace: 'alpha', apiKey: env.config.workspaces[0]!.apiKey, kind: 'full' },
    );
    unsubscribe();
    expect(summary).toMatchObject({ status: 'succeeded', walkRestarts: 1 });
    const [row] = await env.database.sql<{ at: number }[]>`select extract(epoch from finished_at)::float8 as at from sync_runs where id = ${summary.runId}`;
    const text = await scrape();
    expect(sample(text, 'threetone_sync_walk_restarts_total', { workspace: 'alpha' })).toBe(1);
    expect(sample(text, 'threetone_sync_list_order_unrecognised_total', { workspace: 'alpha' })).toBeUndefined();
    // Set by each committed page, so the last one's is just before the run closed.
    const lastPage = sample(text, 'threetone_sync_last_page_timestamp_seconds', { workspace: 'alpha' })!;
    expect(lastPage).toBeLessThanOrEqual(row!.at + 0.5);
    expect(lastPage).toBeGreaterThan(row!.at - 5);
  });

  it('reports the last success from Postgres in a process that ran nothing itself', async () => {
    env = await startHttpEnv(backend);
    const summary = await env.sync();
    await env.sync('beta');
    const fresh = createMetrics({ database: env.database, queue: env.queue, log: silentLogger, events: new RunEvents() });
    const text = await fresh.registry.metrics();
    const finished = (await runRow(summary.runId)).finished;
    expect(sample(text, 'threetone_sync_last_success_timestamp_seconds', { workspace: 'alpha' })).toBeCloseTo(finished, 2);
    expect(sample(text, 'threetone_sync_last_success_timestamp_seconds', { workspace: 'beta' })).toBeGreaterThanOrEqual(finished);
    expect(samples(text, 'threetone_sync_runs_total')).toEqual([]);
  });
});

describe('a metrics source that hangs', () => {
  it('costs its own gauge, reported as down, not the scrape', async () => {
    const hole = await blackHole();
    // A real Postgres client aimed at a server that accepts and never answers.
    const hanging = postgres(`postgres://nobody@127.0.0.1:${hole.port}/none`, { max: 1, connect_timeout: 30, onnotice: () => undefined });
    const database = await createTestDatabase();
    const queueSettings = queueConfig('postgres');
    const store = openQueueStore({ ...queueSettings, worker: { ...loadConfig({}).worker, ...queueSettings.worker } }, database.url);
    const queue = store.openQueue();
    const { log, text: logText } = captureLogs('warn');
    try {
      await queue.add('run', { workspace: 'alpha', kind: 'full', trigger: 'manual' });
      const metrics = createMetrics({ database: { reads: hanging }, queue, log, collectTimeoutMs: 300, events: new RunEvents() });
      const started = Date.now();
      const text = await metrics.registry.metrics();
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(samples(text, 'threetone_sync_last_success_timestamp_seconds')).toEqual([]);
      expect(sample(text, 'threetone_metrics_source_up', { source: 'postgres' })).toBe(0);
      expect(sample(text, 'threetone_metrics_source_up', { source: 'queue' })).toBe(1);
      expect(sample(text, 'threetone_queue_jobs', { state: 'waiting' })).toBe(1);
      expect(logText()).toContain('metrics source did not answer');
    } finally {
      await queue.close();
      await store.close();
      await database.drop();
      await hole.close();
      await hanging.end({ timeout: 0 });
    }
  });
});

describe('request budget metrics', () => {
  it('report the seconds waited and what each window has left, by key fingerprint, read from the shared store', async () => {
    const database = await createTestDatabase();
    const queueSettings = queueConfig('postgres');
    const store = openQueueStore({ ...queueSettings, worker: { ...loadConfig({}).worker, ...queueSettings.worker } }, database.url);
    const queue = store.openQueue();
    const apiKey = 'sk_metrics_budget_0a1b2c3d';
    const prefix = `tm${Date.now().toString(36)}`;
    // A 3-second window: the scrape comes well within it even on a loaded machine.
    const config = { ...loadConfig({}), redisUrl: process.env.REDIS_URL, budget: [{ points: 3, windowMs: 3_000 }, { points: 10, windowMs: 60_000 }], budgetMarginMs: 0 };
    config.worker = { ...config.worker, queuePrefix: prefix };
    const { budgets, metrics } = await openBudgetsAndMetrics(config, database, queue, silentLogger, new RunEvents());
    try {
      const budget = budgets.forKey(apiKey);
      for (let i = 0; i < 4; i++) await budget.take();
      const text = await metrics.registry.metrics();
      const key = keyFingerprint(apiKey);
      expect(text).not.toContain(apiKey);
      expect(sample(text, 'threetone_sync_budget_wait_seconds_total', { key })).toBeGreaterThan(2);
      expect(sample(text, 'threetone_sync_budget_remaining', { key, window: '3/3s' })).toBe(2);
      expect(sample(text, 'threetone_sync_budget_remaining', { key, window: '10/min' })).toBe(6);
    } finally {
      await budgets.close();
      await deleteRedisKeys(prefix);
      await queue.close();
      await store.close();
      await database.drop();
    }
  });
});
