import { rateBars, stackedDaily } from './charts.ts';
import { escapeHtml } from '../util/html.ts';
import { formatAge, formatTime } from '../util/time-format.ts';
import { isoTime } from '../util/time-format.ts';
import type { ReportData } from '../db/report-data.ts';

/** A self-contained HTML page: inline CSS and SVG, no script, nothing fetched. */
export function renderReport(data: ReportData): string {
  const workspaces = [...new Set([...data.daily.map((d) => d.workspace), ...data.freshness.map((f) => f.workspace)])].sort();
  const sections = workspaces
    .map((ws) => {
      const daily = data.daily.filter((d) => d.workspace === ws);
      const agents = data.agents.filter((a) => a.workspace === ws);
      return `<section><h2>${escapeHtml(ws)}</h2>
<h3>Jobs created per day, by current status</h3>${stackedDaily(daily, `Jobs per day in ${ws}`)}
<h3>Finish rate per agent (calls finished / scheduled)</h3>${rateBars(
        agents.map((a) => ({ label: a.agent_name, rate: a.finish_rate, note: `${a.jobs} jobs, ${a.calls_finished} of ${a.calls_scheduled} calls finished` })),
        `Finish rate per agent in ${ws}`,
      )}</section>`;
    })
    .join('\n');
  const freshness = data.freshness
    .map(
      (f) =>
        `<tr><td>${escapeHtml(f.workspace)}</td><td>${escapeHtml(f.last_success_at === null ? 'never' : isoTime(f.last_success_at))}</td><td class="num">${escapeHtml(f.age_seconds === null ? 'never' : formatAge(f.age_seconds * 1000))}</td><td>${escapeHtml(f.last_run_status ?? '')}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>threetone-sync report</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:760px;padding:16px;color:#212529}
h1{font-size:1.4em}h2{border-bottom:1px solid #dee2e6;padding-bottom:4px;margin-top:2em}h3{font-size:1em;color:#495057}
table{border-collapse:collapse;width:100%}td,th{padding:4px 8px;border-bottom:1px solid #e9ecef;text-align:left}.num{text-align:right}
svg{width:100%;height:auto;font-size:12px}.axis{fill:#868e96}figure{margin:0}figcaption{font-size:13px}
.key{margin-right:10px;white-space:nowrap}.key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}.empty{color:#868e96}
</style></head><body>
<h1>threetone-sync report</h1>
<p>Jobs created since ${escapeHtml(data.since.toISOString().slice(0, 10))}; generated ${escapeHtml(formatTime(data.generatedAt))}.</p>
<h2>Sync freshness</h2>
<table><thead><tr><th>workspace</th><th>last successful sync</th><th class="num">age</th><th>last run</th></tr></thead><tbody>${freshness || '<tr><td colspan="4">no runs yet</td></tr>'}</tbody></table>
${sections}
</body></html>
`;
}
