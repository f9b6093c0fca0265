import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPostgres, checkRedis, createReadiness } from '../../src/http/readiness.ts';
import { blackHole, closedPort, startHttpEnv, startThrowawayRedis, type HttpEnv, type ThrowawayRedis } from './fixture.ts';

describe('readiness', () => {
  let env: HttpEnv | undefined;
  let redis: ThrowawayRedis | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await redis?.kill();
    await env?.close();
    for (const cleanup of cleanups.splice(0)) await cleanup();
    env = redis = undefined;
  });

  const readyz = async () => {
    const response = await fetch(`${env!.server.url}/readyz`);
    return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, unknown> } };
  };

  it('answers 200 while Postgres and Redis answer, and 503 once Redis is killed', async () => {
    redis = await startThrowawayRedis();
    env = await startHttpEnv('postgres', { readinessRedisUrl: redis.url });

    expect(await readyz()).toEqual({ status: 200, body: { status: 'ok', checks: { postgres: true, redis: true, schedules: true } } });

    await redis.kill();
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body).toEqual({ status: 'unavailable', checks: { postgres: true, redis: 'redis unreachable (ECONNREFUSED)', schedules: true } });
    // Liveness is not readiness: the process itself is fine.
    expect((await fetch(`${env.server.url}/healthz`)).status).toBe(200);
  });

  it('is not ready until the schedules are registered', async () => {
    let registered = false;
    env = await startHttpEnv('postgres', { schedulesRegistered: () => registered });
    expect(await readyz()).toEqual({ status: 503, body: { status: 'unavailable', checks: { postgres: true, schedules: 'schedules are not registered yet' } } });
    registered = true;
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ok', checks: { postgres: true, schedules: true } } });
  });

  it('fails fast on a port with nothing listening', async () => {
    const port = await closedPort();
    const started = Date.now();
    expect(await checkRedis(`redis://127.0.0.1:${port}`, 1000)).toBe('redis unreachable (ECONNREFUSED)');
    const sql = postgres(`postgres://nobody@127.0.0.1:${port}/none`, { max: 1, onnotice: () => undefined });
    cleanups.push(() => sql.end({ timeout: 0 }));
    expect(await checkPostgres({ reads: sql }, 1000)).toBe('postgres unreachable (ECONNREFUSED)');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('bounds every check in time when a store accepts connections and never answers', async () => {
    const hole = await blackHole();
    cleanups.push(() => hole.close());
    const sql = postgres(`postgres://nobody@127.0.0.1:${hole.port}/none`, { max: 1, connect_timeout: 30, onnotice: () => undefined });
    cleanups.push(() => sql.end({ timeout: 0 }));
    const ready = createReadiness({ database: { reads: sql }, redisUrl: `redis://127.0.0.1:${hole.port}`, schedulesRegistered: () => true, timeoutMs: 300 });
    const started = Date.now();
    expect(await ready()).toEqual({
      ok: false,
      checks: { postgres: 'postgres did not answer within 300 ms', redis: 'redis did not answer within 300 ms', schedules: true },
    });
    // In parallel: about one bound, not the sum of them.
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
