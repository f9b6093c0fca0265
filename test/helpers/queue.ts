import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Config } from '../../src/config.ts';

export type Backend = 'redis' | 'postgres';

/** Redis when REDIS_URL is set (CI), and always Postgres: the queue tests run on both. */
export const BACKENDS: Backend[] = process.env.REDIS_URL ? ['redis', 'postgres'] : ['postgres'];
if (!process.env.REDIS_URL) {
  process.stdout.write('REDIS_URL is not set: queue tests run on the Postgres backend only\n');
}

/** Queue settings for one test: its own Redis key prefix (the Postgres backend is isolated by the test's own database). */
export function queueConfig(backend: Backend): Pick<Config, 'redisUrl'> & { worker: Partial<Config['worker']> } {
  return {
    redisUrl: backend === 'redis' ? process.env.REDIS_URL : undefined,
    worker: { queuePrefix: `t${randomBytes(5).toString('hex')}`, queueName: 'threetone-sync', queueSchema: 'threetone_queue' },
  };
}

/** Deletes every Redis key of a test's prefix. */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  if (!process.env.REDIS_URL) return;
  const redis = new Redis(process.env.REDIS_URL);
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

/** Every value stored under a prefix, as text, for searching for secrets. */
export async function dumpRedis(prefix: string): Promise<string> {
  if (!process.env.REDIS_URL) return '';
  const redis = new Redis(process.env.REDIS_URL);
  try {
    const parts: string[] = [];
    for (const key of await redis.keys(`${prefix}*`)) {
      const type = await redis.type(key);
      parts.push(key);
      if (type === 'string') parts.push((await redis.get(key)) ?? '');
      else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') parts.push(...(await redis.lrange(key, 0, -1)));
      else if (type === 'set') parts.push(...(await redis.smembers(key)));
      else if (type === 'zset') parts.push(...(await redis.zrange(key, 0, -1)));
      else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
    return parts.join('\n');
  } finally {
    redis.disconnect();
  }
}
