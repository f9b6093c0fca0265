import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { countOldRuns } from '../db/retention/count-old-runs.ts';
import { deleteOldRejected } from '../db/retention/delete-old-rejected.ts';
import { deleteOldRuns } from '../db/retention/delete-old-runs.ts';
import { detachOldVersions } from '../db/retention/detach-old-versions.ts';
import { describeError, findPostgresError } from '../errors/describe-error.ts';
import { silentLogger, type Logger } from '../log.ts';
import { humanDuration } from '../util/time-format.ts';

/** How often a pass runs. Hourly keeps each pass small once the backlog of a first pass is gone. */
export const RETENTION_EVERY_MS = 3_600_000;
/** How often a pass under way says how far it is: a first pass over a large backlog takes minutes. */
export const RETENTION_PROGRESS_EVERY_MS = 10_000;

/**
 * Batches are sized by time, not rows: a row's cost differs by orders of magnitude between a run with no versions,
 * a version to detach and a database under load, so a fixed row count is either slow to drain or one day meets the
 * statement timeout. Each batch aims at `targetMs` (far below PG_STATEMENT_TIMEOUT_MS, and short enough that a page
 * write never waits long behind one), from the rows per millisecond the previous batch of its kind achieved.
 */
export interface BatchSizing {
  targetMs: number;
  /** Rows of each kind's first batch in a pass: small, as nothing is known yet of this database's speed. */
  first: number;
  min: number;
  max: number;
}

export const RETENTION_BATCH_SIZING: BatchSizing = { targetMs: 1_000, first: 100, min: 10, max: 100_000 };

/**
 * The next batch's rows, from the last one's: as many as fit `targetMs` at its pace, at most twice as many (the
 * pace of a larger batch is a guess), and never more after a short batch, which says nothing about a longer one.
 * A batch that did nothing teaches nothing.
 *
 * `overheadMs` is what a statement costs whatever its rows (the keep set, the scan to the first candidate): the
 * shortest batch of the kind so far, an upper bound of it. Only the rest is paid per row. Without it, an overhead
 * near the target made every batch look slow per row, each next one smaller, until batches of `min` rows each
 * paid the whole overhead. Rows are never taken as free (at least a tenth of the time is theirs), and a batch
 * gets at least half the target beyond the overhead.
 */
export function nextBatchSize(size: number, done: number, elapsedMs: number, sizing: BatchSizing, overheadMs = 0): number {
  if (done <= 0) return size;
  const overhead = Math.min(Math.max(overheadMs, 0), elapsedMs);
  const perRowMs = Math.max(elapsedMs - overhead, elapsedMs / 10, 0.001) / done;
  const budgetMs = Math.max(sizing.targetMs - overhead, sizing.targetMs / 2);
  const ceiling = done < size ? size : size * 2;
  return Math.round(Math.max(sizing.min, Math.min(sizing.max, ceiling, budgetMs / perRowMs)));
}

export interface RetentionOptions {
  config: Pick<Config, 'retention'>;
  database: Pick<Database, 'sql'>;
  log: Logger;
  /** Tests: how often a pass runs. */
  everyMs?: number;
  /** Tests and the bench: batch sizing and how often progress is logged. */
  sizing?: Partial<BatchSizing>;
  progressEveryMs?: number;
}

export type RetentionStep = 'count old runs' | 'delete rejected items' | 'detach versions' | 'delete runs';

export interface RetentionPass {
  runs: number;
  /** Versions whose run_id this pass set to NULL (their runs were deleted, or will be by the next pass). */
  versionsDetached: number;
  rejected: number;
  batches: number;
  elapsedMs: number;
  largestBatchMs: number;
  /** Old runs at the pass's start (null when run retention is off or the count failed). */
  runsAtStart: number | null;
  /** Set when a batch failed: the pass stopped there. */
  failure?: { step: RetentionStep; batchSize: number; code: string | undefined };
}

