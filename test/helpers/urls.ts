/** The same server, another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Where a fresh machine of ours runs Redis (see .ci/run); REDIS_URL overrides it. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * The Redis the queue tests use: REDIS_URL, else the machine's own.
 * `REDIS_URL=none` leaves Redis out (the queue tests then run on the Postgres backend only): empty for them.
 */
export function testRedisUrl(env: NodeJS.ProcessEnv = process.env): string {
  const url = env.REDIS_URL?.trim();
  if (url === 'none') return '';
  return url || DEFAULT_REDIS_URL;
}
