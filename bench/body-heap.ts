/**
 * Heap per response body: what one page of a given size costs the worker's
 * heap, and whether 8 such pages at once fit in the image's 128 MB heap.
 *
 *   npx tsx bench/body-heap.ts    # the full table, about a minute on 2 cores
 *
 * BODY_HEAP_SIZES=1,2 (MiB) and BODY_HEAP_VARIANTS=items,strings narrow it
 * down; BODY_HEAP_DEBUG=1 prints every report. `npm run bench` runs the short
 * version, at the configured THREETONE_MAX_BODY_BYTES (measureBodyHeap).
 *
 * The measuring processes run bench/body-heap-child.ts compiled with
 * tsconfig.build.json (as `npm run build` compiles the image's dist/), with
 * the Dockerfile's NODE_OPTIONS (--max-old-space-size=128) plus --expose-gc.
 * They fetch the bodies from a loopback HTTP server in this process through
 * the real ThreetoneClient, then run validateItems and the write's in-memory
 * stage (toPageRows + columnArrays). Per page kind:
 *
 * - live: one process, every size in turn (smallest first), one page at a
 *   time, a full GC before every probe: the live heap (garbage excluded) at
 *   each stage minus the live heap before the fetch; the highest stage is the
 *   page's peak, the figure an OOM depends on;
 * - natural: another process alongside, the same pages without forced GCs, as
 *   the worker runs: sampled heapUsed over the baseline, V8's committed heap,
 *   arrayBuffers and RSS (later sizes inherit the heap the earlier ones grew);
 * - 8 pages: a fresh process per size, 4 workspaces × (a page being written +
 *   the next one prefetched) all held at once, on top of a ballast that makes
 *   the live heap BASE_LIVE_MB (the rest of the worker); ok or OOM. Larger
 *   sizes are not tried after the first OOM.
 *
 * Bodies look like real pages: {"batch_calls":[…],"has_more":true,"next_doc":"x"}.
 * - items: the simulator's jobs (src/simulator/dataset.ts), as many as
 *   the size takes (~450 bytes each; the agent names hold an em dash, so the
 *   body, like the simulator's, is not Latin-1 and V8 keeps its text as
 *   UTF-16, 2 bytes a character);
 * - strings: 4 jobs whose name and agent_name are huge and mostly ASCII with
 *   one emoji: UTF-16 everywhere, the worst case per body byte;
 * - ascii: the items with the em dash replaced by '-' (one byte a character),
 *   one page only, to show what UTF-16 costs.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Dataset } from '../src/simulator/dataset.ts';
import { loadConfig } from '../src/config.ts';
import { formatTable } from '../src/util/table.ts';
import { info, type BenchResult, type Figure } from './report.ts';
import { spawnNode } from './support.ts';

export type Variant = 'items' | 'ascii' | 'strings';

export interface ChildReport {
  body: string;
  pages: number;
  writing: number;
  probeGc: boolean;
  ballastMb: number;
  baselineHeapUsed: number;
  baselineExternal: number;
  baselineArrayBuffers: number;
  baselineRss: number;
  heapSizeLimit: number;
  /**
   * Highest heapUsed at each probe: text (the body as readBody returned it, before JSON.parse), flatten (right after
   * the text is flattened as JSON.parse does first, no GC: text + the flat copy when the text was a rope), parsed,
   * page (after pageSchema), validated, written (after toPageRows + columnArrays).
   */
  stages: Record<string, number>;
  peak: { heapUsed: number; heapTotal: number; external: number; arrayBuffers: number; rss: number; committed: number };
  heldAfterGc: number;
  /** The largest body text: its length in UTF-16 units, and whether V8 needs two bytes a character for it. */
  text: { chars: number; twoByte: boolean };
  maxRss: number;
  items: number;
  elapsedMs: number;
}

/** `ms`: the child process's whole run (0 when not run). */
export type Outcome = { ok: true; report: ChildReport; ms: number } | { ok: false; why: string; ms: number };

const MiB = 1024 * 1024;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHILD = fileURLToPath(new URL('./body-heap-child.ts', import.meta.url));
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'threetone-bench-body-heap');
/** The rest of the worker's live heap while pages are in flight (BENCHMARKS.md: 17 MB after a sync, more with 4 runs, Redis and the status page). */
export const BASE_LIVE_MB = 40;
/** 4 workspaces (WORKER_CONCURRENCY) × (the page being written + the one prefetched). */
export const CONCURRENT_PAGES = 8;
export const WRITING_PAGES = 4;
const CHILD_TIMEOUT_MS = 60_000;

