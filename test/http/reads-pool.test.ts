import { loadConfig } from '../../src/config.ts';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createReadiness } from '../../src/http/readiness.ts';
import { startHttpServer } from '../../src/http/server.ts';
import { findPostgresError } from '../../src/errors/describe-error.ts';
import { silentLogger } from '../../src/log.ts';
import { captureLogs } from '../helpers/logs.ts';
import { sample, startHttpEnv, type HttpEnv } from './fixture.ts';
import { RunEvents } from '../../src/jobs/run-events.ts';

const BLOCK = 734_500_42;

describe('the HTTP endpoint\'s own Postgres pool', () => {
  let env: HttpEnv | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await env?.close();
    env = undefined;
  });

  /** A session of another process, for holding locks the sync's or the page's queries then wait on. */
  function otherSession(): postgres.Sql {
    const other = postgres(env!.database.url, { max: 1, onnotice: () => undefined, connection: { application_name: 'test-blocker' } });
    cleanups.push(() => other.end({ timeout: 1 }));
    return other;
  }

  /** Asked on a session of its own: the sync's pools are what the tests make busy. */
  const activeQueries = async (applicationName: string, waitEventType?: string) => {
    const observer = postgres(env!.database.url, { max: 1, onnotice: () => undefined });
    const [row] = await observer<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where application_name = ${applicationName} and state = 'active'
        and (${waitEventType ?? null}::text is null or wait_event_type = ${waitEventType ?? null}::text)`.finally(() => observer.end());
    return row!.n;
  };

  it('keeps the status page, /metrics and /readyz answering while every connection of the sync is busy', async () => {
    env = await startHttpEnv('postgres');
    const summary = await env.sync();
    const blocker = otherSession();
    await blocker`select pg_advisory_lock(${BLOCK})`;

    // Every connection of the sync's pool (4) taken, each stuck in a statement, as under long page writes.
    const connections = await Promise.all(Array.from({ length: 4 }, () => env!.database.sql.reserve()));
    cleanups.push(async () => connections.forEach((c) => c.release()));
    const busy = connections.map((c) =>
      c`select pg_advisory_xact_lock(${BLOCK})`.then(
        () => 'done',
        (error: unknown) => findPostgresError(error)?.code ?? String(error),
      ),
    );
    await expect.poll(() => activeQueries('threetone-sync', 'Lock')).toBe(4);
    let queued = false;
    const behind = env.database.sql`select 1`.execute().then(() => (queued = true));

    const overview = await fetch(`${env.server.url}/`);
    expect(overview.status).toBe(200);
    expect(await overview.text()).toContain('<a href="/workspaces/alpha">alpha</a>');
    const page = await fetch(`${env.server.url}/workspaces/alpha`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<h2>alpha</h2>');
    expect(html).toContain(`<td data-label="New versions" class="num">${summary.versionsAdded}</td>`);

    const metrics = await fetch(`${env.server.url}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(sample(text, 'threetone_metrics_source_up', { source: 'postgres' })).toBe(1);
    expect(sample(text, 'threetone_sync_last_success_timestamp_seconds', { workspace: 'alpha' })).toBeGreaterThan(0);

    const ready = await fetch(`${env.server.url}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ok', checks: { postgres: true } });

    // All of that while a query on the sync's pool was still queued behind the busy connections.
    expect(queued).toBe(false);
    await blocker`select pg_advisory_unlock(${BLOCK})`;
    expect(await Promise.all(busy)).toEqual(Array(4).fill('done'));
    for (const c of connections) c.release();
    await behind;
  });

  it('cuts a slow status query in the server with its statement_timeout instead of hanging, and answers again after', async () => {
    env = await startHttpEnv('postgres');
    await env.sync();
    // The production default, on the pool the page uses.
    const [setting] = await env.database.reads<{ value: string }[]>`select current_setting('statement_timeout') as value`;
    expect(setting!.value).toBe('5s');

    // The same wiring with a short statement_timeout, and a page timeout far longer: only the server can cut it.
    const database = await openDatabase({ databaseUrl: env.database.url, embeddedPg: { dir: '', port: 0 } }, silentLogger, { readsStatementTimeoutMs: 300 });
    cleanups.push(() => database.close());
    const { log, text: logText } = captureLogs('debug');
    const server = await startHttpServer({
      config: { http: { port: 0, host: '127.0.0.1', board: undefined }, health: loadConfig({}).health },
      log,
      database,
      queue: env.queue,
      metrics: createMetrics({ database, queue: env.queue, log, collectTimeoutMs: 10_000, events: new RunEvents() }),
      ready: createReadiness({ database, schedulesRegistered: () => true, timeoutMs: 10_000 }),
      pageTimeoutMs: 10_000,
    });
    cleanups.push(() => server.close());

    // A migration-like lock on sync_runs: every read of it waits.
    const blocker = otherSession();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holding = blocker.begin(async (tx) => {
      await tx`lock table sync_runs in access exclusive mode`;
      locked();
      await released;
    });
    cleanups.push(async () => {
      release();
      await holding;
    });
    await isLocked;

    const started = Date.now();
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(503);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sample(metrics, 'threetone_metrics_source_up', { source: 'postgres' })).toBe(0);
    // Cancelled in the server, not merely abandoned by the page.
    await expect.poll(() => activeQueries('threetone-sync-http')).toBe(0);
    expect(logText()).toContain('http request failed');
    expect(logText()).not.toMatch(/select|sync_runs|batch_call_history/i);

    release();
    await holding;
    expect((await fetch(`${server.url}/`)).status).toBe(200);
  });
});
