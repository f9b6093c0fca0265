import { z } from 'zod';
import { ConfigError } from './errors/ConfigError.ts';

/**
 * The one place that reads the environment. Everything else receives a
 * `Config`. Each variable: name, default, meaning.
 */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const intVar = (min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max} (got "${v}")` });
        return z.NEVER;
      }
      return n;
    });

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

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

const workspaceName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, "_", "." or "-"');

const envSchema = z.object({
  /** API key for the workspace (header `x-api-key`). Required by `sync`. Never logged or stored. */
  THREETONE_API_KEY: optionalString,
  /** API base URL. Default https://api.threetone.in */
  THREETONE_BASE_URL: urlVar(['https:', 'http:'], 'https://api.threetone.in').transform(
    (v) => (v ?? 'https://api.threetone.in').replace(/\/+$/, ''),
  ),
  /** Label stored in every row's `workspace` column. Default `default`. */
  THREETONE_WORKSPACE: optionalString.pipe(workspaceName.optional()).transform((v) => v ?? 'default'),
  /** Items per request, 1..500. Default 500 (fewest requests). */
  THREETONE_PAGE_SIZE: intVar(1, 500, 500),
  /** Per-request timeout in ms (headers and body). Default 30000. */
  THREETONE_TIMEOUT_MS: intVar(100, 600_000, 30_000),
  /** Attempts per request before the run fails. Default 6. */
  THREETONE_MAX_ATTEMPTS: intVar(1, 100, 6),
  /** First retry backoff step in ms (doubles per attempt, full jitter, capped at 30 s). Default 500. */
  THREETONE_RETRY_BASE_MS: intVar(1, 60_000, 500),
  /** Longest `Retry-After` we wait for in-process, in ms; longer fails the run so the next tick retries. Default 120000. */
  THREETONE_MAX_RETRY_AFTER_MS: intVar(0, 3_600_000, 120_000),
  /** Request budget per API key. Defaults 100 a minute and 1000 an hour, Threetone's documented limits. */
  THREETONE_REQUESTS_PER_MINUTE: intVar(1, 1_000_000, 100),
  THREETONE_REQUESTS_PER_HOUR: intVar(1, 100_000_000, 1000),
  /** Postgres URL. Unset: an embedded Postgres under EMBEDDED_PG_DIR. */
  DATABASE_URL: urlVar(['postgres:', 'postgresql:'], 'postgres://user:pass@host:5432/db'),
  /** Redis URL, used by the worker. */
  REDIS_URL: urlVar(['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
  /** Data folder and port of the embedded Postgres. Defaults .data/postgres and 54329. */
  EMBEDDED_PG_DIR: optionalString.transform((v) => v ?? '.data/postgres'),
  EMBEDDED_PG_PORT: intVar(1024, 65535, 54329),
  /** pino level. Default info. */
  LOG_LEVEL: optionalString.pipe(z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).optional()).transform((v) => v ?? 'info'),
});

export interface RequestBudgetLimit {
  points: number;
  windowMs: number;
}

export interface Config {
  apiKey: string | undefined;
  baseUrl: string;
  workspace: string;
  pageSize: number;
  timeoutMs: number;
  maxAttempts: number;
  retryBaseDelayMs: number;
  maxRetryAfterMs: number;
  budget: RequestBudgetLimit[];
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  embeddedPg: { dir: string; port: number };
  logLevel: (typeof LOG_LEVELS)[number];
}

/** Parses the environment once; throws ConfigError listing every problem, one line each. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      return `${name} ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  return {
    apiKey: e.THREETONE_API_KEY,
    baseUrl: e.THREETONE_BASE_URL,
    workspace: e.THREETONE_WORKSPACE,
    pageSize: e.THREETONE_PAGE_SIZE,
    timeoutMs: e.THREETONE_TIMEOUT_MS,
    maxAttempts: e.THREETONE_MAX_ATTEMPTS,
    retryBaseDelayMs: e.THREETONE_RETRY_BASE_MS,
    maxRetryAfterMs: e.THREETONE_MAX_RETRY_AFTER_MS,
    budget: [
      { points: e.THREETONE_REQUESTS_PER_MINUTE, windowMs: 60_000 },
      { points: e.THREETONE_REQUESTS_PER_HOUR, windowMs: 3_600_000 },
    ],
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    embeddedPg: { dir: e.EMBEDDED_PG_DIR, port: e.EMBEDDED_PG_PORT },
    logLevel: e.LOG_LEVEL,
  };
}

/** The API key, or a ConfigError naming the variable when a command needs it. */
export function requireApiKey(config: Config): string {
  if (!config.apiKey) {
    throw new ConfigError(['THREETONE_API_KEY is not set: export THREETONE_API_KEY=<your workspace API key>']);
  }
  return config.apiKey;
}
