import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { atMost, formatMb, info, type BenchResult, type Figure } from './report.ts';
import { createBenchDatabase, spawnNode, startSimulatorChild, SYNC_CHILD, waitForOutput } from './support.ts';

/**
 * Peak RSS of a whole sync at two sizes, each in a fresh process
 * (bench/sync-child.ts), against the CLI simulator in another process,
 * latency 0, limit 500. A walk holds one page ahead and writes each page in
 * its own transaction, so memory should not grow with the workspace.
 *
 * Measured as the Docker image runs the code: compiled JavaScript (src/ and
 * sync-child.ts built with tsconfig.build.json into node_modules/.cache) and
 * the NODE_OPTIONS the Dockerfile sets. tsx alone adds ~30 MB; when the build
 * fails the child runs under tsx and the figure says so.
 */
export interface RssOptions {
  adminUrl: string;
  sizes?: [number, number];
  /** Peak RSS allowed at the larger size. */
  limitMb?: number;
  /** NODE_OPTIONS for the sync process; default: the Dockerfile's. */
  nodeOptions?: string;
}

interface ChildReport {
  maxRssBytes: number;
  rssAtTenthBytes: number;
  rssAtHalfBytes: number;
  rssAtEndBytes: number;
  heapUsedAfterGcBytes: number;
  pages: number;
  itemsSeen: number;
  requests: number;
  durationMs: number;
}

interface ChildCommand {
  args: string[];
  nodeOptions: string | undefined;
  description: string;
}

const API_KEY = 'bench-rss-key';
/** "No higher than at the smaller size, within noise": 10% or 10 MB, whichever is more. */
const NOISE = { fraction: 0.1, bytes: 10 * 1024 * 1024 };
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'threetone-bench');

export async function measureRss(options: RssOptions): Promise<BenchResult> {
  const [small, large] = options.sizes ?? [100_000, 1_000_000];
  const limitMb = options.limitMb ?? 150;
  const failures: string[] = [];
  const command = await childCommand(options.nodeOptions ?? dockerfileNodeOptions());
  const runs: ChildReport[] = [];
  for (const items of [small, large]) {
    const report = await syncInChild(options.adminUrl, items, command);
    if (report.itemsSeen !== items) failures.push(`rss: the ${items}-item sync saw ${report.itemsSeen} items`);
    runs.push(report);
  }
  const [a, b] = runs as [ChildReport, ChildReport];
  const allowed = a.maxRssBytes + Math.max(NOISE.bytes, a.maxRssBytes * NOISE.fraction);
  const figures: Figure[] = [
    info('rss: sync process', command.description),
    info(`rss: peak RSS, ${small.toLocaleString('en-US')} items`, `${formatMb(a.maxRssBytes)} (${(a.durationMs / 1000).toFixed(1)} s, ${a.pages} pages)`),
    atMost(`rss: peak RSS, ${large.toLocaleString('en-US')} items`, b.maxRssBytes / 1024 / 1024, limitMb, 'MB', 1),
    {
      figure: `rss: ${large.toLocaleString('en-US')} vs ${small.toLocaleString('en-US')} items`,
      value: `${formatMb(b.maxRssBytes)} vs ${formatMb(a.maxRssBytes)} (${(b.durationMs / 1000).toFixed(1)} s for the larger)`,
      target: 'no higher (+10% / 10 MB noise)',
      verdict: `${(b.maxRssBytes / a.maxRssBytes).toFixed(2)}x ${b.maxRssBytes <= allowed ? 'ok' : 'MISS'}`,
    },
    info(
      `rss: ${large.toLocaleString('en-US')} items, RSS at 10% / 50% / end`,
      `${formatMb(b.rssAtTenthBytes)} / ${formatMb(b.rssAtHalfBytes)} / ${formatMb(b.rssAtEndBytes)}; heap after GC ${formatMb(b.heapUsedAfterGcBytes)}`,
      'flat = no leak',
    ),
  ];
  return { figures, failures };
}

/** NODE_OPTIONS from the Dockerfile's ENV, if it sets any. */
function dockerfileNodeOptions(): string | undefined {
  try {
    const match = /NODE_OPTIONS=("([^"]*)"|(\S+))/.exec(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
    return match?.[2] ?? match?.[3];
  } catch {
    return undefined;
  }
}

/** Builds src/ and the child with tsconfig.build.json into node_modules/.cache; tsx when that fails. */
async function childCommand(nodeOptions: string | undefined): Promise<ChildCommand> {
  const options = nodeOptions ? `NODE_OPTIONS=${nodeOptions}` : 'no NODE_OPTIONS';
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const out = path.join(CACHE, 'out');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'package.json'), '{ "type": "module" }\n');
  const config = path.join(CACHE, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: path.join(ROOT, 'tsconfig.build.json'),
      compilerOptions: { rootDir: ROOT, outDir: out, sourceMap: false, noEmitOnError: true, tsBuildInfoFile: path.join(CACHE, 'tsbuildinfo') },
      include: [path.join(ROOT, 'src'), SYNC_CHILD],
    }),
  );
  const script = path.join(out, 'bench', 'sync-child.js');
  if (existsSync(tsc) && existsSync(path.join(ROOT, 'tsconfig.build.json'))) {
    const build = spawnNode([tsc, '-p', config], {});
    if ((await build.exited) === 0 && existsSync(script)) {
      return { args: ['--expose-gc', script], nodeOptions, description: `compiled JS (tsconfig.build.json), ${options}` };
    }
  }
  return { args: ['--expose-gc', '--import', 'tsx', SYNC_CHILD], nodeOptions, description: `tsx (the build failed), ${options}` };
}

async function syncInChild(adminUrl: string, items: number, command: ChildCommand): Promise<ChildReport> {
  const bench = await createBenchDatabase(adminUrl, 'rss');
  try {
    const simulator = await startSimulatorChild({ items, latencyMs: 0, apiKey: API_KEY });
    try {
      const child = spawnNode(command.args, {
        BENCH_DATABASE_URL: bench.url,
        BENCH_BASE_URL: simulator.url,
        BENCH_API_KEY: API_KEY,
        NODE_OPTIONS: command.nodeOptions,
      });
      try {
        const match = await waitForOutput(child, /^\{"maxRssBytes".*\}$/m, 900_000);
        const code = await child.exited;
        if (code !== 0) throw new Error(`sync child exited ${code}: ${child.output().slice(-2000)}`);
        return JSON.parse(match[0]) as ChildReport;
      } finally {
        await child.stop();
      }
    } finally {
      await simulator.stop();
    }
  } finally {
    await bench.drop();
  }
}
