import type postgres from 'postgres';
import { workspaceRuns, type RunRow } from '../../db/runs/latest-runs.ts';
import { runningWalks, type RunningWalk } from '../../db/runs/running-walks.ts';
import { versionsPerDay } from '../../db/versions-per-day.ts';
import { RUN_COUNTER_LABELS, SHOWN_COUNTERS } from '../../domain/run-counters.ts';
import { RUN_STATUSES, type RunKind } from '../../domain/runs.ts';
import type { HealthThresholds, WorkspaceHealth } from '../../health/judge.ts';
import { loadHealth } from '../../health/load-health.ts';
import { walkProgress } from '../../jobs/walk-progress.ts';
import { escapeHtml } from '../../util/html.ts';
import { humanDuration, parsePgTime } from '../../util/time-format.ts';
import { formatCount, layout, stateBadge, timeTag, type PageChrome } from './layout.ts';

export const CHART_DAYS = 30;
export const RUNS_SHOWN = 20;
const DAY_MS = 86_400_000;
/** Page size assumed before a walk has committed a page (THREETONE_PAGE_SIZE's default). */
const DEFAULT_PAGE_SIZE = 500;

export interface DayCount {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  versions: number;
}

export interface RunningWalkStatus extends RunningWalk {
  expectedPages: number;
  etaMs: number | null;
}

export interface WorkspaceDetail {
  health: WorkspaceHealth;
  /** Newest first. */
  runs: RunRow[];
  /** One entry per UTC day, oldest first, CHART_DAYS long, ending today. */
  versionsPerDay: DayCount[];
  running: RunningWalkStatus[];
}

/** One workspace's page, or undefined when no run of it was ever recorded. */
export async function loadWorkspaceDetail(sql: postgres.Sql, workspace: string, thresholds: HealthThresholds, now: Date): Promise<WorkspaceDetail | undefined> {
  const days = chartDays(now);
  const [health, runs, counts, walks] = await Promise.all([
    loadHealth(sql, thresholds, now, workspace),
    workspaceRuns(sql, workspace, RUNS_SHOWN),
    versionsPerDay(sql, days[0]!, workspace),
    runningWalks(sql, workspace),
  ]);
  if (health[0] === undefined) return undefined;
  return {
    health: health[0],
    runs,
    versionsPerDay: days.map((day) => ({ day, versions: counts.get(workspace)?.get(day) ?? 0 })),
    running: walks.map((w) => ({ ...w, ...walkProgress(w, now.getTime(), DEFAULT_PAGE_SIZE) })),
  };
}

function chartDays(now: Date): string[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: CHART_DAYS }, (_, i) => new Date(today - (CHART_DAYS - 1 - i) * DAY_MS).toISOString().slice(0, 10));
}

/** Everything about one workspace: its verdict, what an operator must do, the walk in progress, a chart and its runs. */
export function renderWorkspaceDetail(detail: WorkspaceDetail, chrome: PageChrome): string {
  const { health } = detail;
  const also = health.alsoStates.length > 0 ? ` <span class="muted">(also ${health.alsoStates.join(', ')})</span>` : '';
  const body = `<h2>${escapeHtml(health.workspace)}</h2>
<p class="verdict">${stateBadge(health.state)} ${escapeHtml(health.reason)}${also}</p>${renderRefusal(health)}${renderListOrder(health)}
<p>Last successful sync: ${health.facts.lastSuccessAt === null ? '<strong>never</strong>' : timeTag(health.facts.lastSuccessAt)} · first run ${timeTag(health.facts.firstRunAt)}</p>${detail.running.map(renderRunning).join('')}
${renderChart(detail.versionsPerDay)}
${renderRuns(detail.runs)}`;
  return layout({ ...chrome, title: `${health.workspace}: threetone-sync` }, body);
}

/** Until someone confirms, jobs deleted upstream still look live here. */
function renderRefusal(health: WorkspaceHealth): string {
  const refusal = health.facts.refusedReconcile;
  if (refusal === null) return '';
  const why = refusal.error ?? 'reconciliation refused: it would have marked too many jobs deleted';
  return `\n<p class="warning-box" role="alert"><strong>Action needed:</strong> the reconciliation that finished ${timeTag(refusal.at)} marked no job deleted. <span class="reason">${escapeHtml(why)}</span></p>`;
}

