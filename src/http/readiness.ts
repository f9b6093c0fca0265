import type { Database } from '../db/connection.ts';
import { ping } from '../db/ping.ts';
import { pingRedis } from '../util/ping-redis.ts';
import { TimeoutError, withTimeout } from '../util/with-timeout.ts';

export type CheckResult = true | string;

export interface Readiness {
  ok: boolean;
  /** `true` when a check passed, else why it failed. */
  checks: Record<string, boolean | string>;
}

export interface ReadinessOptions {
  /** Probed on the HTTP endpoint's own pool: a probe must not queue behind the sync's page writes. */
  database: Pick<Database, 'reads'>;
  /** The queue's Redis; undefined on the Postgres backend, where the database check covers the queue store. */
  redisUrl?: string;
  schedulesRegistered: () => boolean;
  /** Longest each check may take. Default 1000 ms. */
  timeoutMs?: number;
}

/**
 * The `ready()` behind /readyz. Checks run in parallel and each is bounded,
 * so a probe answers within about `timeoutMs` however the stores misbehave.
 */
export function createReadiness(options: ReadinessOptions): () => Promise<Readiness> {
  const timeoutMs = options.timeoutMs ?? 1000;
  return async () => {
    const pending: Record<string, Promise<CheckResult>> = {
      postgres: checkPostgres(options.database, timeoutMs),
      schedules: Promise.resolve(options.schedulesRegistered() || 'schedules are not registered yet'),
    };
    if (options.redisUrl !== undefined) pending.redis = checkRedis(options.redisUrl, timeoutMs);
    const names = Object.keys(pending);
    const results = await Promise.all(names.map((name) => pending[name]!));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
    return { ok: results.every((r) => r === true), checks };
  };
}

/** `select 1`; cancelled server-side when it outlives the bound, so probes do not pile up queries. */
export async function checkPostgres(database: Pick<Database, 'reads'>, timeoutMs: number): Promise<CheckResult> {
  let query: ReturnType<typeof ping> | undefined;
  try {
    query = ping(database.reads);
    await withTimeout(query.execute(), timeoutMs, 'postgres');
    return true;
  } catch (error) {
    void query?.cancel();
    return failure('postgres', error);
  }
}

/** The queue's Redis answers a PING on a connection of its own (see pingRedis). */
export async function checkRedis(url: string, timeoutMs: number): Promise<CheckResult> {
  try {
    await pingRedis(url, timeoutMs);
    return true;
  } catch (error) {
    return failure('redis', error);
  }
}

/**
 * Only the error's kind and code: probe answers are public, and a database
 * error's message can quote the server's configuration.
 */
function failure(what: string, error: unknown): string {
  if (error instanceof TimeoutError) return error.message;
  const code = (error as { code?: unknown } | null)?.code;
  return `${what} unreachable${typeof code === 'string' ? ` (${code})` : ''}`;
}
