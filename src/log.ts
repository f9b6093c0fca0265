import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * Paths that could ever hold the API key. The key is only put in request
 * headers, but redaction is the safety net if someone logs a config or a
 * request object.
 */
export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'config.apiKey',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'headers.authorization',
  '*.headers.authorization',
  'workspaces[*].apiKey',
  '*.workspaces[*].apiKey',
  'password',
  '*.password',
  '*.*.password',
];

export interface LoggerOptions {
  level: string;
  /** Where JSON lines go; default stderr (stdout is kept for command output). */
  destination?: DestinationStream;
  /** Human-readable lines; default: when stderr is a terminal. */
  pretty?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const usePretty = options.pretty ?? (options.destination === undefined && process.stderr.isTTY === true);
  const destination =
    options.destination ??
    (usePretty ? pretty({ destination: 2, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss', singleLine: true }) : pino.destination(2));
  return pino(
    {
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    destination,
  );
}

/** A logger that drops everything: for library use without output. */
export const silentLogger: Logger = pino({ level: 'silent' });