// ------------------------------------------------------------------ bodies

let jobs: Record<string, unknown>[] | undefined;

/** Simulator jobs (fixed seed and clock), generated once. */
function simulatorJobs(): Record<string, unknown>[] {
  if (!jobs) {
    const dataset = new Dataset({ items: 2_000, seed: 7, drift: {}, now: () => 1_790_000_000 });
    jobs = dataset.page(2_000, null, false).items as Record<string, unknown>[];
  }
  return jobs;
}

export interface Body {
  variant: Variant;
  bytes: Buffer;
  items: number;
}

function envelope(items: string[]): string {
  return `{"batch_calls":[${items.join(',')}],"has_more":true,"next_doc":"x"}`;
}

/** A page of about `target` bytes (UTF-8). */
export function makeBody(variant: Variant, target: number): Body {
  const base = simulatorJobs();
  if (variant === 'strings') {
    const count = 4;
    const fieldChars = Math.max(16, Math.floor((target - 2_000) / (count * 2)));
    const items = base.slice(0, count).map((job, i) => {
      const text = (prefix: string) => {
        const head = `${prefix} ${i} \u{1F642} `;
        return head + 'Renewal reminders for the EMI due list, '.repeat(Math.ceil(fieldChars / 40)).slice(0, fieldChars - head.length - 1);
      };
      return JSON.stringify({ ...job, name: text('campaign'), agent_name: text('agent') });
    });
    const bytes = Buffer.from(envelope(items));
    return { variant, bytes, items: count };
  }
  const items: string[] = [];
  let size = 60;
  for (let k = 0; size < target; k++) {
    const job = base[k % base.length] as Record<string, unknown>;
    const copy: Record<string, unknown> = { ...job, id: k < base.length ? job.id : `${String(job.id)}_${Math.floor(k / base.length)}` };
    if (variant === 'ascii') copy.agent_name = String(copy.agent_name).replace('\u2014', '-');
    const text = JSON.stringify(copy);
    items.push(text);
    size += Buffer.byteLength(text) + 1;
  }
  return { variant, bytes: Buffer.from(envelope(items)), items: items.length };
}

// ------------------------------------------------------------------ server

/** Serves `warm` (a 50-job page, for the child's warm-up) and the registered bodies by cursor, on loopback. */
async function startServer(): Promise<{ url: string; bodies: Map<string, Buffer>; close(): Promise<void> }> {
  const warm = Buffer.from(envelope(simulatorJobs().slice(0, 50).map((job) => JSON.stringify(job))));
  const bodies = new Map<string, Buffer>();
  const server = http.createServer((req, res) => {
    const cursor = new URL(req.url ?? '/', 'http://localhost').searchParams.get('last_doc');
    const body = (cursor !== null ? bodies.get(cursor) : undefined) ?? warm;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ------------------------------------------------------------------ child

interface ChildCommand {
  args: string[];
  nodeOptions: string | undefined;
  description: string;
}

function dockerfileNodeOptions(): string | undefined {
  try {
    const match = /NODE_OPTIONS=("([^"]*)"|(\S+))/.exec(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
    return match?.[2] ?? match?.[3];
  } catch {
    return undefined;
  }
}

/**
 * Compiles the child and the src modules it imports with tsconfig.build.json
 * (as `npm run build` compiles the image's dist/) into node_modules/.cache.
 * Type errors elsewhere in the tree (files being edited) do not stop the
 * emit; tsx is the fallback when nothing was emitted.
 */
async function childCommand(): Promise<ChildCommand> {
  const nodeOptions = dockerfileNodeOptions() ?? '--max-old-space-size=128';
  const out = path.join(CACHE, 'out');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'package.json'), '{ "type": "module" }\n');
  const config = path.join(CACHE, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: path.join(ROOT, 'tsconfig.build.json'),
      compilerOptions: { rootDir: ROOT, outDir: out, sourceMap: false, noEmitOnError: false, incremental: false },
      include: [CHILD],
    }),
  );
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const script = path.join(out, 'bench', 'body-heap-child.js');
  if (existsSync(tsc)) {
    const build = spawnNode([tsc, '-p', config], {});
    const code = await build.exited;
    if (existsSync(script)) {
      const note = code === 0 ? '' : ' (tsc reported type errors; emitted anyway)';
      return { args: ['--expose-gc', script], nodeOptions, description: `compiled JS (tsconfig.build.json)${note}, NODE_OPTIONS=${nodeOptions}` };
    }
  }
  return { args: ['--expose-gc', '--import', 'tsx', CHILD], nodeOptions, description: `tsx (the build failed), NODE_OPTIONS=${nodeOptions}` };
}

