/** UTC calendar days as `YYYY-MM-DD`: the BI views group jobs by the UTC day they were created on. */

export const DAY_MS = 86_400_000;

export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Midnight UTC of the day `date` falls on. */
export function startOfUtcDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

/** Every day from `first` to `last`, both included, so a day without jobs still has its place on the axis. */
export function everyDay(first: string, last: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${first}T00:00:00Z`), end = Date.parse(`${last}T00:00:00Z`); t <= end; t += DAY_MS) days.push(utcDay(new Date(t)));
  return days;
}

/**
 * The report's window starts at midnight UTC: the daily chart counts whole UTC days, and the agents' sums and
 * the totals must cover the very same jobs, so a `--since` of 30d means the 30 days before today, plus today.
 */
export function windowStart(now: Date, sinceMs: number): Date {
  return startOfUtcDay(new Date(now.getTime() - sinceMs));
}
