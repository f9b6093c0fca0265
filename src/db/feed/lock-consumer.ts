import postgres from 'postgres';

export const CONSUMER_LOCK_PREFIX = 'threetone-sync consumer:';

/**
 * A session advisory lock per consumer name, on a one-connection client of its own: a second `changes` on the
 * same consumer stops at once instead of printing the same entries. Delivery does not rest on it (positions
 * only move forward), so a lock lost with its connection costs duplicates at most. Returns undefined when
 * another session holds it.
 */
export async function lockConsumer(databaseUrl: string, name: string): Promise<{ release(): Promise<void> } | undefined> {
  const session = postgres(databaseUrl, {
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    connect_timeout: 10,
    onnotice: () => undefined,
    connection: { application_name: 'threetone-sync-consumer' },
  });
  try {
    const [row] = await session<{ locked: boolean }[]>`
      select pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended(${CONSUMER_LOCK_PREFIX + name}::text, 0::bigint)) as locked`;
    if (!row?.locked) {
      await session.end({ timeout: 5 });
      return undefined;
    }
  } catch (error) {
    await session.end({ timeout: 5 });
    throw error;
  }
  return { release: () => session.end({ timeout: 5 }) };
}