interface ChildRun {
  pages: number;
  writing: number;
  probeGc: boolean;
  liveMb: number;
}

/** One process measuring `bodies` in turn; one outcome per body (after an OOM: the body it died on, then "not run"). */
async function runChild(command: ChildCommand, url: string, bodies: { id: string; body: Body }[], run: ChildRun): Promise<Outcome[]> {
  const started = performance.now();
  const child = spawnNode(command.args, {
    NODE_OPTIONS: command.nodeOptions,
    BODY_HEAP_URL: url,
    BODY_HEAP_BODIES: bodies.map((b) => `${b.id}:${b.body.items}`).join(','),
    BODY_HEAP_PAGES: String(run.pages),
    BODY_HEAP_WRITING: String(run.writing),
    BODY_HEAP_PROBE_GC: run.probeGc ? '1' : '0',
    BODY_HEAP_LIVE_MB: String(run.liveMb),
  });
  const timer = setTimeout(() => void child.stop(1_000), CHILD_TIMEOUT_MS);
  const code = await child.exited;
  clearTimeout(timer);
  const ms = performance.now() - started;
  const output = child.output();
  const reports = new Map<string, ChildReport>();
  for (const line of output.match(/^\{"body".*\}$/gm) ?? []) {
    const report = JSON.parse(line) as ChildReport;
    reports.set(report.body, report);
  }
  let why: string | undefined;
  if (code !== 0) {
    if (/heap out of memory|Reached heap limit|allocation failed/i.test(output)) why = 'OOM';
    else if (ms >= CHILD_TIMEOUT_MS) why = `killed after ${CHILD_TIMEOUT_MS / 1000} s`;
    else why = `exit ${code ?? child.process.signalCode}: ${output.trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`;
  }
  let failedAt: Body | undefined;
  return bodies.map(({ id, body }): Outcome => {
    const report = reports.get(id);
    if (report) return { ok: true, report, ms };
    if (failedAt) return { ok: false, why: `not run (${why} at ${fmt(failedAt.bytes.length)} MiB)`, ms };
    failedAt = body;
    return { ok: false, why: why ?? 'no report', ms };
  });
}

// ------------------------------------------------------------------ measurement

export interface BodyMeasurement {
  variant: Variant;
  targetBytes: number;
  bodyBytes: number;
  items: number;
  live: Outcome;
  natural: Outcome | null;
  concurrent: Outcome | null;
}

const mb = (bytes: number) => bytes / 1024 / 1024;
const fmt = (bytes: number) => mb(bytes).toFixed(1);

/** Live heap over the baseline at the highest of the given stages. */
function stagePeak(report: ChildReport, stages: string[]): number {
  return Math.max(0, ...stages.map((s) => (report.stages[s] ?? 0) - report.baselineHeapUsed));
}
const READ_STAGES = ['text', 'flatten', 'parsed', 'page', 'validated'];
const ALL_STAGES = [...READ_STAGES, 'written'];

