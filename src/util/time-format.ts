/**
 * The one way the status page, `status`, `report` and the run summaries write a time, an age and a duration,
 * so an operator reading two of them side by side compares like with like.
 */

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Past this, ages and durations are told in days: "321 h 26 min" is not read at a glance. */
const DAYS_AFTER_MS = 48 * HOUR;

/** ISO 8601 in UTC to the second, with its zone: `2026-12-06T08:11:24Z`. */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `timestamptz::text` ("2026-12-01 10:00:00.123+00", as postgres.js hands text columns over) as a Date. */
export function parsePgTime(text: string): Date {
  return new Date(text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
}

/** A `timestamptz::text` in the one format (`formatTime`). */
export function isoTime(text: string): string {
  return formatTime(parsePgTime(text));
}

/** How long something took or will take: `850 ms`, `12.3 s`, `4 min 05 s`, `1 h 02 min`, and past 48 h `13 days 9 h`. */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (ms < HOUR) return `${Math.floor(s / 60)} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  if (ms < DAYS_AFTER_MS) return `${Math.floor(ms / HOUR)} h ${String(Math.floor((ms % HOUR) / MINUTE)).padStart(2, '0')} min`;
  return `${Math.floor(ms / DAY)} days ${Math.floor((ms % DAY) / HOUR)} h`;
}

/** How long ago, for something `ms` old: `less than a minute ago`, `29 min ago`, `5 h 12 min ago`, past 48 h `3 days ago`. */
export function formatAge(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / MINUTE);
  if (minutes < 1) return 'less than a minute ago';
  if (minutes < 60) return `${minutes} min ago`;
  if (ms < DAYS_AFTER_MS) return `${Math.floor(minutes / 60)} h ${minutes % 60} min ago`;
  return `${Math.floor(ms / DAY)} days ago`;
}

/** A span without "ago", for reasons ("no progress for 40 min", "expected every 5 min"): the same units as formatAge. */
export function formatSpan(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / MINUTE);
  if (ms < MINUTE) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (minutes < 60) return `${minutes} min`;
  if (ms < DAYS_AFTER_MS) return minutes % 60 === 0 ? `${Math.floor(minutes / 60)} h` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  return `${Math.floor(ms / DAY)} days`;
}