/** The newest walk found the list in an order that lets a job move anywhere: what that costs, until it is recognised again. */
function renderListOrder(health: WorkspaceHealth): string {
  if (!health.facts.listOrderUnknown) return '';
  return '\n<p class="warning-box" role="alert"><strong>List order not recognised:</strong> the API listed jobs in neither creation nor last-update order in its latest walk, so incremental syncs walk every page and reconciliations mark no deletes until it does again.</p>';
}

/** A walk in progress: page N of about M, and when it should finish at its pace so far. */
function renderRunning(walk: RunningWalkStatus): string {
  const of = walk.kind === ('incremental' satisfies RunKind) ? '' : ` of ~${formatCount(walk.expectedPages)}`;
  const eta = walk.etaMs === null ? '' : ` · ETA ${escapeHtml(humanDuration(walk.etaMs))}`;
  return `\n<p class="running-walk">Running ${escapeHtml(walk.kind)} since ${timeTag(parsePgTime(walk.started_at))}: page ${formatCount(walk.counters.pages)}${of} · ${formatCount(walk.counters.itemsSeen)} items${eta}</p>`;
}

const RUN_COLUMNS = ['Started', 'Kind', 'Status', 'Duration', ...SHOWN_COUNTERS.map((name) => RUN_COUNTER_LABELS[name])];
const NUMERIC = new Set(SHOWN_COUNTERS.map((name) => RUN_COUNTER_LABELS[name] as string));

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
  const head = RUN_COLUMNS.map((c) => `<th scope="col"${NUMERIC.has(c) ? ' class="num"' : ''}>${c}</th>`).join('');
  return `<div class="scroll"><table class="cards runs">
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
    `<span class="status ${(RUN_STATUSES as readonly string[]).includes(run.status) ? run.status : 'other'}">${escapeHtml(run.status)}</span>`,
    finished === null ? '—' : escapeHtml(humanDuration(finished.getTime() - started.getTime())),
    ...SHOWN_COUNTERS.map((name) => formatCount(run.counters[name])),
  ];
  const cells = values.map((v, i) => `<td data-label="${RUN_COLUMNS[i]}"${NUMERIC.has(RUN_COLUMNS[i]!) ? ' class="num"' : ''}>${v}</td>`).join('');
  const times = errorRuns > 1 ? ` <span class="repeats">(×${errorRuns}: this run and the ${errorRuns - 1} older one${errorRuns === 2 ? '' : 's'} below)</span>` : '';
  const error = run.error === null || errorRuns === 0 ? '' : `\n<tr class="error"><td colspan="${RUN_COLUMNS.length}">${escapeHtml(run.error)}${times}</td></tr>`;
  return `<tr class="run">${cells}</tr>${error}`;
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
      return `<rect x="${(i * slot + slot * 0.1).toFixed(2)}" y="${(CHART_HEIGHT - height).toFixed(2)}" width="${(slot * 0.8).toFixed(2)}" height="${height.toFixed(2)}"><title>${d.day}: ${formatCount(d.versions)} versions</title></rect>`;
    })
    .join('');
  const summary = `${formatCount(total)} new versions in the last ${days.length} days${peak.versions > 0 ? `, at most ${formatCount(peak.versions)} on ${peak.day}` : ''}`;
  return `<figure class="chart">
<figcaption>Versions per day: ${summary}</figcaption>
<svg viewBox="0 0 ${CHART_WIDTH} ${CHART_HEIGHT}" preserveAspectRatio="none" role="img" aria-label="${escapeHtml(summary)}">
<line x1="0" y1="${CHART_HEIGHT}" x2="${CHART_WIDTH}" y2="${CHART_HEIGHT}" class="axis"/>${bars}
</svg>
<div class="axis-labels"><span>${days[0]!.day}</span><span>${days.at(-1)!.day} (today, so far)</span></div>
</figure>`;
}
