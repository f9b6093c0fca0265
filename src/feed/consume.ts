import type { FeedEntry } from './line.ts';
import { positionOf, formatBatch } from './line.ts';
import type { FeedPosition } from './position.ts';
import type { Wake } from './wake.ts';

/** The I/O a consumer runs on, given by its caller (src/cli/commands/changes.ts; fakes in the tests). */
export interface ConsumeIo {
  read(position: FeedPosition, limit: number): Promise<FeedEntry[]>;
  /** Entries after the position held back by a transaction still running (src/db/feed/pending-changes.ts). */
  pending(position: FeedPosition): Promise<boolean>;
  /** Stores the position; called only once the entries up to it are written out. */
  ack(position: FeedPosition): Promise<void>;
  /** Writes a chunk and resolves once it has left the process (stdout drained). */
  write(chunk: string): Promise<void>;
  /** Whether the notification connection is listening now (follow only). */
  listening(): boolean;
}

export interface ConsumeOptions {
  start: FeedPosition;
  /** Entries read, written and acknowledged together. */
  batchSize: number;
  /** Stop after this many entries; undefined: no bound. */
  limit?: number;
  /** Wait for more once caught up, instead of returning. */
  follow: boolean;
  wake: Wake;
  /** Without a notification connection, read this often. Default 5000 ms. */
  pollMs?: number;
  /** With one, read this often all the same (a notification lost some other way). Default 30000 ms. */
  safetyPollMs?: number;
  /** Re-read delays while entries are held back or a notification gave nothing, doubling up to the last. */
  retryMs?: readonly number[];
}

export interface ConsumeResult {
  entries: number;
  position: FeedPosition;
}

const RETRY_MS = [10, 20, 40, 80, 160, 320, 640, 1000] as const;

/**
 * Reads batches after the position, writes each out, and acknowledges it only once written: a consumer killed
 * anywhere in between gets the batch again (at least once; entries carry a stable id). With `follow`, once caught
 * up it sleeps until the feed's NOTIFY, polling every `pollMs` while the notification connection is down. A
 * notification can come before the entry is readable (an older transaction still running keeps the snapshot's
 * xmin below it), and that older transaction's end sends none: so while entries are held back, or a
 * notification gave nothing, it re-reads after short, growing delays.
 */
export async function consume(io: ConsumeIo, options: ConsumeOptions): Promise<ConsumeResult> {
  const { wake, batchSize, limit } = options;
  const retry = options.retryMs ?? RETRY_MS;
  let position = options.start;
  let entries = 0;
  let attempt = 0;
  let chasing = false;
  let lastWake: 'notified' | 'timeout' | 'start' = 'start';
  while (!wake.stopped && (limit === undefined || entries < limit)) {
    const want = limit === undefined ? batchSize : Math.min(batchSize, limit - entries);
    const batch = await io.read(position, want);
    if (batch.length > 0) {
      await io.write(formatBatch(batch));
      position = positionOf(batch[batch.length - 1]!);
      await io.ack(position);
      entries += batch.length;
      attempt = 0;
      chasing = false;
      if (batch.length === want) continue;
    } else if (lastWake === 'notified') {
      chasing = true;
    }
    if (!options.follow) break;
    let ms: number;
    if ((await io.pending(position)) || (chasing && attempt < retry.length)) {
      ms = retry[Math.min(attempt, retry.length - 1)]!;
      attempt += 1;
    } else {
      attempt = 0;
      chasing = false;
      ms = io.listening() ? (options.safetyPollMs ?? 30_000) : (options.pollMs ?? 5_000);
    }
    const reason = await wake.wait(ms);
    if (reason === 'stopped') break;
    lastWake = reason;
  }
  return { entries, position };
}
