import { Redis } from 'ioredis';
import { withTimeout } from './with-timeout.ts';

/**
 * PING on a connection of its own, with no retries and no offline queue, so
 * an unreachable Redis fails at once. The queue's connections cannot tell us
 * that: they wait forever for Redis to come back, which BullMQ needs.
 * Rejects with the socket's own error (ECONNREFUSED, ENOTFOUND…), which says
 * more than the "Connection is closed" that connect() rejects with, or with a
 * TimeoutError.
 */
export async function pingRedis(url: string, timeoutMs: number): Promise<void> {
  const client = new Redis(url, {
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    lazyConnect: true,
    connectionName: 'threetone-sync-ping',
  });
  // The listener also keeps ioredis from printing every connection error to stderr.
  let socketError: Error | undefined;
  client.on('error', (error: Error) => (socketError ??= error));
  try {
    await withTimeout(
      client.connect().then(() => client.ping()),
      timeoutMs,
      'redis',
    );
  } catch (error) {
    throw error instanceof Error && error.name === 'TimeoutError' ? error : (socketError ?? error);
  } finally {
    client.disconnect();
  }
}
