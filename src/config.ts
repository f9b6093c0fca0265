import { CronExpressionParser } from 'cron-parser';
import { defaultStaleAfterMs, type HealthThresholds } from './health/judge.ts';
import type { RetryTimings } from './webhooks/policy.ts';
import { z } from 'zod';
import { ConfigError } from './errors/ConfigError.ts';
import { parseDuration } from './util/duration.ts';
import { FEED_KINDS, type FeedKind } from './feed/kinds.ts';
import { secretKey } from './webhooks/sign.ts';

/**
 * The one place that reads the environment. Everything else receives a
 * `Config`. Each variable: name, default, meaning.
 */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A number from `min` to `max`; whole unless `decimal`. */
const numberVar = (min: number, max: number, fallback: number, decimal = false) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      const n = Number(v);
      if (!(decimal ? Number.isFinite(n) : Number.isInteger(n)) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be a ${decimal ? 'number' : 'whole number'} from ${min} to ${max} (got "${v}")` });
        return z.NEVER;
      }
      return n;
    });

const intVar = (min: number, max: number, fallback: number) => numberVar(min, max, fallback);
const ratioVar = (min: number, max: number, fallback: number) => numberVar(min, max, fallback, true);

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** `1`/`true`/`yes` or `0`/`false`/`no`; unset is false. */
const flagVar = (byDefault: boolean) => optionalString.transform((v, ctx) => {
  if (v === undefined) return byDefault;
  if (/^(1|true|yes)$/i.test(v)) return true;
  if (/^(0|false|no)$/i.test(v)) return false;
  ctx.addIssue({ code: 'custom', message: `must be 1 or 0 (got "${v}")` });
  return z.NEVER;
});

const urlVar = (protocols: string[], example: string) =>
  optionalString.superRefine((v, ctx) => {
    if (v === undefined) return;
    let parsed: URL;
    try {
      parsed = new URL(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be a URL like ${example} (got something that does not parse)` });
      return;
    }
    if (!protocols.includes(parsed.protocol)) {
      ctx.addIssue({ code: 'custom', message: `must start with ${protocols.map((p) => `${p}//`).join(' or ')} like ${example}` });
    }
  });

/** A text variable with a default, checked by `problem` (undefined: fine). */
const checkedVar = (fallback: string, problem: (text: string) => string | undefined) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      const text = v === undefined || v === '' ? fallback : v;
      const message = problem(text);
      if (message === undefined) return text;
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    });

/** `30s`, `5m`, `1h`, `1d` or plain milliseconds, at least `minMs`. */
const durationVar = (fallback: string, minMs: number) =>
  checkedVar(fallback, (text) => {
    const ms = parseDuration(text);
    return ms !== undefined && ms >= minMs ? undefined : `must be a duration such as 30s, 5m or 1h, at least ${minMs / 1000}s (got "${text}")`;
  }).transform((text) => parseDuration(text)!);

const cronVar = (fallback: string) =>
  checkedVar(fallback, (text) => {
    try {
      CronExpressionParser.parse(text);
      return undefined;
    } catch (error) {
      return `must be a cron pattern such as "0 3 * * *" (${(error as Error).message})`;
    }
  });

const timeZoneVar = (fallback: string) =>
  checkedVar(fallback, (text) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: text });
      return undefined;
    } catch {
      return `must be an IANA time zone such as UTC or Europe/Berlin (got "${text}")`;
    }
  });

