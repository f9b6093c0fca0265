import type { Database } from '../db/connection.ts';
import { formatAge, formatTime, humanDuration, parsePgTime } from '../util/time-format.ts';
import { escapeHtml } from '../util/html.ts';
import { lastSuccesses } from '../db/runs/last-successes.ts';
import { latestRuns, type RunRow } from '../db/runs/latest-runs.ts';
import { reconcileRefusals, type ReconcileRefusal } from '../db/runs/reconcile-refusals.ts';
import { runningWalks, type RunningWalk } from '../db/runs/running-walks.ts';
import { walkProgress } from '../jobs/walk-progress.ts';
import { versionsPerDay } from '../db/versions-per-day.ts';
import { RUN_COUNTER_LABELS, SHOWN_COUNTERS } from '../domain/run-counters.ts';
import { RUN_STATUSES, type RunKind, type RunStatus } from '../domain/runs.ts';

export const CHART_DAYS = 30;
const RUNS_SHOWN = 10;
const DAY_MS = 86_400_000;

export interface DayCount {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  versions: number;
}

export interface WorkspaceStatus {
  workspace: string;
  lastSuccess: Date | null;
  /** Newest first. */
  runs: RunRow[];
  /** One entry per UTC day, oldest first, CHART_DAYS long, ending today. */
  versionsPerDay: DayCount[];
  /** Set while the workspace's reconciliation stands refused (see reconcileRefusals). */
  refusedReconcile: ReconcileRefusal | null;
  /** Runs walking now, with pages expected and ETA. */
  running?: RunningWalkStatus[];
}

export interface RunningWalkStatus extends RunningWalk {
  expectedPages: number;
  etaMs: number | null;
}

/** Page size assumed before a walk has committed a page (THREETONE_PAGE_SIZE's default). */
const DEFAULT_PAGE_SIZE = 500;

export interface StatusPageOptions {
  now: Date;
  /** Links to /queues only when the dashboard is served. */
  boardEnabled: boolean;
}

/**
 * Everything the page shows, in four queries on the HTTP endpoint's own pool
 * (never the sync's): anyone who can reach the page can load it, as often as
 * they like.
 */
export async function loadStatus(database: Pick<Database, 'reads'>, now: Date): Promise<WorkspaceStatus[]> {
  const days = chartDays(now);
  const [runs, successes, counts, refusals, walks] = await Promise.all([
    latestRuns(database.reads, RUNS_SHOWN),
    lastSuccesses(database.reads),
    versionsPerDay(database.reads, days[0]!),
    reconcileRefusals(database.reads),
    runningWalks(database.reads),
  ]);
  const running = walks.map((w) => ({ ...w, ...walkProgress(w, now.getTime(), DEFAULT_PAGE_SIZE) }));
  const names = new Set([...runs.map((r) => r.workspace), ...successes.keys(), ...counts.keys()]);
  return [...names].sort().map((workspace) => ({
    workspace,
    lastSuccess: successes.get(workspace) ?? null,
    runs: runs.filter((r) => r.workspace === workspace),
    versionsPerDay: days.map((day) => ({ day, versions: counts.get(workspace)?.get(day) ?? 0 })),
    refusedReconcile: refusals.get(workspace) ?? null,
    running: running.filter((w) => w.workspace === workspace),
  }));
}

function chartDays(now: Date): string[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: CHART_DAYS }, (_, i) => new Date(today - (CHART_DAYS - 1 - i) * DAY_MS).toISOString().slice(0, 10));
}

