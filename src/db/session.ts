import postgres from 'postgres';

/**
 * The options of a long-lived one-connection session of our own (a lock holder, a LISTEN, the migration): never
 * idled out or recycled, since what it holds (an advisory lock, a LISTEN) goes with its backend; named, so
 * pg_stat_activity tells which is which. Not a reserved connection of a pool: postgres.js 3.4 throws an uncatchable
 * TypeError when a reserved connection's socket dies with a write pending (porsager/postgres#1208).
 */
export function sessionOptions(applicationName: string, extra: { onclose?: () => void; connection?: Record<string, string | number> } = {}) {
  return {
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    connect_timeout: 10,
    onnotice: () => undefined,
    ...(extra.onclose ? { onclose: extra.onclose } : {}),
    connection: { application_name: applicationName, ...extra.connection },
  } satisfies postgres.Options<Record<string, postgres.PostgresType>>;
}
