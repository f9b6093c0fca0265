import type { SyncProgress } from '../jobs/run-progress.ts';

/** One status line: pages, items, rate, retries, elapsed. */
export function formatProgress(p: SyncProgress, elapsedMs: number): string {
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const rate = Math.round(p.itemsSeen / seconds);
  return `${p.workspace}: page ${p.pages} · ${p.itemsSeen} items · ${rate} items/s · ${p.versionsAdded} new versions · ${p.retries} retries · ${seconds.toFixed(1)}s`;
}

/**
 * Live progress on a terminal: the line is redrawn in place after every
 * committed page. Off a terminal it prints nothing (the log lines say it all).
 */
export function progressLine(stream: NodeJS.WriteStream): { onPage(p: SyncProgress): void; done(): void } {
  const started = Date.now();
  let drawn = false;
  if (!stream.isTTY) return { onPage: () => undefined, done: () => undefined };
  return {
    onPage(p) {
      const line = formatProgress(p, Date.now() - started);
      stream.write(`\r${line.slice(0, (stream.columns ?? 120) - 1)}\u001b[K`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
