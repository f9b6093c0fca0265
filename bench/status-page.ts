/**
 * `npm run bench:status`: the status page, `status` and /metrics at 300 and 5,000 workspaces.
 *
 * For each size a database of its own is filled with the triage fleet (test/helpers/fleet.ts: 5 failing, 3 stale,
 * 1 stuck, the rest healthy; 60 runs a workspace, so 300,000 runs at 5,000), then timed, median and worst of 15:
 * - the overview: loadHealth + renderOverview, and its size;
 * - one workspace's page: loadWorkspaceDetail + renderWorkspaceDetail;
 * - the longest the event loop stalled while doing so (what /healthz would wait behind);
 * - baseline, in the same run: the five queries the page before issue 20 ran on every load (the last 10 runs of
 *   every workspace, last successes, refusals, running walks, versions per day). That page then rendered every
 *   workspace's section: 41 MB at 5,000 workspaces, measured by hand in the issue.
 * Postgres: DATABASE_URL, else the embedded one.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { lastSuccesses } from '../src/db/runs/last-successes.ts';
import { latestRuns } from '../src/db/runs/latest-runs.ts';
import { reconcileRefusals } from '../src/db/runs/reconcile-refusals.ts';
import { runningWalks } from '../src/db/runs/running-walks.ts';
import { versionsPerDay } from '../src/db/versions-per-day.ts';
import { loadHealth } from '../src/health/load-health.ts';
import { parseOverviewQuery, renderOverview } from '../src/http/status-page/overview.ts';
import { loadWorkspaceDetail, renderWorkspaceDetail } from '../src/http/status-page/workspace.ts';
import { loadConfig } from '../src/config.ts';
import { seedFleet } from '../test/helpers/fleet.ts';
import { createBenchDatabase, openBenchServer } from './support.ts';

const ROUNDS = 15;
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const SIZES = sizes.length > 0 ? sizes : [300, 5000];
const health = loadConfig({}).health;

async function timed(fn: () => Promise<unknown>): Promise<{ median: number; worst: number }> {
  const ms: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)]!, worst: ms.at(-1)! };
}

const f = (n: number) => n.toFixed(1).padStart(8);

const server = await openBenchServer();
console.log(`status page bench on ${server.description} (Postgres ${server.version}), ${ROUNDS} rounds each\n`);
console.log(`${'workspaces'.padEnd(11)}${'runs'.padStart(9)}  ${'what'.padEnd(44)}${'median ms'.padStart(10)}${'worst ms'.padStart(10)}  notes`);
try {
  for (const n of SIZES) {
    const bench = await createBenchDatabase(server.adminUrl, `status${n}`);
    try {
      const sql = bench.database.sql;
      const seeded = Date.now();
      const names = await seedFleet(sql, { healthy: n - 9, failing: 5, stale: 3, stuck: 1, runsPerWorkspace: 60 });
      await sql`ANALYZE`;
      const [{ runs } = { runs: 0 }] = await sql<{ runs: number }[]>`SELECT count(*)::int AS runs FROM sync_runs`;
      const row = (what: string, t: { median: number; worst: number }, notes = '') =>
        console.log(`${String(n).padEnd(11)}${String(runs).padStart(9)}  ${what.padEnd(44)}${f(t.median)}  ${f(t.worst)}  ${notes}`);
      let bytes = 0;
      const stall = monitorEventLoopDelay({ resolution: 1 });
      stall.enable();
      const overview = await timed(async () => {
        const now = new Date();
        const html = renderOverview(await loadHealth(sql, health, now), parseOverviewQuery(new URLSearchParams()), { title: 't', now, boardEnabled: false });
        bytes = Buffer.byteLength(html);
      });
      stall.disable();
      row('overview: load + render', overview, `${(bytes / 1024).toFixed(1)} KiB, event loop stalled ≤ ${(stall.max / 1e6).toFixed(1)} ms (seeded in ${((Date.now() - seeded) / 1000).toFixed(0)} s)`);
      const filtered = await timed(async () => {
        const now = new Date();
        renderOverview(await loadHealth(sql, health, now), parseOverviewQuery(new URLSearchParams('state=ok&q=9&page=3')), { title: 't', now, boardEnabled: false });
      });
      row('overview, filtered and paged', filtered);
      const detail = await timed(async () => {
        const now = new Date();
        const d = await loadWorkspaceDetail(sql, names.failing[0]!, health, now);
        renderWorkspaceDetail(d!, { title: 't', now, boardEnabled: false });
      });
      row('one workspace: load + render', detail);
      const baseline = await timed(() =>
        Promise.all([latestRuns(sql, 10), lastSuccesses(sql), reconcileRefusals(sql), runningWalks(sql), versionsPerDay(sql, new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10))]),
      );
      row('baseline: the old page\'s queries alone', baseline, 'before rendering every workspace');
    } finally {
      await bench.drop();
    }
  }
} finally {
  await server.close();
}