/** The whole page; every value from the database goes through `escapeHtml`. */
export function renderStatusPage(workspaces: WorkspaceStatus[], options: StatusPageOptions): string {
  const links = ['<a href="/metrics">metrics</a>', ...(options.boardEnabled ? ['<a href="/queues">queues</a>'] : [])].join(' · ');
  const body = workspaces.length === 0 ? '<p class="empty">No sync has run yet.</p>' : workspaces.map((w) => renderWorkspace(w, options.now)).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>threetone-sync status</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>threetone-sync</h1><p>As of ${timeTag(options.now)} · ${links}</p></header>
<main>
${body}
</main>
</body>
</html>
`;
}

function renderWorkspace(status: WorkspaceStatus, now: Date): string {
  const latest = status.runs[0];
  // Run rows carry their status and kind as plain text: the words compared with them, here and below, are checked against the vocabulary instead.
  const health = status.lastSuccess === null || latest?.status === ('failed' satisfies RunStatus) ? 'bad' : 'good';
  const last =
    status.lastSuccess === null
      ? '<strong>never</strong>'
      : `<strong>${timeTag(status.lastSuccess)}</strong> <span class="age">(${escapeHtml(formatAge(now.getTime() - status.lastSuccess.getTime()))})</span>`;
  return `<section class="workspace">
<h2>${escapeHtml(status.workspace)}</h2>${renderRefusal(status.refusedReconcile)}${renderListOrder(status.runs)}
<p class="last ${health}">Last successful sync: ${last}</p>${renderFailing(status.runs, now)}${(status.running ?? []).map(renderRunning).join('')}
${renderChart(status.versionsPerDay)}
${renderRuns(status.runs)}
</section>`;
}

/** The newest walk found the list in an order that lets a job move anywhere: what that costs, until the order is recognised again. */
function renderListOrder(runs: RunRow[]): string {
  if (runs.find((run) => run.list_order !== null)?.list_order !== 'unknown') return '';
  return '\n<p class="warning" role="alert"><strong>List order not recognised:</strong> the API listed jobs in neither creation nor last-update order in its latest walk, so incremental syncs walk every page and reconciliations mark no deletes until it does again.</p>';
}

/** Above everything else of its workspace: until someone confirms, jobs deleted upstream still look live here. */
function renderRefusal(refusal: ReconcileRefusal | null): string {
  if (refusal === null) return '';
  const why = refusal.error ?? 'reconciliation refused: it would have marked too many jobs deleted';
  return `\n<p class="warning" role="alert"><strong>Action needed:</strong> the reconciliation that finished ${timeTag(refusal.finishedAt)} marked no job deleted. <span class="reason">${escapeHtml(why)}</span></p>`;
}

/**
 * Runs failing in a row, newest first (a run still going, or one interrupted by a shutdown, neither breaks
 * nor extends the streak): since when, and how many.
 */
export function failingStreak(runs: RunRow[]): { since: Date; count: number; all: boolean } | null {
  const finished = runs.filter((r) => r.status !== ('running' satisfies RunStatus) && r.status !== ('interrupted' satisfies RunStatus));
  let count = 0;
  while (count < finished.length && finished[count]!.status === ('failed' satisfies RunStatus)) count++;
  if (count === 0) return null;
  return { since: parsePgTime(finished[count - 1]!.started_at), count, all: count === finished.length };
}

function renderFailing(runs: RunRow[], now: Date): string {
  const streak = failingStreak(runs);
  if (streak === null) return '';
  const howMany = `${streak.all ? 'at least ' : ''}${streak.count} run${streak.count === 1 ? '' : 's'} in a row`;
  return `
<p class="failing" role="status"><strong>Failing</strong> since ${timeTag(streak.since)} <span class="age">(${escapeHtml(formatAge(now.getTime() - streak.since.getTime()))})</span>: ${howMany}</p>`;
}

/** A walk in progress: page N of about M, and when the budget lets it finish at the earliest. */
function renderRunning(walk: RunningWalkStatus): string {
  const of = walk.kind === ('incremental' satisfies RunKind) ? '' : ` of ~${formatCount(walk.expectedPages)}`;
  const eta = walk.etaMs === null ? '' : ` · ETA ${escapeHtml(humanDuration(walk.etaMs))}`;
  return `\n<p class="running">Running ${escapeHtml(walk.kind)} since ${timeTag(parsePgTime(walk.started_at))}: page ${formatCount(walk.counters.pages)}${of} · ${formatCount(walk.counters.itemsSeen)} items${eta}</p>`;
}

const RUN_COLUMNS = ['Started', 'Kind', 'Status', 'Duration', ...SHOWN_COUNTERS.map((name) => RUN_COUNTER_LABELS[name])];

function renderRuns(runs: RunRow[]): string {
  if (runs.length === 0) return '<p class="empty">No runs recorded.</p>';
  // An error repeated run after run is shown once, under its newest run, with how many runs it stood for.
  const rows: string[] = [];
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i]!;
    let repeats = 1;
    while (run.error !== null && runs[i + repeats]?.error === run.error) repeats++;
    rows.push(renderRun(run, repeats));
    for (let j = 1; j < repeats; j++) rows.push(renderRun(runs[i + j]!, 0));
    i += repeats - 1;
  }
  const head = RUN_COLUMNS.map((c) => `<th scope="col">${c}</th>`).join('');
  return `<div class="runs"><table>
<caption>Last ${runs.length} run${runs.length === 1 ? '' : 's'}</caption>
<thead><tr>${head}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table></div>`;
}

/** `errorRuns`: how many runs (this one and the older ones after it) the error row stands for; 0: none. */
function renderRun(run: RunRow, errorRuns: number): string {
  const started = parsePgTime(run.started_at);
  const finished = run.finished_at === null ? null : parsePgTime(run.finished_at);
  const values: string[] = [
    timeTag(started),
    escapeHtml(run.kind),
    `<span class="status ${statusClass(run.status)}">${escapeHtml(run.status)}</span>`,
    finished === null ? '—' : escapeHtml(humanDuration(finished.getTime() - started.getTime())),
    ...SHOWN_COUNTERS.map((name) => formatCount(run.counters[name])),
  ];
  const cells = values.map((v, i) => `<td data-label="${RUN_COLUMNS[i]}">${v}</td>`).join('');
  const times = errorRuns > 1 ? ` <span class="repeats">(×${errorRuns}: this run and the ${errorRuns - 1} older one${errorRuns === 2 ? '' : 's'} below)</span>` : '';
  const error = run.error === null || errorRuns === 0 ? '' : `\n<tr class="error"><td colspan="${RUN_COLUMNS.length}">${escapeHtml(run.error)}${times}</td></tr>`;
  return `<tr class="run">${cells}</tr>${error}`;
}

function statusClass(status: string): string {
  return (RUN_STATUSES as readonly string[]).includes(status) ? status : 'other';
}

const CHART_WIDTH = 300;
const CHART_HEIGHT = 60;

/** Bars in a stretched viewBox; the labels are HTML so they stay legible at any width. */
function renderChart(days: DayCount[]): string {
  const peak = days.reduce((best, d) => (d.versions > best.versions ? d : best), days[0]!);
  const total = days.reduce((sum, d) => sum + d.versions, 0);
  const slot = CHART_WIDTH / days.length;
  const bars = days
    .map((d, i) => {
      const height = peak.versions === 0 ? 0 : Math.max(d.versions > 0 ? 1 : 0, (d.versions / peak.versions) * CHART_HEIGHT);
      const y = CHART_HEIGHT - height;
      return `<rect x="${(i * slot + slot * 0.1).toFixed(2)}" y="${y.toFixed(2)}" width="${(slot * 0.8).toFixed(2)}" height="${height.toFixed(2)}"><title>${d.day}: ${formatCount(d.versions)} versions</title></rect>`;
    })
    .join('');
  const summary = `${formatCount(total)} new versions in the last ${days.length} days${peak.versions > 0 ? `, at most ${formatCount(peak.versions)} on ${peak.day}` : ''}`;
  return `<figure class="chart">
<figcaption>Versions per day: ${summary}</figcaption>
<svg viewBox="0 0 ${CHART_WIDTH} ${CHART_HEIGHT}" preserveAspectRatio="none" role="img" aria-label="${escapeHtml(summary)}">
<line x1="0" y1="${CHART_HEIGHT}" x2="${CHART_WIDTH}" y2="${CHART_HEIGHT}" class="axis"/>${bars}
</svg>
<div class="axis-labels"><span>${days[0]!.day}</span><span>${days.at(-1)!.day}</span></div>
</figure>`;
}


function timeTag(date: Date): string {
  const iso = formatTime(date);
  return `<time datetime="${iso}">${iso}</time>`;
}


function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --run: #0969da; --muted: #6e7781; --line: #d0d7de; --bar: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header, main { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
header { border-bottom: 1px solid var(--line); }
h1 { font-size: 1.3rem; margin: .8rem 0 .2rem; }
header p { margin: 0 0 .8rem; color: var(--muted); }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .3rem; overflow-wrap: anywhere; }
.last, .running, .failing { margin: 0 0 .8rem; }
.failing strong { color: var(--bad); }
.repeats { color: var(--muted); font-family: system-ui, sans-serif; }
.running { color: var(--run); }
.warning { margin: 0 0 .8rem; padding: .5rem .7rem; border: 1px solid var(--bad); border-left-width: 4px; border-radius: 4px; overflow-wrap: anywhere; }
.warning strong { color: var(--bad); }
.warning .reason { display: block; margin-top: .3rem; font-family: ui-monospace, monospace; font-size: .85rem; }
.last.good strong { color: var(--ok); }
.last.bad strong { color: var(--bad); }
.age, .empty { color: var(--muted); }
.chart { margin: 0 0 1rem; }
.chart figcaption { font-size: .9rem; margin-bottom: .3rem; }
.chart svg { display: block; width: 100%; height: 70px; }
.chart rect { fill: var(--bar); }
.chart .axis { stroke: var(--line); stroke-width: 1; vector-effect: non-scaling-stroke; }
.axis-labels { display: flex; justify-content: space-between; font-size: .8rem; color: var(--muted); }
.runs { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { padding: .35rem .5rem; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
td[data-label="Pages"], td[data-label="Items"], td[data-label="New versions"], td[data-label="Rejected"], td[data-label="Requests"] { text-align: right; font-variant-numeric: tabular-nums; }
tr.error td { white-space: normal; overflow-wrap: anywhere; color: var(--bad); font-family: ui-monospace, monospace; font-size: .85rem; }
.status { font-weight: 600; }
.status.succeeded { color: var(--ok); }
.status.failed { color: var(--bad); }
.status.running { color: var(--run); }
@media (max-width: 640px) {
  thead { display: none; }
  table, caption, tbody, tr, td { display: block; width: 100%; }
  tr.run { border-top: 2px solid var(--line); padding: .3rem 0; }
  td { border: 0; padding: .1rem 0; display: flex; justify-content: space-between; gap: 1rem; text-align: right; }
  td::before { content: attr(data-label); color: var(--muted); text-align: left; }
  tr.error td { display: block; padding: .2rem 0 .5rem; text-align: left; }
  tr.error td::before { content: none; }
}
`;
