/** `timestamptz::text` ("2026-12-01 10:00:00.123+00", as postgres.js hands text columns over) as a Date. */
export function parsePgTime(text: string): Date {
  return new Date(text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
}

/** The same as ISO 8601 in UTC, the one time format the CLI, the report and the status page print. */
export function isoTime(text: string): string {
  return parsePgTime(text).toISOString();
}
