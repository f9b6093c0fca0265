import type { FeedPosition } from './position.ts';
import { formatAge } from '../util/time-format.ts';
import { formatPosition } from './position.ts';

/** Entries counted past a consumer's position at most: the count is a range of the feed's primary key. */
export const LAG_COUNT_CAP = 1_000_000;

/** A consumer and how far behind it is (src/db/feed/consumer-lag.ts). */
export interface ConsumerLag {
  name: string;
  position: FeedPosition;
  /** When it last acknowledged (or was created). */
  updatedAt: Date;
  /** Entries after its position, committed or not, up to LAG_COUNT_CAP. */
  lagEntries: number;
  /** When the oldest entry it has not acknowledged was observed; null when it has read everything. */
  oldestUnreadAt: Date | null;
}

/** How far behind a consumer is in seconds: the age of the oldest entry it has not acknowledged, 0 when none. */
export function lagSeconds(lag: Pick<ConsumerLag, 'oldestUnreadAt'>, now: Date): number {
  return lag.oldestUnreadAt === null ? 0 : Math.max(0, (now.getTime() - lag.oldestUnreadAt.getTime()) / 1000);
}

const entriesText = (n: number) => (n >= LAG_COUNT_CAP ? `${LAG_COUNT_CAP}+ entries` : n === 1 ? '1 entry' : `${n} entries`);

/** `status`'s consumers block: a heading, then one line each; nothing when there is no consumer. */
export function consumerLines(lags: ConsumerLag[], now: Date): string[] {
  if (lags.length === 0) return [];
  return [
    'consumers:',
    ...lags.map((lag) => {
      const behind =
        lag.lagEntries === 0 || lag.oldestUnreadAt === null
          ? 'caught up'
          : `${entriesText(lag.lagEntries)} behind, the oldest observed ${formatAge(now.getTime() - lag.oldestUnreadAt.getTime())}`;
      return `  ${lag.name}: ${behind}; acknowledged ${formatAge(now.getTime() - lag.updatedAt.getTime())} (at ${formatPosition(lag.position)})`;
    }),
  ];
}

/** `status --json`'s `consumers` entries. */
export function consumerJson(lag: ConsumerLag, now: Date) {
  return {
    name: lag.name,
    position: formatPosition(lag.position),
    lag_entries: lag.lagEntries,
    lag_entries_capped: lag.lagEntries >= LAG_COUNT_CAP,
    lag_seconds: Math.round(lagSeconds(lag, now)),
    oldest_unread_at: lag.oldestUnreadAt?.toISOString() ?? null,
    acknowledged_at: lag.updatedAt.toISOString(),
  };
}
