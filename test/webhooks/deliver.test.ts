import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startWebhookDelivery, type WebhookDelivery, type WebhookSettings } from '../../src/webhooks/deliver.ts';
import { webhookState } from '../../src/webhooks/state.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { captureLogs } from '../helpers/logs.ts';
import { startReceiver, type Received } from './receiver.ts';

const SECRET = `whsec_${Buffer.from('a-test-secret-of-thirty-two-bytes!').toString('base64')}`;
const logs = captureLogs('debug');

let database: TestDatabase;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let delivery: WebhookDelivery | undefined;
const extra: WebhookDelivery[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  // The receiver's URL (with its token) and the secret were in every delivery's settings: no log line has them.
  const text = logs.text();
  expect(logs.lines.length).toBeGreaterThan(5);
  for (const needle of [receiver?.url ?? 'x', '/hooks/', 't0ps3cret', 'abc123', SECRET, SECRET.slice(6)]) expect(text).not.toContain(needle);
  await database.drop();
});
beforeEach(async () => {
  await database.sql`truncate change_feed, feed_consumers`;
  receiver = await startReceiver();
});
afterEach(async () => {
  await delivery?.stop();
  for (const d of extra.splice(0)) await d.stop();
  delivery = undefined;
  await receiver.close();
});

function settings(overrides: Partial<WebhookSettings> = {}, timings: Partial<WebhookSettings['timings']> = {}): WebhookSettings {
  return {
    url: receiver.url,
    secret: SECRET,
    filter: {},
    timeoutMs: 2_000,
    batchSize: 10,
    ...overrides,
    timings: { baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 5_000, pauseAfterFailures: 1_000, pauseAfterMs: 3_600_000, probeEveryMs: 60_000, ...timings },
  };
}

function start(webhook: WebhookSettings, consumer = 'webhook', since = 'beginning'): WebhookDelivery {
  return startWebhookDelivery({ sql: database.sql, databaseUrl: database.url, log: logs.log, webhook, consumer, since, lockRetryMs: 100, pollMs: 200, safetyPollMs: 1_000 });
}

/** `count` entries in one transaction, alternating workspaces a and b, job ids j<offset+i>. */
async function insertEntries(count: number, offset = 0, extra: { kind?: string; status?: string } = {}): Promise<void> {
  await database.sql`
    insert into change_feed (kind, workspace, job_id, version, status)
    select ${extra.kind ?? 'created'}, case when i % 2 = 0 then 'a' else 'b' end, 'j' || (${offset} + i), 1000 + i, ${extra.status ?? 'pending'}
    from generate_series(0, ${count - 1}) i`;
}

interface Line {
  id: number;
  kind: string;
  workspace: string;
  job_id: string;
  status: string;
}

const payload = (r: Received) => JSON.parse(r.body) as { type: string; timestamp: string; data: Line[] };
/** Entries of the requests the receiver answered 2xx, in delivery order. */
const delivered = () => receiver.received.filter((r) => r.status !== undefined && r.status < 300).flatMap((r) => payload(r).data);
const deliveredCount = (n: number) => (rs: Received[]) => rs.filter((r) => r.status !== undefined && r.status < 300).flatMap((r) => payload(r).data).length >= n;

