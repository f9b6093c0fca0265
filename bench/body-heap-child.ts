/**
 * The measuring process for body-heap.ts, started with the Dockerfile's
 * NODE_OPTIONS (--max-old-space-size=128) plus --expose-gc.
 *
 * For each body in BODY_HEAP_BODIES (`<id>:<items>`, served by the parent as
 * the cursor <id>), in turn: fetches BODY_HEAP_PAGES copies at once through
 * the real ThreetoneClient (readBody, JSON.parse, pageSchema), then
 * validateItems; the first BODY_HEAP_WRITING of them also go through the
 * write's in-memory stage (toPageRows + columnArrays, the parameters
 * writePage hands to postgres.js). All the pages are held until every one is
 * done, as 4 workspaces × (page being written + page prefetched) can be at
 * worst. Then they are dropped before the next body.
 *
 * Probes: JSON.parse is wrapped so the heap is read while the body text is
 * still referenced (before the parse, and right after the text is flattened),
 * then again after the parse, pageSchema, validateItems and the write stage.
 * With BODY_HEAP_PROBE_GC=1 every probe but the flatten one runs a full GC
 * first, so it reads the live heap (what an OOM is about) rather than live +
 * garbage; without it the process runs as the worker does and the probes only
 * sample. A 2 ms timer samples too.
 *
 * BODY_HEAP_LIVE_MB: ballast allocated (and kept) before the first body so
 * that the live heap is about that much, standing in for the rest of the
 * worker's live heap.
 *
 * Prints one JSON line per body (ChildReport in body-heap.ts) as soon as it
 * is measured, so the bodies before an OOM are reported.
 */
import v8 from 'node:v8';
import { ThreetoneClient } from '../src/api/client.ts';
import { DEFAULT_RETRY } from '../src/api/retry-policy.ts';
import { validateItems, type ValidatedPage } from '../src/pages/validate.ts';
import { toPageRows } from '../src/pages/page-rows.ts';
import { batchCalls } from '../src/resources/batch-calls.ts';
import { columnArrays } from '../src/db/write-page.ts';
import { silentLogger } from '../src/log.ts';

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const baseUrl = env('BODY_HEAP_URL');
/** `<id>:<items>,…`: each id is a cursor the parent serves a body for; measured in turn, one report line each. */
const bodies = env('BODY_HEAP_BODIES').split(',').map((b) => ({ id: b.split(':')[0] as string, items: Number(b.split(':')[1]) }));
const pages = Number(env('BODY_HEAP_PAGES', '1'));
const writing = Number(env('BODY_HEAP_WRITING', '0'));
const probeGc = env('BODY_HEAP_PROBE_GC', '0') === '1';
const liveMb = Number(env('BODY_HEAP_LIVE_MB', '0'));

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const MB = 1024 * 1024;

let peak = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, rss: 0, committed: 0 };
let stages: Record<string, number> = {};
let textInfo = { chars: 0, twoByte: false };
let measuring = false;

function sample(): number {
  const m = process.memoryUsage();
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
  peak.external = Math.max(peak.external, m.external);
  peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
  peak.rss = Math.max(peak.rss, m.rss);
  peak.committed = Math.max(peak.committed, v8.getHeapStatistics().total_heap_size);
  return m.heapUsed;
}

/** The heap at a named point; the stage keeps its highest reading over the pages. */
function probe(stage: string): void {
  if (!measuring) return;
  if (probeGc) gc!();
  const used = sample();
  stages[stage] = Math.max(stages[stage] ?? 0, used);
}

