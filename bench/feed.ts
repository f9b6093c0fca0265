/**
 * `npm run bench:feed`: the change feed (migration 0011, `threetone-sync changes`), each figure beside a baseline
 * measured in the same run.
 *
 * 1. Write cost: a first load of FEED_ITEMS items (default 20,000; pages of 500 through writePage) and an
 *    unchanged resync, with the feed's triggers enabled and disabled, alternating, in fresh databases; median
 *    rows/s, WAL bytes and feed entries of the resync.
 * 2. Follower latency: `changes --follow` as a child; single-version commits one at a time; from the moment the
 *    bench sends COMMIT to the line reaching the bench through the pipe. Baseline: a bare LISTEN in the bench
 *    on the same commits (what NOTIFY alone takes).
 * 3. Reading FEED_READ entries (default 1,000,000) through `changes` to a pipe, process start included and not.
 *    Baseline: one SELECT of the same rows as JSON text by the bench's own client.
 * 4. Plans at FEED_LARGE entries (default 20,000,000; 0 skips): the read from the middle, a consumer's lag.
 *
 * Postgres: DATABASE_URL, else the embedded one. A long transaction anywhere on the server holds back every
 * follower (the feed waits for the snapshot's xmin): on a shared server, latency figures include that.
 */
import { spawn } from 'node:child_process';
import postgres from 'postgres';
import { Dataset } from '../src/simulator/dataset.ts';
import { validateItems } from '../src/pages/validate.ts';
import { toPageRows, type PageRow } from '../src/pages/page-rows.ts';
import { batchCalls } from '../src/resources/batch-calls.ts';
import { writePage } from '../src/db/write-page.ts';
import { BIN, createBenchDatabase, ownRun, openBenchServer, type BenchDatabase } from './support.ts';

const ITEMS = Number(process.env.FEED_ITEMS ?? 20_000);
const READ = Number(process.env.FEED_READ ?? 1_000_000);
const LARGE = Number(process.env.FEED_LARGE ?? 20_000_000);
const LATENCY_COMMITS = Number(process.env.FEED_COMMITS ?? 200);
const ROUNDS = Number(process.env.FEED_ROUNDS ?? 3);
const PAGE = 500;