describe('webhook delivery', () => {
  it('posts batches in feed order, signed so that the standardwebhooks package verifies them, and acknowledges them', async () => {
    await insertEntries(25);
    delivery = start(settings());
    await receiver.until(deliveredCount(25));
    const verifier = new Webhook(SECRET);
    for (const r of receiver.received) {
      expect(r.headers['content-type']).toBe('application/json');
      const body = verifier.verify(r.body, r.headers) as { type: string; data: Line[] };
      expect(body.type).toBe('batch_calls.changes');
      expect(r.headers['webhook-id']).toMatch(/^msg_\d+_\d+-\d+_\d+$/);
    }
    // A wrong secret or a changed body fails verification.
    const other = new Webhook(`whsec_${Buffer.from('another-secret-of-thirty-two-byte').toString('base64')}`);
    expect(() => other.verify(receiver.received[0]!.body, receiver.received[0]!.headers)).toThrow();
    expect(() => verifier.verify(receiver.received[0]!.body.replace('"a"', '"c"'), receiver.received[0]!.headers)).toThrow();
    expect(receiver.received.map((r) => payload(r).data.length)).toEqual([10, 10, 5]);
    expect(delivered().map((e) => e.job_id)).toEqual(Array.from({ length: 25 }, (_, i) => `j${i}`));
    const line = delivered()[0]!;
    expect(Object.keys(line)).toEqual(['id', 'position', 'kind', 'workspace', 'job_id', 'version', 'status', 'previous_status', 'observed_at', 'run_id']);
    await expect.poll(() => delivery!.state().position).toBe(`${(delivered().at(-1) as unknown as { position: string }).position}`);
    const [stored] = await database.sql<{ position: string }[]>`select position_xid::text || ':' || position_id::text as position from feed_consumers where name = 'webhook'`;
    expect(stored!.position).toBe(delivery.state().position);
    expect(webhookState()).toMatchObject({ role: 'delivering', paused: false, failures: 0, entriesDelivered: 25, attempts: { delivered: 3 } });
    expect(webhookState()!.receiver).toMatch(/^127\.0\.0\.1:\d+#[0-9a-f]{8}$/);
  });

  it('retries a 500 and a timeout with the same webhook-id and body, and a new signature each time', async () => {
    await insertEntries(3);
    receiver.setAnswer((i) => (i === 0 ? { status: 500 } : i === 1 ? { hang: true } : { status: 200 }));
    delivery = start(settings({ timeoutMs: 300 }));
    await receiver.until(deliveredCount(3));
    const [first, second, third] = receiver.received;
    expect(receiver.received).toHaveLength(3);
    expect(new Set([first, second, third].map((r) => r!.headers['webhook-id'])).size).toBe(1);
    expect(new Set([first, second, third].map((r) => r!.body)).size).toBe(1);
    for (const r of [first, second, third]) new Webhook(SECRET).verify(r!.body, r!.headers);
    expect(third!.at - second!.at).toBeGreaterThanOrEqual(290);
    await expect.poll(() => delivery!.state().attempts.delivered).toBe(1);
    expect(delivery.state()).toMatchObject({ attempts: { rejected: 1, timeout: 1, delivered: 1, error: 0 }, failures: 0, lastError: null });
    expect(logs.text()).toContain('failed (HTTP 500)');
    expect(logs.text()).toContain('failed (no answer within 300 ms)');
  });

  it('honours Retry-After in seconds and as an HTTP date', async () => {
    await insertEntries(1);
    receiver.setAnswer((i) =>
      i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : i === 1 ? { status: 503, headers: { 'retry-after': new Date(Date.now() + 2_000).toUTCString() } } : { status: 200 },
    );
    delivery = start(settings());
    await receiver.until(deliveredCount(1));
    const [a, b, c] = receiver.received;
    // The backoff alone would wait at most 20 ms.
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(990);
    expect(c!.at - b!.at).toBeGreaterThanOrEqual(900);
  });

  it('pauses a receiver that keeps failing, probes it, and catches up in order with nothing lost once it recovers', async () => {
    await insertEntries(30);
    let healthy = false;
    receiver.setAnswer(() => (healthy ? { status: 200 } : { status: 503 }));
    delivery = start(settings({}, { pauseAfterFailures: 3, probeEveryMs: 400 }));
    // The fourth attempt is the first probe: paused by then.
    await receiver.until((rs) => rs.length >= 4);
    // The receiver sees the probe before the delivery sees its answer.
    expect(webhookState()).toMatchObject({ paused: true, lastError: 'HTTP 503', role: 'delivering' });
    expect(webhookState()!.failures).toBeGreaterThanOrEqual(3);
    expect(receiver.received[3]!.at - receiver.received[2]!.at).toBeGreaterThanOrEqual(390);
    expect(logs.text()).toContain('paused after 3 failed attempts (HTTP 503)');
    const metrics = await scrape();
    expect(metrics).toMatch(/^threetone_webhook_paused 1$/m);
    expect(metrics).toMatch(/^threetone_webhook_lag_entries 30$/m);
    expect(metrics).toMatch(/^threetone_webhook_deliveries_total\{outcome="rejected"\} [4-9]$/m);
    // More changes while paused, then the receiver recovers.
    await insertEntries(15, 30);
    healthy = true;
    await receiver.until(deliveredCount(45));
    const entries = delivered();
    expect(entries.map((e) => e.job_id)).toEqual(Array.from({ length: 45 }, (_, i) => `j${i}`));
    for (const ws of ['a', 'b']) {
      const ids = entries.filter((e) => e.workspace === ws).map((e) => e.id);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
    }
    await expect.poll(() => delivery!.state().paused).toBe(false);
    expect(delivery.state()).toMatchObject({ paused: false, failures: 0, pausedAt: null });
    expect(await scrape()).toMatch(/^threetone_webhook_paused 0$/m);
    await expect.poll(async () => (await scrape()).match(/^threetone_webhook_lag_entries (\d+)$/m)?.[1]).toBe('0');
    expect(logs.text()).toContain('recovered');
  });

  it('sends only the kinds and statuses asked for, and moves past the rest', async () => {
    await insertEntries(4, 0, { kind: 'created', status: 'pending' });
    await insertEntries(4, 10, { kind: 'deleted', status: 'failed' });
    await insertEntries(4, 20, { kind: 'updated', status: 'failed' });
    await insertEntries(4, 30, { kind: 'deleted', status: 'completed' });
    delivery = start(settings({ filter: { kinds: ['deleted', 'undeleted'], statuses: ['failed'] } }));
    await receiver.until(deliveredCount(4));
    await expect.poll(async () => (await scrape()).match(/^threetone_webhook_lag_entries (\d+)$/m)?.[1]).toBe('0');
    expect(delivered().map((e) => `${e.kind}:${e.status}:${e.job_id}`)).toEqual(['deleted:failed:j10', 'deleted:failed:j11', 'deleted:failed:j12', 'deleted:failed:j13']);
  });

  it('starts a new consumer from now by default, and one process delivers at a time; another takes over when it stops', async () => {
    await insertEntries(5);
    delivery = startWebhookDelivery({ sql: database.sql, databaseUrl: database.url, log: logs.log, webhook: settings(), lockRetryMs: 100, pollMs: 200 });
    await expect.poll(() => delivery!.state().position).not.toBeNull();
    const second = startWebhookDelivery({ sql: database.sql, databaseUrl: database.url, log: logs.log, webhook: settings(), lockRetryMs: 100, pollMs: 200 });
    extra.push(second);
    await insertEntries(3, 100);
    await receiver.until((rs) => deliveredCount(3)(rs) && delivered().some((e) => e.job_id === 'j102'));
    // "now" is the snapshot's xmin: a write transaction still open anywhere on the server (a parallel test) moves it
    // back, and then entries committed just before come too (at least once). What came after must all come, in order.
    expect(delivered().map((e) => e.job_id).filter((id) => Number(id.slice(1)) >= 100)).toEqual(['j100', 'j101', 'j102']);
    expect(second.state().role).toBe('standby');
    // Stopped once the batch is acknowledged (stopping before would only send it again: at least once).
    const last = (delivered().at(-1) as unknown as { position: string }).position;
    await expect.poll(() => delivery!.state().position).toBe(last);
    await delivery.stop();
    await expect.poll(() => second.state().role).toBe('delivering');
    await insertEntries(2, 200);
    await receiver.until(() => delivered().some((e) => e.job_id === 'j201'));
    expect(delivered().map((e) => e.job_id).filter((id) => Number(id.slice(1)) >= 100)).toEqual(['j100', 'j101', 'j102', 'j200', 'j201']);
  });

  it('stops delivering when its lock goes with its connection, so the worker that takes over never delivers beside it', async () => {
    await insertEntries(2);
    delivery = start(settings());
    await receiver.until(deliveredCount(2));
    // Acknowledged first: a batch sent but not acknowledged is sent again by whoever delivers next (at least once).
    const acked = (delivered().at(-1) as unknown as { position: string }).position;
    await expect.poll(() => delivery!.state().position).toBe(acked);
    const second = start(settings());
    extra.push(second);
    // The delivering worker's lock session dies (a failover, a pooler, pg_terminate_backend) while the process lives on.
    await database.sql`
      select pg_catalog.pg_terminate_backend(a.pid) from pg_catalog.pg_stat_activity a
      where a.datname = pg_catalog.current_database() and a.application_name = 'threetone-sync-consumer'
        and exists (select 1 from pg_catalog.pg_locks l where l.pid = a.pid and l.locktype = 'advisory' and l.granted)`;
    await expect.poll(() => second.state().role, { timeout: 10_000 }).toBe('delivering');
    await insertEntries(6, 100);
    await receiver.until(deliveredCount(8));
    // Each entry once, in feed order: only the worker holding the lock delivered.
    expect(delivered().map((e) => e.job_id)).toEqual(['j0', 'j1', 'j100', 'j101', 'j102', 'j103', 'j104', 'j105']);
    await expect.poll(() => delivery!.state().role).toBe('standby');
    expect(logs.text()).toContain('the webhook consumer lock was lost with its connection');
  });

  it('refuses a WEBHOOK_URL without a secret, or a secret that is not whsec_ base64, without repeating either', () => {
    const url = 'https://hooks.example.com/t0ps3cret';
    expect(() => loadConfig({ WEBHOOK_URL: url })).toThrow(/WEBHOOK_SECRET is required/);
    const bad = () => loadConfig({ WEBHOOK_URL: url, WEBHOOK_SECRET: 'whsec_not base64!' });
    expect(bad).toThrow(/WEBHOOK_SECRET must be a Standard Webhooks secret/);
    try {
      bad();
    } catch (error) {
      expect(String(error)).not.toContain('t0ps3cret');
      expect(String(error)).not.toContain('not base64!');
    }
    expect(() => loadConfig({ WEBHOOK_URL: url, WEBHOOK_SECRET: SECRET, WEBHOOK_EVENTS: 'created,exploded' })).toThrow(/WEBHOOK_EVENTS must list kinds/);
    const config = loadConfig({ WEBHOOK_URL: url, WEBHOOK_SECRET: SECRET, WEBHOOK_EVENTS: 'deleted, undeleted', WEBHOOK_STATUSES: 'failed' });
    expect(config.webhook).toMatchObject({ filter: { kinds: ['deleted', 'undeleted'], statuses: ['failed'] }, timeoutMs: 10_000, batchSize: 100 });
    expect(loadConfig({}).webhook).toBeUndefined();
  });
});

/** The webhook series of a registry built as the worker builds it. */
async function scrape(): Promise<string> {
  const { Registry } = await import('prom-client');
  const { webhookCollectors } = await import('../../src/http/webhook-metrics.ts');
  const registry = new Registry();
  webhookCollectors(registry, { database, log: logs.log });
  return registry.metrics();
}
