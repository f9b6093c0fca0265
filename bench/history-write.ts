import { readFileSync } from 'node:fs';
import type postgres from 'postgres';
import { writePage } from '../src/db/write-page.ts';
import { finishRun } from '../src/db/runs/finish-run.ts';
import { MIGRATIONS_FOLDER } from '../src/db/migrate.ts';
import type { PageRow } from '../src/pages/page-rows.ts';
import { batchCalls } from '../src/resources/batch-calls.ts';
import { benchClient, createBenchDatabase, ownRun } from './support.ts';
import { buildWorkload } from './write-path.ts';

/**
 * What migration 0013's triggers and index cost the page write: the same pages written through writePage into a
 * database at 0013 and into one at 0013 with its write-side parts taken out again (its triggers and
 * batch_call_history_changed_idx dropped, batch_call_history_restamp back to 0006's), alternating, `rounds` times.
 * Phases as bench/write-path.ts: first load, unchanged resync (after VACUUM ANALYZE), 10%-changed resync.
 */

export interface WriteCost {
  phase: 'first' | 'unchanged' | 'changed';
  /** rows/s of each round. */
  before: number[];
  after: number[];
}

const WORKSPACE = 'bench';

/** 0013's write side taken out: the schema writes behave as at 0012 (the new tables stay, unwritten). */
function withoutHistorySnapshot(): string[] {
  const restamp = readFileSync(`${MIGRATIONS_FOLDER}/0006_concurrent_history.sql`, 'utf8')
    .split('--> statement-breakpoint')
    .find((statement) => statement.includes('CREATE OR REPLACE FUNCTION batch_call_history_restamp'));
  if (!restamp) throw new Error('0006 restamp not found');
  return [
    ...['snapshot_inserted', 'snapshot_deleted', 'snapshot_changed', 'snapshot_truncated'].map((t) => `DROP TRIGGER batch_call_history_${t} ON batch_call_history`),
    ...['inserted', 'deleted', 'marked', 'truncated'].map((t) => `DROP TRIGGER batch_calls_live_${t} ON batch_calls`),
    'DROP INDEX batch_call_history_changed_idx',
    restamp,
  ];
}

async function walk(sql: postgres.Sql, url: string, pages: PageRow[][]): Promise<number> {
  const run = await ownRun(sql, url, WORKSPACE);
  try {
    let rows = 0;
    const started = performance.now();
    for (const [i, page] of pages.entries()) {
      await writePage(sql, {
        resource: batchCalls, owner: run.owner, page: i + 1, rows: page, rejected: [], itemsSeen: page.length,
        nextCursor: i + 1 < pages.length ? `cursor-${i + 1}` : null, listedIds: page.map((row) => String(row.id)), recordSeen: false, requests: 1, retries: 0,
      });
      rows += page.length;
    }
    const rate = rows / ((performance.now() - started) / 1000);
    await finishRun(sql, run.owner, { status: 'succeeded', error: null, requests: 0, retries: 0, stopReason: 'end', resumable: true });
    return rate;
  } finally {
    await run.release();
  }
}

export async function measureHistoryWriteCost(adminUrl: string, options: { items?: number; rounds?: number; progress?: (line: string) => void } = {}): Promise<WriteCost[]> {
  const workload = buildWorkload('history-write', options.items ?? 20_000, 7);
  const costs: WriteCost[] = (['first', 'unchanged', 'changed'] as const).map((phase) => ({ phase, before: [], after: [] }));
  for (let round = 0; round < (options.rounds ?? 3); round++) {
    // Alternating which goes first, so neither always meets a warmer machine.
    const order = round % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
    for (const side of order) {
      const bench = await createBenchDatabase(adminUrl, 'histwrite');
      const sql = benchClient(bench.url, { noDelay: true });
      try {
        if (side === 'before') for (const statement of withoutHistorySnapshot()) await sql.unsafe(statement);
        await sql`checkpoint`.catch(() => undefined);
        costs[0]![side].push(await walk(sql, bench.url, workload.first));
        await sql`vacuum analyze batch_calls, batch_call_history`;
        await sql`checkpoint`.catch(() => undefined);
        costs[1]![side].push(await walk(sql, bench.url, workload.first));
        await sql`checkpoint`.catch(() => undefined);
        costs[2]![side].push(await walk(sql, bench.url, workload.changed));
        options.progress?.(`write cost round ${round + 1} ${side}: ${costs.map((c) => `${c.phase} ${Math.round(c[side][c[side].length - 1]!)} rows/s`).join(', ')}`);
      } finally {
        await sql.end({ timeout: 5 });
        await bench.drop();
      }
    }
  }
  return costs;
}
