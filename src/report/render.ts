import { escapeHtml } from '../util/html.ts';
import { formatAge } from '../util/time-format.ts';
import { formatCount, formatRate, timeTag } from './cells.ts';
import { dailyChart } from './charts.ts';
import { htmlRecord, htmlTable } from './html-table.ts';
import type { ReportModel, Totals, WorkspaceReport } from './model.ts';
import { ratePlot } from './rate-plot.ts';
import { REPORT_STYLE } from './style.ts';
import { AGENTS_TABLE, jobsPerDayTable, totalsTable, WORKSPACES_TABLE } from './tables.ts';

/** Past this many workspaces, the list of links to them starts folded: the table of workspaces also links each one. */
const INDEX_OPEN_UP_TO = 30;

/** A self-contained HTML page: inline CSS and SVG, no script, nothing fetched. */
export function renderReport(model: ReportModel): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>threetone-sync report</title>
<style>${REPORT_STYLE}</style></head><body>
<header><h1>threetone-sync report</h1>
<p>Jobs created from ${timeTag(model.from)} to ${timeTag(model.generatedAt)}, by UTC day; today's counts are partial. Statuses, calls and rates are as of the last sync.</p></header>
${contents(model)}
<section id="totals"><h2>Totals</h2>
<p class="summary">${totalsLine(model.totals, `${formatCount(model.totals.workspaces)} workspace${model.totals.workspaces === 1 ? '' : 's'}`)}</p>
${htmlRecord(totalsTable(model.statuses), { ...model.totals, from: model.from, generatedAt: model.generatedAt })}
<p class="note">Finish rate: calls finished over calls scheduled, each summed over all the jobs first, so a busy agent or workspace weighs more than a quiet one.</p>
</section>
<section id="workspaces"><h2>Workspaces</h2>
${model.workspaces.length === 0 ? '<p class="empty">No workspace has been synced yet.</p>' : `<p class="note">Totals and sync freshness per workspace; a name links to its section.</p>
${htmlTable(WORKSPACES_TABLE, model.workspaces, { firstCell: (w, html) => `<a href="#${w.anchor}">${html}</a>` })}`}
</section>
${model.workspaces.map((w) => workspaceSection(w, model)).join('\n')}
</body></html>
`;
}

function contents(model: ReportModel): string {
  const n = model.workspaces.length;
  const index = model.workspaces.map((w) => `<li><a href="#${w.anchor}">${escapeHtml(w.workspace)}</a></li>`).join('');
  const list = n === 0 ? '' : `\n<details${n <= INDEX_OPEN_UP_TO ? ' open' : ''}><summary>Each workspace's section (${formatCount(n)})</summary><ol class="index">${index}</ol></details>`;
  return `<nav id="contents" aria-label="Contents"><h2>Contents</h2>
<ol><li><a href="#totals">Totals</a></li><li><a href="#workspaces">Workspaces</a>: one row each, with its totals and sync freshness</li><li>One section per workspace: jobs per day, finish rate per agent</li></ol>${list}
</nav>`;
}

function totalsLine(totals: Totals, who: string): string {
  const byStatus = Object.entries(totals.byStatus)
    .filter(([, jobs]) => jobs > 0)
    .map(([status, jobs]) => `${formatCount(jobs)} ${escapeHtml(status)}`)
    .join(', ');
  const calls = totals.finishRate === null ? 'no calls scheduled' : `finish rate <strong>${formatRate(totals.finishRate)}</strong> (${formatCount(totals.callsFinished)} of ${formatCount(totals.callsScheduled)} calls)`;
  return `${who}: <strong>${formatCount(totals.jobs)}</strong> job${totals.jobs === 1 ? '' : 's'} created${byStatus ? ` (${byStatus})` : ''} · ${calls}`;
}

function workspaceSection(w: WorkspaceReport, model: ReportModel): string {
  const sync = w.lastSuccessAt === null ? 'never synced successfully' : `last successful sync ${timeTag(w.lastSuccessAt)}${w.syncAgeMs === null ? '' : ` (${escapeHtml(formatAge(w.syncAgeMs))})`}`;
  return `<section class="workspace" id="${w.anchor}"><h2>${escapeHtml(w.workspace)}<a class="up" href="#contents">↑ contents</a></h2>
<p class="summary">${totalsLine(w.totals, 'In this window')} · ${sync}</p>
<h3>Jobs created per day, by current status</h3>
${w.days.length === 0 ? '<p class="empty">No jobs created in this window.</p>' : days(w, model)}
<h3>Finish rate per agent (calls finished / scheduled)</h3>
${w.agents.length === 0 ? '<p class="empty">No agents in this window.</p>' : agents(w)}
</section>`;
}

function days(w: WorkspaceReport, model: ReportModel): string {
  const table = jobsPerDayTable(model.statuses);
  const foot = ['all days', ...model.statuses.map((s) => formatCount(w.totals.byStatus[s] ?? 0)), formatCount(w.totals.jobs)];
  const rows = htmlTable(table, w.days, {
    rowClass: (d) => (d.partial ? 'partial' : ''),
    firstCell: (d, html) => (d.partial ? `${html}<span class="mark">today, partial</span>` : html),
    foot,
  });
  // Folded: the chart carries each day's total, and 300 workspaces of 31 rows each would bury the charts; it
  // unfolds in print (the page's CSS).
  return `${dailyChart(w.days, model.statuses, { id: w.anchor, title: `Jobs per day in ${w.workspace}`, generatedAt: model.generatedAt })}
<details class="days"><summary>Table: jobs per day by status (${formatCount(w.days.length)} days)</summary>${rows}</details>`;
}

function agents(w: WorkspaceReport): string {
  const plot = ratePlot(w.agents, w.totals.finishRate);
  const overall = w.totals.finishRate === null ? '' : ` <span class="key"><i class="overall-key"></i>dashed line: the workspace's overall ${formatRate(w.totals.finishRate)}</span>`;
  return `${htmlTable(AGENTS_TABLE, w.agents, {
    extra: { after: 'finish_rate', head: plot.head, cell: plot.cell },
  })}
<p class="note">${plot.note}${overall} n: the jobs each rate is summed over; lowest rate first.</p>`;
}