interface PassOptions extends Pick<RetentionOptions, 'config' | 'database' | 'sizing' | 'progressEveryMs'> {
  log?: Logger;
  /** For the failure line: when the next pass comes (startRetention's interval). */
  nextPassInMs?: number;
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * One pass of both retentions (0 days: that one is off): rejected items, then runs. A run's versions are detached
 * in batches first (detach-old-versions.ts), then runs no version links to are deleted; both steps take turns until
 * neither finds anything. `stopped` ends it between batches. A failed batch ends the pass with one line saying so;
 * what earlier batches deleted stays deleted, and the next pass starts again from the oldest run left.
 */
export async function runRetention(options: PassOptions, stopped: () => boolean = () => false): Promise<RetentionPass> {
  const { runDays, rejectedDays } = options.config.retention;
  const { sql } = options.database;
  const log = options.log ?? silentLogger;
  const sizing = { ...RETENTION_BATCH_SIZING, ...options.sizing };
  const progressEveryMs = options.progressEveryMs ?? RETENTION_PROGRESS_EVERY_MS;
  const started = performance.now();
  const pass: RetentionPass = { runs: 0, versionsDetached: 0, rejected: 0, batches: 0, elapsedMs: 0, largestBatchMs: 0, runsAtStart: null };
  if (runDays <= 0 && rejectedDays <= 0) return pass;
  let lastProgress = started;
  let step: RetentionStep = 'count old runs';
  const sizes: Record<Exclude<RetentionStep, 'count old runs'>, number> = {
    'delete rejected items': sizing.first,
    'detach versions': sizing.first,
    'delete runs': sizing.first,
  };
  let batchSize = 0;
  /** Per kind, the shortest batch so far: an upper bound of what a statement costs before its rows (nextBatchSize). */
  const overheads: Record<keyof typeof sizes, number> = { 'delete rejected items': Infinity, 'detach versions': Infinity, 'delete runs': Infinity };

  const progress = () => {
    const elapsedMs = performance.now() - started;
    const left = pass.runsAtStart === null ? '' : ` of ~${count(pass.runsAtStart)}`;
    log.info(
      {
        deletedRuns: pass.runs,
        runsLeft: pass.runsAtStart === null ? undefined : Math.max(0, pass.runsAtStart - pass.runs),
        detachedVersions: pass.versionsDetached,
        deletedRejected: pass.rejected,
        batches: pass.batches,
        elapsedMs: Math.round(elapsedMs),
        largestBatchMs: Math.round(pass.largestBatchMs),
        batchSizes: { ...sizes },
      },
      `retention under way: ${count(pass.runs)}${left} old runs deleted (${count(pass.versionsDetached)} versions detached), ${count(pass.rejected)} rejected items, in ${count(pass.batches)} batches, ${humanDuration(elapsedMs)}`,
    );
  };

  const counts = { 'delete rejected items': 'rejected', 'detach versions': 'versionsDetached', 'delete runs': 'runs' } as const;

  /** One statement of `kind`, sized from the last one's pace, counted in the pass; returns its rows and whether it was full. */
  const batch = async (kind: keyof typeof sizes, run: (size: number) => Promise<number>): Promise<{ done: number; full: boolean }> => {
    step = kind;
    batchSize = sizes[kind];
    const batchStarted = performance.now();
    const done = await run(batchSize);
    const ms = performance.now() - batchStarted;
    pass[counts[kind]] += done;
    pass.batches++;
    pass.largestBatchMs = Math.max(pass.largestBatchMs, ms);
    overheads[kind] = Math.min(overheads[kind], ms);
    sizes[kind] = nextBatchSize(batchSize, done, ms, sizing, overheads[kind]);
    if (performance.now() - lastProgress >= progressEveryMs) {
      lastProgress = performance.now();
      progress();
    }
    return { done, full: done >= batchSize };
  };

  try {
    if (rejectedDays > 0) {
      while (!stopped()) {
        const { full } = await batch('delete rejected items', (size) => deleteOldRejected(sql, rejectedDays, size));
        if (!full) break;
      }
    }
    if (runDays > 0 && !stopped()) {
      step = 'count old runs';
      pass.runsAtStart = await countOldRuns(sql, runDays);
      while (pass.runsAtStart > 0 && !stopped()) {
        const detached = await batch('detach versions', (size) => detachOldVersions(sql, runDays, size));
        if (stopped()) break;
        const deleted = await batch('delete runs', (size) => deleteOldRuns(sql, runDays, size));
        // Until a round finds nothing: a short round may leave runs whose versions the next one detaches.
        if (detached.done === 0 && deleted.done === 0) break;
      }
    }
  } catch (error) {
    const code = findPostgresError(error)?.code ?? (error as { code?: string })?.code;
    pass.failure = { step, batchSize: step === 'count old runs' ? 0 : batchSize, code };
    pass.elapsedMs = performance.now() - started;
    const next = options.nextPassInMs === undefined ? 'the next pass' : `the next pass, in ${humanDuration(options.nextPassInMs)},`;
    const what = step === 'count old runs' ? step : `${step}, ${count(batchSize)} rows`;
    // describeError keeps only the server's message and SQLSTATE of a database error: never query text or parameters.
    log.warn(
      { code, step, batchSize: pass.failure.batchSize, deletedRuns: pass.runs, detachedVersions: pass.versionsDetached, deletedRejected: pass.rejected, batches: pass.batches, elapsedMs: Math.round(pass.elapsedMs) },
      `retention batch failed (${what}): ${describeError(error)}; the pass stops here, after ${count(pass.runs)} runs and ${count(pass.rejected)} rejected items deleted (they stay deleted); ${next} starts again from the oldest run left with small batches`,
    );
    return pass;
  }
  pass.elapsedMs = performance.now() - started;
  const ended = stopped() ? 'retention pass stopped (shutting down)' : 'retention pass done';
  log.info(
    {
      deletedRuns: pass.runs,
      detachedVersions: pass.versionsDetached,
      deletedRejected: pass.rejected,
      batches: pass.batches,
      elapsedMs: Math.round(pass.elapsedMs),
      largestBatchMs: Math.round(pass.largestBatchMs),
    },
    `${ended}: ${count(pass.runs)} old runs deleted (${count(pass.versionsDetached)} versions detached), ${count(pass.rejected)} rejected items, in ${count(pass.batches)} batches, ${humanDuration(pass.elapsedMs)}; largest batch ${humanDuration(pass.largestBatchMs)}`,
  );
  return pass;
}

/**
 * Runs retention now and then every hour, on an unref'd timer (it never keeps the process alive).
 * stop() cancels the timer and waits for a pass under way, which ends after its current batch.
 */
export function startRetention({ config, database, log, everyMs = RETENTION_EVERY_MS, sizing, progressEveryMs }: RetentionOptions): {
  stop(): Promise<void>;
  /** Resolves once no pass is under way (tests). */
  idle(): Promise<void>;
} {
  let stopped = false;
  let current: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const pass = async () => {
    // runRetention logs its own failure; anything thrown past it is a bug in this module, kept from the timer chain.
    await runRetention({ config, database, log, sizing, progressEveryMs, nextPassInMs: everyMs }, () => stopped).catch((error: unknown) =>
      log.warn({ error: (error as Error)?.name }, 'retention pass failed; the next one retries'),
    );
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      current = pass().finally(schedule);
    }, everyMs);
    timer.unref();
  };
  if (config.retention.runDays > 0 || config.retention.rejectedDays > 0) {
    current = pass().finally(schedule);
  }
  return {
    async idle() {
      await current;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
