import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWorker, type WorkerHandle } from '../../src/app/worker.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { captureLogs } from '../helpers/logs.ts';
import { deleteRedisKeys, queueConfig } from '../helpers/queue.ts';
import { startReceiver } from './receiver.ts';

const KEY = 'sk_webhook_worker_4f3e2d1c0b';
const SECRET = `whsec_${Buffer.from('the-worker-test-secret-32-bytes!!').toString('base64')}`;

describe.skipIf(!process.env.REDIS_URL)('the worker with WEBHOOK_URL', () => {
  let database: TestDatabase;
  let simulator: Simulator;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let worker: WorkerHandle | undefined;
  let prefix: string;

  beforeEach(async () => {
    database = await createTestDatabase();
    simulator = await startSimulator({ apiKeys: [KEY], items: 40 });
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await worker?.close();
    await receiver.close();
    await simulator.close();
    await database.drop();
    await deleteRedisKeys(prefix);
  });

  it('creates the webhook consumer at start and delivers the first sync, signed, once each, in order; closes idempotently; logs neither URL nor secret', async () => {
    const logs = captureLogs('debug');
    const queue = queueConfig('redis');
    prefix = queue.worker.queuePrefix!;
    const base = testConfig({ baseUrl: simulator.url, pageSize: 10 });
    const config = {
      ...base,
      databaseUrl: database.url,
      redisUrl: queue.redisUrl,
      workspaces: [{ name: 'alpha', apiKey: KEY }],
      worker: { ...base.worker, ...queue.worker, syncEveryMs: 3_600_000, lockMs: 2_000 },
      webhook: {
        url: receiver.url,
        secret: SECRET,
        filter: {},
        timeoutMs: 2_000,
        batchSize: 25,
        timings: { baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 1_000, pauseAfterFailures: 10, pauseAfterMs: 60_000, probeEveryMs: 1_000 },
      },
    };
    worker = await startWorker(config, logs.log, { webhookTimings: { lockRetryMs: 100, pollMs: 200 } });
    const [consumer] = await database.sql`select name from feed_consumers`;
    expect(consumer).toEqual({ name: 'webhook' });
    const count = () => receiver.received.flatMap((r) => (JSON.parse(r.body) as { data: unknown[] }).data).length;
    await receiver.until(() => count() >= 40);
    const verifier = new Webhook(SECRET);
    const entries = receiver.received.flatMap((r) => (verifier.verify(r.body, r.headers) as { data: { id: number; kind: string; workspace: string }[] }).data);
    expect(entries).toHaveLength(40);
    expect(entries.every((e) => e.kind === 'created' && e.workspace === 'alpha')).toBe(true);
    expect(entries.map((e) => e.id)).toEqual([...entries.map((e) => e.id)].sort((a, b) => a - b));
    await Promise.all([worker.close(), worker.close()]);
    worker = undefined;
    const text = logs.text();
    expect(text).toContain('delivering the change feed to webhook receiver 127.0.0.1:');
    for (const needle of [receiver.url, '/hooks/', 't0ps3cret', 'abc123', SECRET, SECRET.slice(6)]) expect(text).not.toContain(needle);
  });
});
