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
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    clearInterval(orphanCheck);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
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
  const onRejection = onFatal('unhandled rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
