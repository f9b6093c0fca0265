import type postgres from 'postgres';
import { parsePosition, type FeedPosition } from '../../feed/position.ts';

export interface ConsumerStart {
  position: FeedPosition;
  /** False when the consumer already existed: `since` was not used. */
  created: boolean;
}

/**
 * The consumer's position, creating it at `since` (the text src/feed/since.ts gives, read by
 * threetone_feed_position() in migrations/0011) when it does not exist yet.
 */
export async function createConsumer(sql: postgres.Sql, name: string, since: string): Promise<ConsumerStart> {
  const [row] = await sql<{ position: string; created: boolean }[]>`
    WITH before AS (SELECT 1 FROM public.feed_consumers WHERE name = ${name})
    SELECT public.threetone_consumer_create(${name}, ${since}) AS position, NOT EXISTS (SELECT 1 FROM before) AS created`;
  return { position: parsePosition(row!.position)!, created: row!.created };
}
