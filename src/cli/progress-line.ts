import type { BudgetWait } from '../budget/budget.ts';
import type { SyncProgress } from '../jobs/sync-run.ts';

export interface ProgressExtras {
  /** The budget wait in progress, if any, and the time now (same clock as `wait.until`). */
  wait?: Pick<BudgetWait, 'limit' | 'until'> | null;
  now?: number;
  /** Fastest finish the budget allows for the pages still expected (walkEta), in ms from now. */
  etaMs?: number | null;
}

/**
 * One status line: pages and items first, then a budget wait's countdown, the walk's ETA, and the rest (rate, new
 * versions, retries, elapsed). A narrow terminal cuts the line's end, so what matters most comes first.
 */
export function formatProgress(p: SyncProgress, elapsedMs: number, extras: ProgressExtras = {}): string {
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const rate = Math.round(p.itemsSeen / seconds);
  const parts = [`${p.workspace}: page ${p.pages}`, `${p.itemsSeen} items`];
  if (extras.wait && extras.now !== undefined && extras.wait.until > extras.now) {
    parts.push(`waiting ${Math.ceil((extras.wait.until - extras.now) / 1000)} s for the request budget (${extras.wait.limit})`);
  }
  if (extras.etaMs !== undefined && extras.etaMs !== null) parts.push(`ETA ${formatEta(extras.etaMs)}`);
  parts.push(`${rate} items/s`, `${p.versionsAdded} new versions`, `${p.retries} retries`, `${seconds.toFixed(1)}s`);
  return parts.join(' · ');
}

/** `45 s`, `3 min 05 s`, `1 h 02 min`. */
export function formatEta(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export interface ProgressLineOptions {
  /** The walk's ETA after each page (e.g. budget.eta(expectedPages - pages)); undefined: none shown. */
  eta?: (p: SyncProgress) => Promise<number | null | undefined> | number | null | undefined;
}

/**
 * Live progress on a terminal: the line is redrawn in place after every committed page, and every second while the
 * budget makes the walk wait (a countdown, so a long wait never looks like a hang). Off a terminal it prints nothing
 * (the log lines say it all, the wait included).
 */
export function progressLine(
  stream: NodeJS.WriteStream,
  options: ProgressLineOptions = {},
): { onPage(p: SyncProgress): void; onWait(wait: BudgetWait): void; done(): void } {
  const started = Date.now();
  let drawn = false;
  let last: SyncProgress | undefined;
  let wait: BudgetWait | null = null;
  let etaMs: number | null = null;
  let etaAt = 0;
  let ticker: NodeJS.Timeout | undefined;
  if (!stream.isTTY) return { onPage: () => undefined, onWait: () => undefined, done: () => undefined };
  const draw = () => {
    if (!last) return;
    const now = Date.now();
    const eta = etaMs === null ? null : Math.max(0, etaMs - (now - etaAt));
    const line = formatProgress(last, now - started, { wait, now, etaMs: eta });
    stream.write(`\r${line.slice(0, (stream.columns ?? 120) - 1)}\u001b[K`);
    drawn = true;
  };
  const stopTicker = () => {
    if (ticker) clearInterval(ticker);
    ticker = undefined;
  };
  return {
    onPage(p) {
      last = p;
      // The next page is fetched while this one is written, so its wait may have begun already: keep counting it down.
      if (wait && wait.until <= Date.now()) {
        wait = null;
        stopTicker();
      }
      draw();
      if (options.eta) {
        void Promise.resolve(options.eta(p))
          .then((ms) => {
            etaMs = ms ?? null;
            etaAt = Date.now();
          })
          .catch(() => undefined);
      }
    },
    onWait(w) {
      wait = w;
      stopTicker();
      draw();
      ticker = setInterval(() => {
        if (!wait || wait.until <= Date.now()) stopTicker();
        draw();
      }, 1000);
      ticker.unref();
    },
    done() {
      stopTicker();
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
