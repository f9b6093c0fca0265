import { isConnectionLoss } from '../db/connection.ts';
import { describeError } from '../errors/describe-error.ts';
import type { Logger } from '../log.ts';

/**
 * SIGTERM/SIGINT run `close` once and exit 0. If closing takes longer than
 * `timeoutMs` the process exits 1 anyway; that timer is unref'd so it never
 * keeps an otherwise finished process alive. A second signal exits at once.
 *
 * The parent going away counts as SIGTERM: `npx threetone-sync worker` runs
 * under a shell that a supervisor's SIGTERM stops without passing it on,
 * which would leave the worker running on, orphaned, holding its jobs.
 */
export function exitOnSignals(close: () => Promise<void>, log: Logger, timeoutMs: number): () => void {
  let stopping = false;
  const parent = process.ppid;
  const orphanCheck = setInterval(() => {
    if (process.ppid !== parent) onSignal('SIGTERM', 'the parent process exited');
  }, ORPHAN_CHECK_MS);
  orphanCheck.unref();
  const onSignal = (signal: NodeJS.Signals, reason?: string) => {
    clearInterval(orphanCheck);
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, timeoutMs, ...(reason ? { reason } : {}) }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown took too long: exiting anyway');
      process.exit(1);
    }, timeoutMs);
    deadline.unref();
    close().then(
      () => {
        clearTimeout(deadline);
        log.info('shut down cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ error: String(error) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // Node passes the signal's number as a second argument: only the name goes on.
  const onTerm = () => onSignal('SIGTERM');
  const onInt = () => onSignal('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  return () => {
    clearInterval(orphanCheck);
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  };
}

/** How often the worker checks that its parent is still there (see exitOnSignals). */
const ORPHAN_CHECK_MS = 1000;

/** Exit code of a worker stopped by an error nothing handled. */
export const EXIT_FATAL = 1;

/**
 * The last resort of a long-running command: an exception or rejection that
 * nothing handled leaves the process in a state nobody reasoned about, so it
 * is logged as one line and the process exits non-zero at once, for its
 * supervisor to start a fresh one. Without this, Node prints a stack trace
 * (for a `pg` 'error' event, the whole client object) and exits 1 or 7.
 */
export function exitOnUncaught(log: Logger): () => void {
  const onFatal = (origin: string) => (error: unknown) => {
    const message = describeError(error);
    log.fatal({ error: message, origin }, `fatal: ${message} (${origin}); exiting for the supervisor to restart the worker`);
    process.exit(EXIT_FATAL);
  };
  const onException = onFatal('uncaught exception');
  const fatalRejection = onFatal('unhandled rejection');
  const onRejection = (reason: unknown) => {
    if (!isLostPostgresConnection(reason)) return fatalRejection(reason);
    // postgres.js fetches array types on every new connection without awaiting it (porsager/postgres#1192): when
    // Postgres goes away under that fetch, the rejection reaches nobody. Nothing of ours waited on it, the next
    // connection fetches the types again, and every query of ours on the lost connection failed on its own.
    log.warn({ error: describeError(reason) }, 'a Postgres connection was lost under a query nothing awaited (postgres.js type fetch); going on');
  };
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}

/** A lost session, or a refused reconnect while Postgres is down. */
function isLostPostgresConnection(reason: unknown): boolean {
  return isConnectionLoss(reason) || (reason instanceof Error && (reason as { code?: unknown }).code === 'ECONNREFUSED');
}
