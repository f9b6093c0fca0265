import { formatLine, positionOf, type FeedEntry } from '../feed/line.ts';
import { formatPosition } from '../feed/position.ts';

/** The `type` of every delivery. */
export const PAYLOAD_TYPE = 'batch_calls.changes';

export interface WebhookBatch {
  /** `webhook-id`: from the batch's first and last entries, so every retry of it carries the same id. */
  id: string;
  /** The JSON body, the same bytes on every attempt. */
  body: string;
  entries: number;
}

/**
 * One delivery: `{"type":"batch_calls.changes","timestamp":ISO,"data":[entry, …]}`, each entry the object a line
 * of `threetone-sync changes` holds (id, position, kind, workspace, job_id, version, status, previous_status,
 * observed_at, run_id), in feed order. `timestamp` is when the batch was first built. `entries` must not be empty.
 */
export function buildBatch(entries: readonly FeedEntry[], builtAt: Date): WebhookBatch {
  const first = entries[0]!;
  const last = entries[entries.length - 1]!;
  const id = `msg_${formatPosition(positionOf(first)).replace(':', '_')}-${formatPosition(positionOf(last)).replace(':', '_')}`;
  const body = `{"type":"${PAYLOAD_TYPE}","timestamp":${JSON.stringify(builtAt.toISOString())},"data":[${entries.map(formatLine).join(',')}]}`;
  return { id, body, entries: entries.length };
}