export async function measureBodies(
  cases: { variant: Variant; bytes: number; natural: boolean; concurrent: boolean }[],
  progress: (line: string) => void = () => undefined,
): Promise<{ command: string; measurements: BodyMeasurement[] }> {
  const command = await childCommand();
  progress(`child: ${command.description}`);
  const server = await startServer();
  const measurements: BodyMeasurement[] = [];
  try {
    for (const variant of [...new Set(cases.map((c) => c.variant))]) {
      const mine = cases.filter((c) => c.variant === variant).sort((a, b) => a.bytes - b.bytes);
      const bodies = mine.map((c, i) => ({ id: `${variant}-${i}`, body: makeBody(variant, c.bytes) }));
      for (const { id, body } of bodies) server.bodies.set(id, body.bytes);
      const started = performance.now();
      // One page at a time, every size in one process (smallest first): live and natural side by side,
      // as the figures are bytes, not times.
      const naturalBodies = bodies.filter((_, i) => mine[i]?.natural);
      const [live, natural] = await Promise.all([
        runChild(command, server.url, bodies, { pages: 1, writing: 1, probeGc: true, liveMb: 0 }),
        naturalBodies.length > 0 ? runChild(command, server.url, naturalBodies, { pages: 1, writing: 1, probeGc: false, liveMb: 0 }) : [],
      ]);
      // 8 pages at once: a fresh process per size, smallest first, none after the first OOM.
      const concurrent = new Map<string, Outcome>();
      let oomAt: Body | undefined;
      for (const [i, { id, body }] of bodies.entries()) {
        if (!mine[i]?.concurrent) continue;
        const one = live[i];
        if (one && !one.ok) {
          concurrent.set(id, { ok: false, why: `not run (one page: ${one.why})`, ms: 0 });
          continue;
        }
        if (oomAt) {
          concurrent.set(id, { ok: false, why: `OOM (at ${fmt(oomAt.bytes.length)} MiB already; not run)`, ms: 0 });
          continue;
        }
        const [outcome] = await runChild(command, server.url, [{ id, body }], {
          pages: CONCURRENT_PAGES,
          writing: WRITING_PAGES,
          probeGc: false,
          liveMb: BASE_LIVE_MB,
        });
        concurrent.set(id, outcome as Outcome);
        if (!outcome?.ok && outcome?.why === 'OOM') oomAt = body;
      }
      for (const [i, { id, body }] of bodies.entries()) {
        const naturalIndex = naturalBodies.findIndex((b) => b.id === id);
        const m: BodyMeasurement = {
          variant,
          targetBytes: mine[i]?.bytes ?? 0,
          bodyBytes: body.bytes.length,
          items: body.items,
          live: live[i] as Outcome,
          natural: naturalIndex >= 0 ? (natural[naturalIndex] ?? null) : null,
          concurrent: concurrent.get(id) ?? null,
        };
        measurements.push(m);
        if (process.env.BODY_HEAP_DEBUG) progress(JSON.stringify(m));
        server.bodies.delete(id);
      }
      progress(`${variant}: ${bodies.length} sizes in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await server.close();
  }
  return { command: command.description, measurements };
}

export function renderMeasurements(measurements: BodyMeasurement[]): string {
  const rows = measurements.map((m) => {
    const body = m.bodyBytes;
    const live = m.live.ok ? m.live.report : null;
    const natural = m.natural?.ok ? m.natural.report : null;
    const read = live ? stagePeak(live, READ_STAGES) : 0;
    const written = live ? stagePeak(live, ALL_STAGES) : 0;
    let eight = '-';
    if (m.concurrent) {
      eight = m.concurrent.ok
        ? `ok: heapUsed peak ${fmt(m.concurrent.report.peak.heapUsed)}, held ${fmt(m.concurrent.report.heldAfterGc)}, RSS ${fmt(m.concurrent.report.maxRss)}`
        : m.concurrent.ms > 0
          ? `${m.concurrent.why} (${(m.concurrent.ms / 1000).toFixed(1)} s)`
          : m.concurrent.why;
    }
    return {
      body: `${mb(body) < 1 ? mb(body).toFixed(2) : mb(body).toFixed(1)} MiB`,
      page: `${m.variant} (${m.items.toLocaleString('en-US')})`,
      'text MB': live ? fmt((live.stages.text ?? 0) - live.baselineHeapUsed) : m.live.ok ? '' : m.live.why,
      'read+validate MB': live ? `${fmt(read)} (${(read / body).toFixed(1)}x)` : '',
      '+write stage MB': live ? `${fmt(written)} (${(written / body).toFixed(1)}x)` : '',
      'natural: +heapUsed / committed / arrayBuffers / RSS MB': natural
        ? `${fmt(natural.peak.heapUsed - natural.baselineHeapUsed)} / ${fmt(natural.peak.committed)} / ${fmt(natural.peak.arrayBuffers)} / ${fmt(natural.peak.rss)}`
        : m.natural && !m.natural.ok
          ? m.natural.why
          : '-',
      [`rule: 8 x page + ${BASE_LIVE_MB} MB`]: live ? `${ruleMb(written).toFixed(0)} MB` : '',
      [`${CONCURRENT_PAGES} pages + ${BASE_LIVE_MB} MB live (MB)`]: eight,
    };
  });
  return formatTable(rows, Object.keys(rows[0] ?? {}));
}

/** The sizing rule: every one of the 8 pages at its peak at once, plus the rest of the worker. */
export function ruleMb(onePagePeakBytes: number): number {
  return CONCURRENT_PAGES * mb(onePagePeakBytes) + BASE_LIVE_MB;
}
export const HEAP_MB = 128;

/** For `npm run bench`: both page kinds at the configured THREETONE_MAX_BODY_BYTES, one page (live) and 8 at once. */
export async function measureBodyHeap(limit = loadConfig({}).maxBodyBytes): Promise<BenchResult> {
  const { command, measurements } = await measureBodies(
    (['items', 'strings'] as const).map((variant) => ({ variant, bytes: limit, natural: false, concurrent: true })),
  );
  const figures: Figure[] = [info('body heap: child process', command)];
  for (const m of measurements) {
    const figure = `body heap: ${m.variant} pages at THREETONE_MAX_BODY_BYTES (${fmt(limit)} MiB)`;
    const target = `8 x page + ${BASE_LIVE_MB} MB <= ${HEAP_MB} MB, no OOM`;
    if (!m.live.ok) {
      figures.push({ figure, value: `one page: ${m.live.why}`, target, verdict: 'MISS' });
      continue;
    }
    const peak = stagePeak(m.live.report, ALL_STAGES);
    const rule = ruleMb(peak);
    const c = m.concurrent as Outcome;
    const eight = c.ok ? `8 pages: ok, heapUsed peak ${fmt(c.report.peak.heapUsed)} MB, held ${fmt(c.report.heldAfterGc)} MB` : `8 pages: ${c.why}`;
    figures.push({
      figure,
      value: `page ${fmt(peak)} MB live (${(peak / m.bodyBytes).toFixed(1)}x); 8 x ${fmt(peak)} + ${BASE_LIVE_MB} = ${rule.toFixed(0)} MB; ${eight}`,
      target,
      verdict: rule <= HEAP_MB && c.ok ? 'ok' : 'MISS',
    });
  }
  return { figures, failures: [] };
}

// ------------------------------------------------------------------ main

const SIZES_MIB = [0.1, 0.5, 1, 2, 4, 8, 16];
const ASCII_SIZES_MIB = [1, 4, 16];

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = os.loadavg()[0] ?? 0;
  const progress = (line: string) => process.stderr.write(`body-heap: ${line}\n`);
  const variants = (process.env.BODY_HEAP_VARIANTS?.split(',') as Variant[] | undefined) ?? ['items', 'strings', 'ascii'];
  const sizes = process.env.BODY_HEAP_SIZES?.split(',').map(Number);
  // ascii only shows what UTF-16 costs: one page, fewer sizes.
  const cases = variants.flatMap((variant) =>
    (sizes ?? (variant === 'ascii' ? ASCII_SIZES_MIB : SIZES_MIB)).map((s) => ({
      variant,
      bytes: Math.round(s * MiB),
      natural: variant !== 'ascii',
      concurrent: variant !== 'ascii',
    })),
  );
  const { command, measurements } = await measureBodies(cases, progress);
  const first = measurements.find((m) => m.live.ok);
  const baseline = first?.live.ok ? first.live.report : undefined;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(
    [
      `${os.cpus().length} cores (${cpu.trim()}), Node ${process.version}; child: ${command}`,
      `load average ${loadAtStart.toFixed(2)} at start, ${(os.loadavg()[0] ?? 0).toFixed(2)} at end; whole run ${((performance.now() - started) / 1000).toFixed(0)} s`,
      baseline
        ? `baseline (child after warm-up, idle client, after GC): heapUsed ${fmt(baseline.baselineHeapUsed)} MB, RSS ${fmt(baseline.baselineRss)} MB, V8 heap limit ${fmt(baseline.heapSizeLimit)} MB`
        : '',
      '',
      renderMeasurements(measurements),
      '',
    ].join('\n'),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`body-heap: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