const realParse = JSON.parse;
JSON.parse = function parse(text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown): unknown {
  // Only the page bodies: the text is still referenced here, so these two readings include it.
  const big = measuring && typeof text === 'string' && text.length >= 16 * 1024;
  if (big) {
    probe('text');
    // JSON.parse first flattens its input. If the text is a rope (concatenated chunks), the flat copy is allocated
    // while the pieces are still live, and only then do the pieces become garbage, so a GC afterwards cannot see that
    // moment. The regex flattens the string exactly as JSON.parse would; heapUsed read right after it, without a GC,
    // is that moment (the same as 'text' when the text is flat already). It also tells one byte a char from two.
    const twoByte = /[^\u0000-\u00ff]/.test(text);
    if (measuring) stages.flatten = Math.max(stages.flatten ?? 0, sample());
    // A successful match keeps its subject (RegExp.input) alive: point that at a tiny string instead.
    /^/.test('');
    textInfo.chars = Math.max(textInfo.chars, text.length);
    textInfo.twoByte ||= twoByte;
  }
  const value: unknown = realParse(text, reviver);
  if (big) probe('parsed');
  return value;
};

const client = new ThreetoneClient({
  resource: batchCalls,
  baseUrl,
  apiKey: 'bench-body-heap',
  pageSize: 500,
  timeoutMs: 60_000,
  maxBodyBytes: 2 ** 30,
  retry: { ...DEFAULT_RETRY, maxAttempts: 1 },
  budget: { take: async () => 0 },
  log: silentLogger,
});

// Warm-up: the first fetch loads undici and compiles the code paths; none of that belongs to a body.
for (let i = 0; i < 3; i++) {
  const page = await client.fetchPage('warm');
  columnArrays(batchCalls, toPageRows(batchCalls, validateItems(batchCalls, page.items).valid));
}

// Ballast: double arrays (8 bytes an element, no pointers to trace), 1 MiB each, up to liveMb of live heap.
const ballast: number[][] = [];
gc();
while (process.memoryUsage().heapUsed < liveMb * MB - MB / 2) {
  ballast.push(Array.from({ length: MB / 8 }, (_, i) => i + 0.5));
  gc();
}
interface Held {
  items: number;
  validated: ValidatedPage;
  params: string[] | null;
}

/**
 * One body, measured in a function of its own: a suspended async frame keeps stale registers (the previous body's
 * pages) reachable, which would put them into the next body's baseline.
 */
async function measure(body: { id: string; items: number }): Promise<string> {
  peak = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, rss: 0, committed: 0 };
  stages = {};
  textInfo = { chars: 0, twoByte: false };
  gc!();
  const baseline = process.memoryUsage();
  const baselineStats = v8.getHeapStatistics();

  measuring = true;
  const timer = setInterval(sample, 2);
  const started = performance.now();
  const held: Held[] = await Promise.all(
    Array.from({ length: pages }, async (_, i): Promise<Held> => {
      const page = await client.fetchPage(body.id);
      probe('page');
      const validated = validateItems(batchCalls, page.items);
      probe('validated');
      const params = i < writing ? columnArrays(batchCalls, toPageRows(batchCalls, validated.valid)) : null;
      if (params) probe('written');
      return { items: page.items.length, validated, params };
    }),
  );
  const elapsedMs = performance.now() - started;
  clearInterval(timer);
  sample();
  measuring = false;
  // Every page still referenced: the live heap they hold together once the garbage is gone.
  gc!();
  const heldAfterGc = process.memoryUsage().heapUsed;

  const valid = held.reduce((n, h) => n + h.validated.valid.length, 0);
  const rejected = held.reduce((n, h) => n + h.validated.rejected.length, 0);
  if (valid !== body.items * pages || rejected !== 0) {
    throw new Error(`${body.id}: expected ${body.items * pages} valid items, got ${valid} valid and ${rejected} rejected`);
  }
  return JSON.stringify({
    body: body.id,
    pages,
    writing,
    probeGc,
    ballastMb: ballast.length,
    baselineHeapUsed: baseline.heapUsed,
    baselineExternal: baseline.external,
    baselineArrayBuffers: baseline.arrayBuffers,
    baselineRss: baseline.rss,
    heapSizeLimit: baselineStats.heap_size_limit,
    stages,
    peak,
    heldAfterGc,
    text: textInfo,
    maxRss: process.resourceUsage().maxRSS * 1024,
    items: held.reduce((n, h) => n + h.items, 0),
    elapsedMs,
  });
}

for (const body of bodies) process.stdout.write(`${await measure(body)}\n`);
process.exit(0);
