import { parsePosition, formatPosition } from './position.ts';

/**
 * `changes --since`, where a new consumer starts (an existing one goes on from its position):
 * - `beginning` (the default): every entry the feed holds;
 * - `now`: what commits from now on;
 * - `XID:ID`: after that position (as a printed entry's `position`);
 * - a duration back from now (`90s`, `15m`, `2h`, `7d`) or an ISO 8601 time with a zone: from the first entry,
 *   in feed order, observed at or after it (at least once: entries after it observed a little earlier come too).
 *
 * Returns the text threetone_feed_position() (migrations/0011) takes: the keywords and positions as they are, a
 * duration as a Postgres interval (the server's clock, as observed_at is), a time as ISO 8601 in UTC. Throws a
 * one-line message for anything else.
 */
export function parseSince(input: string): string {
  const text = input.trim();
  const lower = text.toLowerCase();
  if (lower === 'beginning' || lower === 'now') return lower;
  const position = parsePosition(text);
  if (position) return formatPosition(position);
  const duration = /^(\d{1,9})(s|m|h|d)$/.exec(lower);
  if (duration) {
    const seconds = Number(duration[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[duration[2] as 's' | 'm' | 'h' | 'd'];
    return `${seconds} seconds`;
  }
  // A date alone or a time without a zone would depend on where the command runs: refused.
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return new Date(ms).toISOString();
  }
  throw new Error(
    `--since must be beginning, now, a position XID:ID, a duration such as 15m, 2h or 7d, or an ISO 8601 time with a zone such as 2026-05-01T08:00:00Z, not "${input}"`,
  );
}