/** A comma-separated list of words (`created,deleted`); unset or empty: undefined. Each checked by `problem`. */
const listVar = (problem: (word: string) => string | undefined) =>
  optionalString.transform((v, ctx) => {
    if (v === undefined) return undefined;
    const words = [...new Set(v.split(',').map((w) => w.trim()).filter((w) => w !== ''))];
    for (const word of words) {
      const message = problem(word);
      if (message !== undefined) {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
    }
    return words.length > 0 ? words : undefined;
  });

const workspaceName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, "_", "." or "-"');

/** `{"acme": "key-1", "globex": "key-2"}`: several workspaces, each with its own key. */
const workspacesVar = optionalString.transform((v, ctx) => {
  if (v === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON object mapping workspace names to API keys, like {"acme":"<key>"} (it is not valid JSON)' });
    return z.NEVER;
  }
  const expected = 'must be a JSON object mapping workspace names to API keys, like {"acme":"<key>"}';
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || Object.keys(parsed).length === 0) {
    ctx.addIssue({ code: 'custom', message: `${expected} (got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed === 'object' ? 'an empty object' : typeof parsed})` });
    return z.NEVER;
  }
  // The JSON is right, one entry is not: name that entry, as a rejected key's error does, rather than the whole shape.
  for (const [name, apiKey] of Object.entries(parsed)) {
    if (!workspaceName.safeParse(name).success) {
      ctx.addIssue({ code: 'custom', message: `has an invalid workspace name "${name}": a name is 1-64 letters, digits, "_", "." or "-"` });
      return z.NEVER;
    }
    if (typeof apiKey !== 'string' || apiKey.trim() === '') {
      ctx.addIssue({ code: 'custom', path: [name], message: `must be the workspace's API key, a non-empty string` });
      return z.NEVER;
    }
  }
  return Object.entries(parsed as Record<string, string>).map(([name, apiKey]) => ({ name, apiKey }));
});

