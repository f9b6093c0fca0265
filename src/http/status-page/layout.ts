import { escapeHtml } from '../../util/html.ts';
import { formatTime } from '../../util/time-format.ts';
import type { WorkspaceState } from '../../health/judge.ts';

export interface PageChrome {
  title: string;
  now: Date;
  /** Links to /queues only when the dashboard is served. */
  boardEnabled: boolean;
}

/** The shell every status page shares: one stylesheet, no script, a refresh every minute (the page is small). */
export function layout(chrome: PageChrome, body: string): string {
  const links = ['<a href="/">all workspaces</a>', '<a href="/metrics">metrics</a>', ...(chrome.boardEnabled ? ['<a href="/queues">queues</a>'] : [])].join(' · ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>${escapeHtml(chrome.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>threetone-sync</h1><p>As of ${timeTag(chrome.now)} · ${links}</p></header>
<main>
${body}
</main>
</body>
</html>
`;
}

export function timeTag(date: Date): string {
  const iso = formatTime(date);
  return `<time datetime="${iso}">${iso}</time>`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function stateBadge(state: WorkspaceState): string {
  return `<span class="badge ${state}">${state}</span>`;
}

export function workspaceHref(workspace: string): string {
  return `/workspaces/${encodeURIComponent(workspace)}`;
}

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --run: #0969da; --muted: #6e7781; --line: #d0d7de; --bar: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header, main { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
header { border-bottom: 1px solid var(--line); }
h1 { font-size: 1.3rem; margin: .8rem 0 .2rem; }
header p { margin: 0 0 .8rem; color: var(--muted); }
h2 { font-size: 1.15rem; margin: 1.4rem 0 .4rem; overflow-wrap: anywhere; }
a { color: var(--run); }
time { white-space: nowrap; }
.summary { display: flex; flex-wrap: wrap; gap: .5rem; margin: 1rem 0; padding: 0; list-style: none; }
.summary a { display: inline-block; padding: .35rem .7rem; border: 1px solid var(--line); border-radius: 6px; text-decoration: none; color: inherit; }
.summary a.current { border-color: var(--run); box-shadow: inset 0 0 0 1px var(--run); }
.summary strong { font-size: 1.15rem; margin-right: .25rem; }
.summary .failing strong, .summary .stuck strong { color: var(--bad); }
.summary .stale strong, .summary .warning strong { color: var(--warn); }
.summary .running strong { color: var(--run); }
.summary .ok strong { color: var(--ok); }
.summary .zero strong { color: var(--muted); }
.badge { display: inline-block; min-width: 4.6rem; padding: 0 .4rem; border-radius: 4px; font-size: .8rem; font-weight: 600; text-align: center; color: #fff; background: var(--muted); }
.badge.failing, .badge.stuck { background: var(--bad); }
.badge.stale, .badge.warning { background: var(--warn); }
.badge.running { background: var(--run); }
.badge.ok { background: var(--ok); }
ol.attention { list-style: none; padding: 0; margin: 0 0 1rem; }
ol.attention li { padding: .45rem 0; border-bottom: 1px solid var(--line); display: grid; grid-template-columns: 5.2rem minmax(8rem, 16rem) 1fr; gap: .6rem; align-items: baseline; }
ol.attention .reason { overflow-wrap: anywhere; }
.all-good { color: var(--ok); font-weight: 600; }
form.filter { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .5rem 0; }
form.filter input[type=search] { flex: 1 1 12rem; padding: .3rem .5rem; font: inherit; }
form.filter select, form.filter button { padding: .3rem .5rem; font: inherit; }
.pager { display: flex; gap: 1rem; justify-content: space-between; margin: .6rem 0 1.5rem; color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { padding: .35rem .5rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: baseline; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.why { overflow-wrap: anywhere; }
.age, .empty, .muted { color: var(--muted); }
.warning-box { margin: 0 0 .8rem; padding: .5rem .7rem; border: 1px solid var(--bad); border-left-width: 4px; border-radius: 4px; overflow-wrap: anywhere; }
.warning-box strong { color: var(--bad); }
.warning-box .reason { display: block; margin-top: .3rem; font-family: ui-monospace, monospace; font-size: .85rem; }
.verdict { font-size: 1.05rem; margin: .6rem 0 1rem; overflow-wrap: anywhere; }
.running-walk { color: var(--run); margin: 0 0 .8rem; }
.repeats { color: var(--muted); font-family: system-ui, sans-serif; }
tr.error td { overflow-wrap: anywhere; color: var(--bad); font-family: ui-monospace, monospace; font-size: .85rem; }
.status { font-weight: 600; }
.status.succeeded { color: var(--ok); }
.status.failed { color: var(--bad); }
.status.running { color: var(--run); }
.chart { margin: 0 0 1rem; }
.chart figcaption { font-size: .9rem; margin-bottom: .3rem; }
.chart svg { display: block; width: 100%; height: 70px; }
.chart rect { fill: var(--bar); }
.chart .axis { stroke: var(--line); stroke-width: 1; vector-effect: non-scaling-stroke; }
.axis-labels { display: flex; justify-content: space-between; font-size: .8rem; color: var(--muted); }
@media (max-width: 640px) {
  ol.attention li { grid-template-columns: 5.2rem 1fr; }
  ol.attention .reason { grid-column: 1 / -1; }
  table.cards thead { display: none; }
  table.cards, table.cards caption, table.cards tbody, table.cards tr, table.cards td { display: block; width: 100%; }
  table.cards tr { border-top: 2px solid var(--line); padding: .3rem 0; }
  table.cards td { border: 0; padding: .1rem 0; display: flex; justify-content: space-between; gap: 1rem; text-align: right; }
  table.cards td::before { content: attr(data-label); color: var(--muted); text-align: left; }
  table.cards tr.error td { display: block; padding: .2rem 0 .5rem; text-align: left; }
  table.cards tr.error td::before { content: none; }
}
`;
