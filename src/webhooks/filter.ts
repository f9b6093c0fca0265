import type { FeedKind } from '../feed/kinds.ts';
import type { FeedEntry } from '../feed/line.ts';

/** WEBHOOK_EVENTS and WEBHOOK_STATUSES; an unset list lets everything through. Both set: an entry must match both. */
export interface WebhookFilter {
  kinds?: readonly FeedKind[];
  statuses?: readonly string[];
}

/** The entries of a batch the receiver asked for, in feed order. */
export function selectEntries(entries: readonly FeedEntry[], filter: WebhookFilter): FeedEntry[] {
  const kinds = filter.kinds ? new Set<string>(filter.kinds) : undefined;
  const statuses = filter.statuses ? new Set(filter.statuses) : undefined;
  return entries.filter((e) => (!kinds || kinds.has(e.kind)) && (!statuses || statuses.has(e.status)));
}