const progress = (line: string) => process.stderr.write(`bench:feed: ${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const n = (x: number) => Math.round(x).toLocaleString('en-US');

const FEED_TRIGGERS = [
  ['batch_call_history', 'change_feed_versions_inserted'],
  ['batch_call_history', 'change_feed_version_amended'],
  ['batch_calls', 'change_feed_job_marked'],
] as const;

function pages(items: number): PageRow[][] {
  const now = 1_750_000_000;
  const dataset = new Dataset({ items, seed: 21, drift: {}, now: () => now });
  const out: PageRow[][] = [];
  let after: { t: number; id: string } | null = null;
  for (;;) {
    const page = dataset.page(PAGE, after, true);
    const { valid } = validateItems(batchCalls, page.items as unknown[]);
    out.push(toPageRows(batchCalls, valid));
    if (!page.hasMore || !page.nextKey) break;
    after = page.nextKey;
  }
  return out;
}

async function walk(bench: BenchDatabase, all: PageRow[][], sql = bench.database.sql): Promise<{ ms: number; rows: number }> {
  const { owner, release } = await ownRun(sql, bench.url, 'bench');
  try {
    const started = performance.now();
    let rows = 0;
    for (const [i, rowsOfPage] of all.entries()) {
      await writePage(sql, {
        resource: batchCalls, owner, page: i + 1, rows: rowsOfPage, rejected: [], itemsSeen: rowsOfPage.length, nextCursor: null,
        listedIds: rowsOfPage.map((r) => String(r.id)), recordSeen: false, requests: 1, retries: 0,
      });
      rows += rowsOfPage.length;
    }
    return { ms: performance.now() - started, rows };
  } finally {
    await release();
  }
}

async function writeCost(adminUrl: string) {
  const all = pages(ITEMS);
  const results: Record<'on' | 'off', { firstRate: number[]; resyncMs: number[]; resyncWal: number[]; resyncEntries: number[]; entries: number[]; triggerShare: number[] }> = {
    on: { firstRate: [], resyncMs: [], resyncWal: [], resyncEntries: [], entries: [], triggerShare: [] },
    off: { firstRate: [], resyncMs: [], resyncWal: [], resyncEntries: [], entries: [], triggerShare: [] },
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      const bench = await createBenchDatabase(adminUrl, 'feed_write');
      try {
        const sql = bench.database.sql;
        if (mode === 'off') for (const [table, trigger] of FEED_TRIGGERS) await sql.unsafe(`ALTER TABLE ${table} DISABLE TRIGGER ${trigger}`);
        // The feed's trigger functions' own time (pg_stat_user_functions), measured in the writing sessions: what
        // the wall-clock rates, on a shared server, cannot resolve.
        await sql.unsafe(`ALTER DATABASE "${bench.name}" SET track_functions = 'pl'`);
        const writer = postgres(bench.url, { max: 1, onnotice: () => undefined });
        await sql`checkpoint`;
        const first = await walk(bench, all, writer).finally(() => writer.end({ timeout: 5 }));
        await sql`select pg_stat_force_next_flush()`.catch(() => undefined);
        const [{ triggerMs }] = (await sql`
          select coalesce(sum(self_time), 0)::float8 as "triggerMs" from pg_stat_user_functions where funcname like 'change_feed%'`) as unknown as [{ triggerMs: number }];
        const [{ entries }] = (await sql`select count(*)::int as entries from change_feed`) as unknown as [{ entries: number }];
        await sql`vacuum analyze`;
        await sql`checkpoint`;
        const [{ lsn }] = (await sql`select pg_current_wal_insert_lsn()::text as lsn`) as unknown as [{ lsn: string }];
        const resync = await walk(bench, all);
        const [{ wal, after }] = (await sql`
          select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), ${lsn}::pg_lsn)::float8 as wal, (select count(*)::int from change_feed) as after`) as unknown as [
          { wal: number; after: number },
        ];
        const r = results[mode];
        r.firstRate.push((first.rows / first.ms) * 1000);
        r.triggerShare.push((triggerMs / first.ms) * 100);
        r.entries.push(entries);
        r.resyncMs.push(resync.ms);
        r.resyncWal.push(wal);
        r.resyncEntries.push(after - entries);
        progress(`write ${mode} round ${round + 1}: first load ${n((first.rows / first.ms) * 1000)} rows/s (${entries} entries, feed triggers ${triggerMs.toFixed(0)} ms of ${first.ms.toFixed(0)}), unchanged resync ${resync.ms.toFixed(0)} ms, ${n(wal)} B WAL`);
      } finally {
        await bench.drop();
      }
    }
  }
  return { items: ITEMS, results };
}

/** The child's stdout, line by line, with the time each line arrived. */
function lineTimes(child: ReturnType<typeof spawn>, onLine: (line: string, at: number) => void) {
  let rest = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const at = performance.now();
    const text = rest + chunk.toString();
    const lines = text.split('\n');
    rest = lines.pop()!;
    for (const line of lines) onLine(line, at);
  });
}

async function latency(adminUrl: string) {
  const bench = await createBenchDatabase(adminUrl, 'feed_latency');
  const sql = bench.database.sql;
  const child = spawn(process.execPath, [BIN, 'changes', '--consumer', 'bench', '--follow'], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: bench.url, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const listener = postgres(bench.url, { max: 1, onnotice: () => undefined });
  try {
    const sentAt = new Map<string, number>();
    const printed = new Map<string, number>();
    const notified: number[] = [];
    let waiting: (() => void) | undefined;
    lineTimes(child, (line, at) => {
      const job = (JSON.parse(line) as { job_id: string }).job_id;
      printed.set(job, at);
      waiting?.();
    });
    let currentJob = '';
    await listener.listen('threetone_changes', () => {
      const sent = sentAt.get(currentJob);
      if (sent !== undefined) notified.push(performance.now() - sent);
    });
    const insert = (tx: postgres.TransactionSql, job: string) => tx`
      insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
      values ('bench', ${job}, 'n', 'ag', 'A', 1, 1, 1, 'pending', '{}'::jsonb)`;
    const until = (job: string) => new Promise<void>((resolve) => {
      const check = () => printed.has(job) && (resolve(), (waiting = undefined));
      waiting = check;
      check();
    });
    // Up: its first line printed.
    await sql.begin((tx) => insert(tx, 'warmup'));
    await until('warmup');
    const follower: number[] = [];
    for (let i = 0; i < LATENCY_COMMITS; i++) {
      const job = `j${i}`;
      currentJob = job;
      await sql.begin(async (tx) => {
        await insert(tx, job);
        sentAt.set(job, performance.now());
      });
      await until(job);
      follower.push(printed.get(job)! - sentAt.get(job)!);
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
    }
    return { follower, notified };
  } finally {
    child.kill('SIGTERM');
    await listener.end({ timeout: 1 });
    await bench.drop();
  }
}

async function fill(sql: postgres.Sql, entries: number) {
  const chunk = 1_000_000;
  for (let done = 0; done < entries; done += chunk) {
    const m = Math.min(chunk, entries - done);
    // One transaction per chunk, as many pages would be: xids change between chunks.
    await sql.unsafe(`
      insert into change_feed (kind, workspace, job_id, version, status, previous_status, observed_at, run_id)
      select (array['created','updated','updated','amended','deleted'])[1 + g % 5], 'ws-' || (g % 7), 'bc_' || md5(g::text),
             1750000000 + g, (array['pending','in_progress','completed','failed'])[1 + g % 4], 'pending', now() - ((${entries} - g - ${done}) || ' ms')::interval, g / 500
      from generate_series(1, ${m}) g`);
  }
  await sql`vacuum analyze change_feed`;
}

async function readThroughput(adminUrl: string) {
  const bench = await createBenchDatabase(adminUrl, 'feed_read');
  try {
    const sql = bench.database.sql;
    await fill(sql, READ);
    // Baseline: the same rows as JSON text in one SELECT, by a client in this process.
    const base = postgres(bench.url, { max: 1, onnotice: () => undefined });
    const baseStarted = performance.now();
    let baseRows = 0;
    await base.unsafe(`select row_to_json(f)::text as line from change_feed f order by xid, id`).cursor(10_000, (rows) => {
      baseRows += rows.length;
    });
    const baseMs = performance.now() - baseStarted;
    await base.end();
    const started = performance.now();
    let firstByte = 0;
    let lines = 0;
    const child = spawn(process.execPath, [BIN, 'changes', '--consumer', 'reader', '--batch-size', '5000'], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: bench.url, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (firstByte === 0) firstByte = performance.now();
      for (const byte of chunk) if (byte === 10) lines++;
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const ms = performance.now() - started;
    if (code !== 0 || lines !== READ) throw new Error(`changes exited ${code} after ${lines} of ${READ} lines`);
    return { entries: READ, ms, fromFirstByteMs: performance.now() - firstByte, baseRows, baseMs };
  } finally {
    await bench.drop();
  }
}

async function plans(adminUrl: string) {
  if (LARGE <= 0) return undefined;
  const bench = await createBenchDatabase(adminUrl, 'feed_large');
  try {
    const sql = bench.database.sql;
    const started = performance.now();
    await fill(sql, LARGE);
    const fillMs = performance.now() - started;
    const [{ size }] = (await sql`select pg_size_pretty(pg_total_relation_size('change_feed')) as size`) as unknown as [{ size: string }];
    const [{ xid, id }] = (await sql`select xid::text, id::text from change_feed order by xid, id offset ${Math.floor(LARGE / 2)} limit 1`) as unknown as [{ xid: string; id: string }];
    await sql`select threetone_consumer_create('half', ${`${xid}:${id}`})`;
    const explain = async (text: string) =>
      (await sql.unsafe<{ 'QUERY PLAN': string }[]>(`explain (analyze, buffers, costs off) ${text}`)).map((r) => r['QUERY PLAN']).join('\n');
    const read = await explain(`
      select * from change_feed f where (f.xid, f.id) > ('${xid}'::xid8, ${id}) and f.xid < pg_snapshot_xmin(pg_current_snapshot())
      order by f.xid, f.id limit 5000`);
    const viaFunction = await explain(`select * from threetone_changes('half', 5000)`);
    const lagStarted = performance.now();
    await sql`select count(*) from (select 1 from change_feed f where (f.xid, f.id) > (${xid}::xid8, ${id}::bigint) limit 1000000) n`;
    const lagMs = performance.now() - lagStarted;
    return { entries: LARGE, fillMs, size, read, viaFunction, lagMs };
  } finally {
    await bench.drop();
  }
}

async function main() {
  const server = await openBenchServer();
  try {
    progress(`Postgres ${server.version} at ${server.description}`);
    const write = await writeCost(server.adminUrl);
    progress('write cost done');
    const lat = await latency(server.adminUrl);
    progress('latency done');
    const read = await readThroughput(server.adminUrl);
    progress('read done');
    const plan = await plans(server.adminUrl);
    const on = write.results.on;
    const off = write.results.off;
    const onRate = median(on.firstRate);
    const offRate = median(off.firstRate);
    const cost = (1 - onRate / offRate) * 100;
    const rows: string[][] = [
      [`first load, rows/s (median of ${ROUNDS})`, n(onRate), n(offRate), `cost ${cost.toFixed(1)} % (target ≤ 10 %) ${cost <= 10 ? 'ok' : 'MISS'}`],
      ['first load, the feed triggers\' own time (pg_stat_user_functions) / wall time', `${median(on.triggerShare).toFixed(1)} %`, '-', 'the feed\'s share of a page write, free of the server\'s noise'],
      ['first load, feed entries', n(median(on.entries)), n(median(off.entries)), `one per version (${n(write.items)} items)`],
      ['unchanged resync, ms', median(on.resyncMs).toFixed(0), median(off.resyncMs).toFixed(0), '-'],
      ['unchanged resync, WAL bytes', n(median(on.resyncWal)), n(median(off.resyncWal)), `entries written: ${Math.max(...on.resyncEntries)} (target 0) ${Math.max(...on.resyncEntries) === 0 ? 'ok' : 'MISS'}`],
      [
        `follower latency, commit to line, p50 / p99 / max (${lat.follower.length} commits)`,
        `${median(lat.follower).toFixed(1)} / ${pct(lat.follower, 99).toFixed(1)} / ${Math.max(...lat.follower).toFixed(1)} ms`,
        `${median(lat.notified).toFixed(1)} / ${pct(lat.notified, 99).toFixed(1)} / ${Math.max(...lat.notified).toFixed(1)} ms (bare LISTEN)`,
        `p99 target ≤ 100 ms ${pct(lat.follower, 99) <= 100 ? 'ok' : 'MISS'}`,
      ],
      [
        `reading ${n(read.entries)} entries through changes, entries/s`,
        `${n((read.entries / read.ms) * 1000)} (${n((read.entries / read.fromFirstByteMs) * 1000)} from the first line)`,
        `${n((read.baseRows / read.baseMs) * 1000)} (one SELECT row_to_json)`,
        `target ≥ 50,000 ${(read.entries / read.ms) * 1000 >= 50_000 ? 'ok' : 'MISS'}`,
      ],
    ];
    const lines = ['| figure | with the feed | baseline | verdict |', '| --- | --- | --- | --- |', ...rows.map((r) => `| ${r.join(' | ')} |`)];
    process.stdout.write(`Postgres ${server.version}\n\n${lines.join('\n')}\n`);
    if (plan) {
      process.stdout.write(
        `\n${n(plan.entries)} entries (${plan.size}, filled in ${(plan.fillMs / 1000).toFixed(0)} s); read of 5000 from the middle:\n${plan.read}\n\nthrough threetone_changes():\n${plan.viaFunction}\n\nlag count (capped at 1,000,000) from the middle: ${plan.lagMs.toFixed(0)} ms\n`,
      );
    }
  } finally {
    await server.close();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(`bench:feed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
