import type { FeedKind } from './kinds.ts';
import { formatPosition, positionOf } from './position.ts';

export { positionOf };

/** One entry of the feed as read (src/db/feed/read-changes.ts). */
export interface FeedEntry {
  id: bigint;
  xid: bigint;
  kind: FeedKind;
  workspace: string;
  jobId: string;
  /** The version's last_updated_at_unix. */
  version: number;
  status: string;
  previousStatus: string | null;
  observedAt: Date;
  runId: number | null;
}

/**
 * The JSON line `changes` prints for an entry (without its newline). `id` is stable (deduplicate on it: delivery
 * is at least once); `position` is where a consumer that processed this entry stands, for `--since`. A line is
 * complete only with its newline: a consumer killed mid-write may leave a partial last line, which the next run
 * prints again in full.
 */
export function formatLine(entry: FeedEntry): string {
  return JSON.stringify({
    id: Number(entry.id),
    position: formatPosition(positionOf(entry)),
    kind: entry.kind,
    workspace: entry.workspace,
    job_id: entry.jobId,
    version: entry.version,
    status: entry.status,
    previous_status: entry.previousStatus,
    observed_at: entry.observedAt.toISOString(),
    run_id: entry.runId,
  });
}

/** A batch as one chunk to write: one line per entry, each ending in a newline. */
export function formatBatch(entries: FeedEntry[]): string {
  let out = '';
  for (const entry of entries) out += `${formatLine(entry)}\n`;
  return out;
}