const envSchema = z.object({
  /** API key for the workspace (header `x-api-key`). Required by `sync`. Never logged or stored. */
  THREETONE_API_KEY: optionalString,
  /** API base URL. Default https://api.threetone.in. Plain http:// only to a loopback host, unless THREETONE_ALLOW_INSECURE_HTTP=1. */
  THREETONE_BASE_URL: urlVar(['https:', 'http:'], 'https://api.threetone.in').transform(
    (v) => (v ?? 'https://api.threetone.in').replace(/\/+$/, ''),
  ),
  /** Allows an http:// THREETONE_BASE_URL on a host that is not loopback (the API key would cross the network unencrypted). Default 0. */
  THREETONE_ALLOW_INSECURE_HTTP: flagVar(false),
  /** Label stored in every row's `workspace` column. Default `default`. */
  THREETONE_WORKSPACE: optionalString.pipe(workspaceName.optional()).transform((v) => v ?? 'default'),
  /** Items per request, 1..500. Default 500 (fewest requests). */
  THREETONE_PAGE_SIZE: intVar(1, 500, 500),
  /** Per-request timeout in ms (headers and body). Default 30000. */
  THREETONE_TIMEOUT_MS: intVar(100, 600_000, 30_000),
  /**
   * Largest response body read, in bytes; a larger one fails the run unread. Default 1048576 (1 MiB; a full 500-item
   * page is ~0.22 MiB). A page peaks at ~6.3x its size in heap, and a worker holds up to 2 x WORKER_CONCURRENCY pages
   * (one written, one prefetched per workspace): 8 x 6.3 x 1 MiB + ~40 MB stays under the image's 128 MB heap
   * (bench/body-heap.ts, BENCHMARKS.md). Raise it with the heap ceiling.
   */
  THREETONE_MAX_BODY_BYTES: intVar(1024, 1_073_741_824, 1_048_576),
  /** Attempts per request before the run fails. Default 6. */
  THREETONE_MAX_ATTEMPTS: intVar(1, 100, 6),
  /** First retry backoff step in ms (doubles per attempt, full jitter, capped at 30 s). Default 500. */
  THREETONE_RETRY_BASE_MS: intVar(1, 60_000, 500),
  /** Longest `Retry-After` we wait for in-process, in ms; longer fails the run so the next tick retries. Default 120000. */
  THREETONE_MAX_RETRY_AFTER_MS: intVar(0, 3_600_000, 120_000),
  /** Request budget per API key. Defaults 100 a minute and 1000 an hour, Threetone's documented limits. */
  THREETONE_REQUESTS_PER_MINUTE: intVar(1, 1_000_000, 100),
  THREETONE_REQUESTS_PER_HOUR: intVar(1, 100_000_000, 1000),
  /** Length of those two windows in ms. Defaults 60000 and 3600000 (the API's); shorter only for tests and benchmarks. */
  THREETONE_MINUTE_WINDOW_MS: intVar(1, 86_400_000, 60_000),
  THREETONE_HOUR_WINDOW_MS: intVar(1, 86_400_000, 3_600_000),
  /** Added to every budget window, in ms: absorbs clock skew and the API counting a request when it arrives. Default 1000 (docs/budget.md). */
  THREETONE_BUDGET_MARGIN_MS: intVar(0, 600_000, 1000),
  /**
   * Share of each budget window that full walks and reconciliations leave to incremental syncs of the same key, so a
   * reconciliation that needs the whole hour never makes the copy stale. Default 0.2 (20 of 100 a minute, 200 of
   * 1000 an hour: incremental syncs every 5 minutes of up to 16 pages each); 0 lets a long walk take everything.
   */
  THREETONE_BUDGET_FRESH_RESERVE: ratioVar(0, 0.9, 0.2),
  /** Incremental syncs stop once every non-final job was seen again and this many pages in a row changed nothing. Default 2. */
  INCREMENTAL_QUIET_PAGES: intVar(1, 1000, 2),
  /** A reconciliation that would mark more than this share of the workspace's live jobs deleted marks nothing and fails (`reconcile --allow-mass-delete` confirms once). Default 0.25. */
  RECONCILE_MAX_DELETE_RATIO: ratioVar(0, 1, 0.25),
  /**
   * Pages one walk may take before it fails as runaway (an API answering has_more for ever). 0 derives it per walk:
   * twice the pages the larger of the stored live jobs and the distinct jobs listed so far would fill, plus 50. Default 0.
   */
  WALK_MAX_PAGES: intVar(0, 10_000_000, 0),
  /** Times one attempt walks again from the top after the API rejected its cursor (expired, or rotated by a deploy). Default 3. */
  WALK_MAX_RESTARTS: intVar(0, 100, 3),
  /**
   * Days of sync_runs kept (by started_at); older runs are deleted, except what resume, the incremental stop rule,
   * freshness and a standing reconcile refusal need (docs/analytics.md). Their versions stay, with run_id set to NULL.
   * 0 keeps every run. Default 90.
   */
  RUN_RETENTION_DAYS: intVar(0, 36_500, 90),
  /** Days a rejected item is kept after it was last seen; 0 keeps them all. Default 90. */
  REJECTED_RETENTION_DAYS: intVar(0, 36_500, 90),
  /** statement_timeout and lock_timeout of the sync's Postgres sessions, in ms. Defaults 120000 and 30000. */
  PG_STATEMENT_TIMEOUT_MS: intVar(100, 86_400_000, 120_000),
  PG_LOCK_TIMEOUT_MS: intVar(100, 86_400_000, 30_000),
  /** Longest wait for another process's migration to finish, in ms; then `migrate` fails naming who holds the lock. Default 120000. */
  MIGRATION_LOCK_TIMEOUT_MS: intVar(100, 86_400_000, 120_000),
  /** Postgres URL. Unset: an embedded Postgres under EMBEDDED_PG_DIR. */
  DATABASE_URL: urlVar(['postgres:', 'postgresql:'], 'postgres://user:pass@host:5432/db'),
  /** Several workspaces: JSON `{"name": "api key", ...}`. Unset: THREETONE_WORKSPACE with THREETONE_API_KEY. */
  THREETONE_WORKSPACES: workspacesVar,
  /** Redis URL for the worker's queue. Unset: the queue lives in Postgres (BullMQ's Postgres backend). */
  REDIS_URL: urlVar(['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
  /** How often the worker syncs each workspace. Default 5m. */
  SYNC_EVERY: durationVar('5m', 1000),
  /**
   * A workspace whose last success (or, never having succeeded, whose first run) is older than this is stale on the
   * status page, in `status`, in /metrics and so in the ThreetoneCopyStale alert. 0 (default): 3 × SYNC_EVERY.
   */
  STALE_AFTER: durationVar('0', 0),
  /** A running run that has committed no page (nor announced a budget wait) for this long is stuck. Default 15m. */
  STUCK_AFTER: durationVar('15m', 60_000),
  /** Nightly full reconciliation, cron pattern and its time zone. Defaults `0 3 * * *`, UTC. */
  RECONCILE_CRON: cronVar('0 3 * * *'),
  RECONCILE_TZ: timeZoneVar('UTC'),
  /**
   * Time zone of the business's day: bi_daily_status_counts and bi_agent_performance_monthly count jobs on the day
   * and month of their creation there, and their indexes follow it. Applied by `threetone-sync migrate`
   * (set_report_time_zone in migration 0012). Unset: the database keeps the zone it has (UTC on a new one).
   */
  REPORT_TIME_ZONE: optionalString.pipe(timeZoneVar('UTC').refine((zone) => !/^[+-]?\d/.test(zone), 'must be a zone name such as UTC or Asia/Kolkata, not an offset').optional()),
  /** Workspaces synced in parallel by one worker process. Default 4. */
  WORKER_CONCURRENCY: intVar(1, 100, 4),
  /** Attempts per job, with exponential backoff from JOB_BACKOFF_MS. Defaults 3 and 30000. */
  JOB_ATTEMPTS: intVar(1, 100, 3),
  JOB_BACKOFF_MS: intVar(1, 3_600_000, 30_000),
  /** Ceiling of any job delay: retry backoff, and postponing after a long Retry-After. Default 3600000 (1 h). */
  JOB_MAX_DELAY_MS: intVar(1000, 86_400_000, 3_600_000),
  /** Finished jobs kept in the queue for inspection. Defaults 100 completed, 1000 failed. */
  KEEP_COMPLETED_JOBS: intVar(0, 1_000_000, 100),
  KEEP_FAILED_JOBS: intVar(0, 1_000_000, 1000),
  /** A job whose worker stops renewing its lock this long is taken over by another worker. Default 30000. */
  WORKER_LOCK_MS: intVar(1000, 3_600_000, 30_000),
  /** Longest a SIGTERM/SIGINT shutdown may take before the process exits anyway. Default 30000. */
  SHUTDOWN_TIMEOUT_MS: intVar(1000, 3_600_000, 30_000),
  /** Queue name; Redis key prefix; Postgres schema of the queue when REDIS_URL is unset. */
  QUEUE_NAME: optionalString.pipe(workspaceName.optional()).transform((v) => v ?? 'threetone-sync'),
  QUEUE_PREFIX: optionalString.pipe(workspaceName.optional()).transform((v) => v ?? 'threetone'),
  QUEUE_SCHEMA: optionalString.pipe(z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier').optional()).transform((v) => v ?? 'threetone_queue'),
  /** Data folder and port of the embedded Postgres. Defaults .data/postgres and 54329. */
  EMBEDDED_PG_DIR: optionalString.transform((v) => v ?? '.data/postgres'),
  EMBEDDED_PG_PORT: intVar(1024, 65535, 54329),
  /**
   * The worker applies migrations when it starts. Default 1. 0: it only checks that the schema is this release's and
   * stops with one line if not, so it can run as a role that may not change the schema (sql/worker-runtime-role.sql),
   * with `threetone-sync migrate` run by the owner at each upgrade.
   */
  MIGRATE_ON_START: flagVar(true),
  /** The worker's HTTP endpoint (/healthz, /readyz, /metrics, status page, /queues). Port 0 turns it off. Defaults 8080 on 127.0.0.1. */
  HTTP_PORT: intVar(0, 65535, 8080),
  HTTP_HOST: optionalString.transform((v) => v ?? '127.0.0.1'),
  /** Basic-auth credentials of the queue dashboard at /queues; it is not served unless both are set. */
  QUEUE_BOARD_USER: optionalString,
  QUEUE_BOARD_PASSWORD: optionalString,
  /**
   * Receiver of the signed webhooks (README "Webhooks"): the worker POSTs the change feed there in batches of JSON,
   * signed as Standard Webhooks says, at least once and in feed order. Unset: no webhooks. Never logged: logs, metrics
   * and the status page name it by its host and a hash. Use https:// across a network you do not trust.
   */
  WEBHOOK_URL: urlVar(['https:', 'http:'], 'https://hooks.example.com/threetone'),
  /** The signing secret, `whsec_` followed by base64 of 24-64 bytes; required with WEBHOOK_URL. Never logged or stored. */
  WEBHOOK_SECRET: optionalString,
  /** Only these kinds of change, comma-separated: created, updated, amended, deleted, undeleted. Default: all. */
  WEBHOOK_EVENTS: listVar((word) =>
    (FEED_KINDS as readonly string[]).includes(word) ? undefined : `must list kinds of change among ${FEED_KINDS.join(', ')} (got "${word}")`,
  ),
  /** Only changes whose job status (after the change) is one of these, comma-separated (e.g. failed,cancelled). Default: all. */
  WEBHOOK_STATUSES: listVar((word) => (/^[a-z][a-z0-9_]{0,63}$/.test(word) ? undefined : `must list job statuses such as completed,failed (got "${word}")`)),
  /** Per-request timeout in ms (connect, send, the answer's headers). Default 10000. */
  WEBHOOK_TIMEOUT_MS: intVar(100, 600_000, 10_000),
  /** Feed entries read per delivery (a delivery holds those the filters keep, so at most this many). Default 100. */
  WEBHOOK_BATCH_SIZE: intVar(1, 10_000, 100),
  /** A receiver is paused after this many failed attempts in a row, or after failing for WEBHOOK_PAUSE_AFTER. Defaults 10 and 15m. */
  WEBHOOK_PAUSE_AFTER_FAILURES: intVar(1, 1_000_000, 10),
  WEBHOOK_PAUSE_AFTER: durationVar('15m', 1000),
  /** While paused: one attempt this often; delivery resumes from the same batch once one succeeds. Default 5m. */
  WEBHOOK_PROBE_EVERY: durationVar('5m', 1000),
  /** pino level. Default info. */
  LOG_LEVEL: optionalString.pipe(z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).optional()).transform((v) => v ?? 'info'),
});

export interface RequestBudgetLimit {
  points: number;
  windowMs: number;
}

export interface WorkspaceConfig {
  name: string;
  /** Resolved when a job runs; never put in job data. */
  apiKey: string;
  /**
   * The setting the key came from, for messages: `THREETONE_API_KEY` or `THREETONE_WORKSPACES["acme"]`. Set by
   * loadConfig; optional for configs built by hand, whose messages then say "the API key".
   */
  keySource?: string;
}

/** The single-key setting, for one workspace named by THREETONE_WORKSPACE. */
export const SINGLE_KEY_SOURCE = 'THREETONE_API_KEY';

/** The entry of `name` in THREETONE_WORKSPACES, written as the operator would look it up in the JSON. */
export function workspacesEntry(name: string): string {
  return `THREETONE_WORKSPACES[${JSON.stringify(name)}]`;
}

export interface WorkerConfig {
  syncEveryMs: number;
  reconcileCron: string;
  reconcileTz: string;
  concurrency: number;
  attempts: number;
  backoffMs: number;
  /** Ceiling of retry backoff and of postponement. */
  maxDelayMs: number;
  keepCompleted: number;
  keepFailed: number;
  lockMs: number;
  shutdownTimeoutMs: number;
  queueName: string;
  /** Redis key prefix (Redis backend). */
  queuePrefix: string;
  /** Postgres schema (Postgres backend). */
  queueSchema: string;
  /** MIGRATE_ON_START. */
  migrateOnStart: boolean;
}

export interface HttpConfig {
  /** 0: no HTTP endpoint. */
  port: number;
  host: string;
  /** Bull Board credentials; undefined: the dashboard is not served. */
  board: { user: string; password: string } | undefined;
}

export interface WebhookConfig {
  /** Never logged: see receiverFingerprint() in src/webhooks/sign.ts. */
  url: string;
  /** `whsec_<base64>`. Never logged. */
  secret: string;
  /** WEBHOOK_EVENTS and WEBHOOK_STATUSES; undefined: all. */
  filter: { kinds?: FeedKind[]; statuses?: string[] };
  timeoutMs: number;
  batchSize: number;
  /** Backoff: full jitter from 1 s, doubling, up to 5 min; a Retry-After is honoured up to 10 min. */
  timings: RetryTimings;
}

export interface Config {
  apiKey: string | undefined;
  baseUrl: string;
  workspace: string;
  /** Every workspace the worker syncs. */
  workspaces: WorkspaceConfig[];
  worker: WorkerConfig;
  http: HttpConfig;
  pageSize: number;
  timeoutMs: number;
  maxBodyBytes: number;
  maxAttempts: number;
  retryBaseDelayMs: number;
  maxRetryAfterMs: number;
  budget: RequestBudgetLimit[];
  /** Added to every budget window (THREETONE_BUDGET_MARGIN_MS). */
  budgetMarginMs: number;
  /** Share of each window long walks leave to incremental syncs (THREETONE_BUDGET_FRESH_RESERVE). */
  budgetFreshReserve: number;
  incrementalQuietPages: number;
  reconcile: { maxDeleteRatio: number };
  /** Bounds of one walk (WALK_MAX_PAGES, 0: derived; WALK_MAX_RESTARTS). */
  walk: { maxPages: number; maxRestarts: number };
  /** When a workspace counts as stale or a run as stuck (src/health/judge.ts). */
  health: HealthThresholds;
  /** REPORT_TIME_ZONE: the zone of the daily and monthly BI views; undefined leaves the database's setting as it is. */
  reportTimeZone: string | undefined;
  /** Days of sync_runs and of rejected_records kept; 0 keeps everything (src/jobs/retention.ts). */
  retention: { runDays: number; rejectedDays: number };
  /** Signed webhooks (src/webhooks/); undefined when WEBHOOK_URL is unset. */
  webhook: WebhookConfig | undefined;
  /** Session settings of the sync's Postgres connections, and the migration lock's wait. */
  pg: { statementTimeoutMs: number; lockTimeoutMs: number; migrationLockTimeoutMs: number };
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  embeddedPg: { dir: string; port: number };
  logLevel: (typeof LOG_LEVELS)[number];
}

/** Parses the environment once; throws ConfigError listing every problem, one line each. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${settingOf(issue.path)} ${issue.message}`);
  // The API key travels in a header: it must only ever go to a server whose certificate was checked.
  if (env.NODE_TLS_REJECT_UNAUTHORIZED === '0') {
    problems.push('NODE_TLS_REJECT_UNAUTHORIZED=0 turns off TLS certificate checks, which would expose the API key: unset it');
  }
  if (parsed.success) {
    const insecure = insecureBaseUrl(parsed.data.THREETONE_BASE_URL, parsed.data.THREETONE_ALLOW_INSECURE_HTTP);
    if (insecure) problems.push(insecure);
  }
  if (parsed.success) problems.push(...webhookProblems(parsed.data.WEBHOOK_URL, parsed.data.WEBHOOK_SECRET));
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    apiKey: e.THREETONE_API_KEY,
    baseUrl: e.THREETONE_BASE_URL,
    workspace: e.THREETONE_WORKSPACE,
    workspaces:
      e.THREETONE_WORKSPACES?.map((w) => ({ ...w, keySource: workspacesEntry(w.name) })) ??
      (e.THREETONE_API_KEY ? [{ name: e.THREETONE_WORKSPACE, apiKey: e.THREETONE_API_KEY, keySource: SINGLE_KEY_SOURCE }] : []),
    worker: {
      syncEveryMs: e.SYNC_EVERY,
      reconcileCron: e.RECONCILE_CRON,
      reconcileTz: e.RECONCILE_TZ,
      concurrency: e.WORKER_CONCURRENCY,
      attempts: e.JOB_ATTEMPTS,
      backoffMs: e.JOB_BACKOFF_MS,
      maxDelayMs: e.JOB_MAX_DELAY_MS,
      keepCompleted: e.KEEP_COMPLETED_JOBS,
      keepFailed: e.KEEP_FAILED_JOBS,
      lockMs: e.WORKER_LOCK_MS,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
      queueName: e.QUEUE_NAME,
      queuePrefix: e.QUEUE_PREFIX,
      queueSchema: e.QUEUE_SCHEMA,
      migrateOnStart: e.MIGRATE_ON_START,
    },
    http: {
      port: e.HTTP_PORT,
      host: e.HTTP_HOST,
      board: e.QUEUE_BOARD_USER && e.QUEUE_BOARD_PASSWORD ? { user: e.QUEUE_BOARD_USER, password: e.QUEUE_BOARD_PASSWORD } : undefined,
    },
    pageSize: e.THREETONE_PAGE_SIZE,
    timeoutMs: e.THREETONE_TIMEOUT_MS,
    maxBodyBytes: e.THREETONE_MAX_BODY_BYTES,
    maxAttempts: e.THREETONE_MAX_ATTEMPTS,
    retryBaseDelayMs: e.THREETONE_RETRY_BASE_MS,
    maxRetryAfterMs: e.THREETONE_MAX_RETRY_AFTER_MS,
    budget: [
      { points: e.THREETONE_REQUESTS_PER_MINUTE, windowMs: e.THREETONE_MINUTE_WINDOW_MS },
      { points: e.THREETONE_REQUESTS_PER_HOUR, windowMs: e.THREETONE_HOUR_WINDOW_MS },
    ],
    budgetMarginMs: e.THREETONE_BUDGET_MARGIN_MS,
    budgetFreshReserve: e.THREETONE_BUDGET_FRESH_RESERVE,
    incrementalQuietPages: e.INCREMENTAL_QUIET_PAGES,
    reconcile: { maxDeleteRatio: e.RECONCILE_MAX_DELETE_RATIO },
    health: {
      staleAfterMs: e.STALE_AFTER > 0 ? e.STALE_AFTER : defaultStaleAfterMs(e.SYNC_EVERY),
      stuckAfterMs: e.STUCK_AFTER,
      syncEveryMs: e.SYNC_EVERY,
    },
    reportTimeZone: e.REPORT_TIME_ZONE,
    walk: { maxPages: e.WALK_MAX_PAGES, maxRestarts: e.WALK_MAX_RESTARTS },
    retention: { runDays: e.RUN_RETENTION_DAYS, rejectedDays: e.REJECTED_RETENTION_DAYS },
    webhook: e.WEBHOOK_URL
      ? {
          url: e.WEBHOOK_URL,
          secret: e.WEBHOOK_SECRET!,
          filter: { kinds: e.WEBHOOK_EVENTS as FeedKind[] | undefined, statuses: e.WEBHOOK_STATUSES },
          timeoutMs: e.WEBHOOK_TIMEOUT_MS,
          batchSize: e.WEBHOOK_BATCH_SIZE,
          timings: {
            baseDelayMs: 1000,
            maxDelayMs: 300_000,
            maxRetryAfterMs: 600_000,
            pauseAfterFailures: e.WEBHOOK_PAUSE_AFTER_FAILURES,
            pauseAfterMs: e.WEBHOOK_PAUSE_AFTER,
            probeEveryMs: e.WEBHOOK_PROBE_EVERY,
          },
        }
      : undefined,
    pg: { statementTimeoutMs: e.PG_STATEMENT_TIMEOUT_MS, lockTimeoutMs: e.PG_LOCK_TIMEOUT_MS, migrationLockTimeoutMs: e.MIGRATION_LOCK_TIMEOUT_MS },
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    embeddedPg: { dir: e.EMBEDDED_PG_DIR, port: e.EMBEDDED_PG_PORT },
    logLevel: e.LOG_LEVEL,
  };
}

/** `THREETONE_PAGE_SIZE`, or an entry of a JSON setting as written in it: `THREETONE_WORKSPACES["acme"]`. */
function settingOf(path: readonly PropertyKey[]): string {
  const [variable, ...inside] = path;
  return `${String(variable ?? 'environment')}${inside.map((p) => `[${JSON.stringify(String(p))}]`).join('')}`;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** Why `baseUrl` would send the API key in clear text, or undefined when it does not. */
function insecureBaseUrl(baseUrl: string, allowed: boolean): string | undefined {
  const url = new URL(baseUrl);
  // fetch() refuses credentials in a URL anyway; saying so here keeps them out of every error and log line.
  if (url.username || url.password) return 'THREETONE_BASE_URL must not contain a user name or password (the API key is the only credential)';
  if (url.protocol !== 'http:' || allowed || LOOPBACK.test(url.hostname)) return undefined;
  return `THREETONE_BASE_URL must use https:// for a host that is not loopback (${url.hostname}): plain http would send the API key unencrypted; set THREETONE_ALLOW_INSECURE_HTTP=1 to allow it anyway`;
}

/** WEBHOOK_SECRET goes with WEBHOOK_URL and must be a Standard Webhooks secret; no message repeats either value. */
function webhookProblems(url: string | undefined, secret: string | undefined): string[] {
  if (url === undefined) return [];
  const problems: string[] = [];
  const parsed = new URL(url);
  if (parsed.username || parsed.password) problems.push('WEBHOOK_URL must not contain a user name or password (deliveries are authenticated by their signature)');
  if (secret === undefined) {
    problems.push('WEBHOOK_SECRET is required with WEBHOOK_URL: set it to whsec_ followed by base64, e.g. whsec_$(openssl rand -base64 32)');
  } else {
    try {
      secretKey(secret);
    } catch (error) {
      problems.push(`WEBHOOK_SECRET ${(error as Error).message}`);
    }
  }
  return problems;
}

/**
 * The configured workspace `name`, or a ConfigError naming the setting to change: the one the workspaces came from.
 * With THREETONE_WORKSPACES set, THREETONE_API_KEY and THREETONE_WORKSPACE are ignored, so pointing there would send
 * the operator to a setting that cannot help.
 */
export function findWorkspace(config: Config, name: string): WorkspaceConfig {
  const found = config.workspaces.find((w) => w.name === name);
  if (found) return found;
  const known = config.workspaces.map((w) => `"${w.name}"`).join(', ');
  const sources = new Set(config.workspaces.map((w) => w.keySource));
  let problem: string;
  if (config.workspaces.length === 0) {
    problem = `workspace "${name}" is not configured, nor is any other: set THREETONE_WORKSPACES='{"${name}":"<key>"}', or THREETONE_API_KEY with THREETONE_WORKSPACE=${name}`;
  } else if ([...sources].every((source) => source?.startsWith('THREETONE_WORKSPACES['))) {
    problem = `workspace "${name}" is not in THREETONE_WORKSPACES (it has ${known})${config.apiKey ? '; THREETONE_API_KEY is ignored while THREETONE_WORKSPACES is set' : ''}`;
  } else if (sources.size === 1 && sources.has(SINGLE_KEY_SOURCE)) {
    problem = `workspace "${name}" is not configured: THREETONE_API_KEY is the key of ${known} (THREETONE_WORKSPACE); set THREETONE_WORKSPACE=${name}, or THREETONE_WORKSPACES for several`;
  } else {
    problem = `workspace "${name}" is not configured (configured: ${known})`;
  }
  throw new ConfigError([problem]);
}

/** At least one workspace, for the worker. */
export function requireWorkspaces(config: Config): WorkspaceConfig[] {
  if (config.workspaces.length === 0) {
    throw new ConfigError(['no workspace to sync: set THREETONE_API_KEY (one workspace) or THREETONE_WORKSPACES=\'{"name":"<key>"}\'']);
  }
  return config.workspaces;
}
