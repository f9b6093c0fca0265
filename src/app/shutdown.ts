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
