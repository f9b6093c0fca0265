import { describe, expect, it } from 'vitest';
import type { ReportData } from '../../src/db/report-data.ts';
import { buildReport } from '../../src/report/model.ts';
import { renderReport } from '../../src/report/render.ts';
import { GLOBEX, HOSTILE, REPORT_DATA } from './fixture.ts';
import { section, tableRows, text } from './html-text.ts';

const html = renderReport(buildReport(REPORT_DATA));
const acme = section(html, 'ws-acme');

describe('the report page', () => {
  it('draws a y axis at round numbers and dates on the x axis', () => {
    // acme's busiest day has 12 jobs: ticks every 5, up to 15.
    const ticks = [...acme.matchAll(/<text class="tick"[^>]*>([^<]+)<\/text>/g)].map((m) => m[1]);
    expect(ticks).toEqual(['0', '5', '10', '15']);
    expect(acme).toContain('>jobs a day</text>');
    const dates = [...acme.matchAll(/<text class="date[^"]*"[^>]*>(\d{4}-\d\d-\d\d)/g)].map((m) => m[1]);
    expect(dates).toEqual(['2026-11-30', '2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06']);
  });

  it('writes each day total above its column, so no count needs a hover', () => {
    const values = [...acme.matchAll(/<text class="value"[^>]*>([^<]+)<\/text>/g)].map((m) => m[1]);
    expect(values).toEqual(['12', '8', '5']);
  });

  it('marks today as partial: hatched, labelled under the axis, in the legend and in the table', () => {
    expect(acme).toMatch(/<pattern id="ws-acme-partial"/);
    expect(acme.match(/<rect class="partial"[^>]*fill="url\(#ws-acme-partial\)"/g)).toHaveLength(1);
    expect(acme).toMatch(/>2026-12-06<tspan class="partial-label"[^>]*>today, partial<\/tspan><\/text>/);
    expect(acme).toContain('today, partial (to <time datetime="2026-12-06T08:11:24Z">2026-12-06T08:11:24Z</time>)');
    const today = tableRows(acme, 0).find((row) => row[0]!.startsWith('2026-12-06'));
    expect(today).toEqual(['2026-12-06today, partial', '4', '0', '0', '0', '0', '1', '5']);
    expect(acme).toMatch(/<tr class="partial"><th scope="row"><time datetime="2026-12-06">/);
  });

  it('gives totals and the overall finish rate, for all workspaces and for each', () => {
    expect(text(html)).toContain('3 workspaces: 31 jobs created (4 pending, 3 in_progress, 21 completed, 2 failed, 1 paused) · finish rate 88.8% (1,119 of 1,260 calls)');
    expect(tableRows(html, 0)).toEqual([
      ['jobs created from', '2026-11-30T00:00:00Z'],
      ['to', '2026-12-06T08:11:24Z'],
      ['workspaces', '3'],
      ['jobs', '31'],
      ['jobs pending now', '4'],
      ['jobs in_progress now', '3'],
      ['jobs completed now', '21'],
      ['jobs failed now', '2'],
      ['jobs cancelled now', '0'],
      ['jobs paused now', '1'],
      ['calls scheduled', '1,260'],
      ['calls finished', '1,119'],
      ['finish rate', '88.8%'],
    ]);
    expect(text(acme)).toContain('In this window: 25 jobs created (4 pending, 3 in_progress, 15 completed, 2 failed, 1 paused) · finish rate 90.8% (1,089 of 1,200 calls) · last successful sync 2026-12-06T08:01:00Z (10 min ago)');
    // The day table's footer is the workspace's totals by status.
    expect(tableRows(acme, 0).at(-1)).toEqual(['all days', '4', '3', '15', '2', '0', '1', '25']);
  });

  it('plots finish rates on an axis from a round number below the lowest, says so, and gives n per agent', () => {
    expect(acme).toContain('finish rate, axis from 85%, not 0');
    expect(text(acme)).toContain("The dots' axis runs from 85% to 100%: it does not start at 0.");
    // 89.9% and 95.0% on 85..100%, the workspace's 90.75% drawn through every row.
    expect(acme).toContain('<i class="dot" style="left:32.67%" title="89.9%">');
    expect(acme).toContain('<i class="dot" style="left:66.67%" title="95.0%">');
    expect(acme.match(/<i class="overall" style="left:38.33%"/g)).toHaveLength(2);
    expect(tableRows(acme, 1)).toEqual([
      ['agent', 'finish rate', 'jobs (n)', 'calls finished', 'calls scheduled', 'agent id'],
      ['Priya', '89.9%', '15', '899', '1,000', 'ag_1'],
      ['Omar', '95.0%', '8', '190', '200', 'ag_2'],
      [HOSTILE, 'n/a', '2', '0', '0', 'ag_3'],
    ]);
  });

  it('opens with contents linking to every section, and each section links back', () => {
    const nav = html.slice(html.indexOf('<nav'), html.indexOf('</nav>'));
    const targets = [...nav.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]);
    expect(targets).toEqual(['totals', 'workspaces', 'ws-acme', 'ws-globex-east', 'ws-idle']);
    for (const id of targets) expect(html).toContain(`id="${id}"`);
    expect(nav).toMatch(/<details open><summary>Each workspace's section \(3\)<\/summary>/);
    expect(section(html, 'ws-idle')).toContain('<a class="up" href="#contents">');
    expect(tableRows(html, 1).slice(1).map((row) => row[0])).toEqual(['acme', GLOBEX, 'idle']);
    expect(html).toContain('<th scope="row"><a href="#ws-globex-east">globex, &quot;east&quot;</a></th>');
  });

  it('stays usable with 300 workspaces: their list folds, every one is linked, the page stays a few MB', () => {
    const many: ReportData = {
      ...REPORT_DATA,
      daily: Array.from({ length: 300 }, (_, i) => ({ workspace: `ws${String(i).padStart(3, '0')}`, day: '2026-12-01', status: 'completed', jobs: i + 1 })),
      agents: [],
      freshness: [],
    };
    const page = renderReport(buildReport(many));
    expect(page).toContain("<details><summary>Each workspace's section (300)</summary>");
    const links = [...page.slice(0, page.indexOf('</nav>')).matchAll(/href="#(ws[^"]+)"/g)].map((m) => m[1]);
    expect(new Set(links).size).toBe(300);
    for (const id of links) expect(page).toContain(`<section class="workspace" id="${id}">`);
    expect(page.length).toBeLessThan(5_000_000);
  });

  it('escapes every value from the database', () => {
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/<script/i);
  });

  it('keeps tables in sideways-scrolling boxes and times in one piece, all in one format', () => {
    expect(html.split('<table').length - 1).toBe(html.split('<div class="scroll"><table').length - 1);
    expect(html).toContain('.scroll{overflow-x:auto');
    expect(html).toContain('time{white-space:nowrap}');
    // Every time is a <time> in the one format (formatTime), and an age as formatAge writes it.
    const outside = html.replace(/<time datetime="([^"]+)">\1<\/time>/g, '');
    expect(outside).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
    expect(html).toContain('<time datetime="2026-12-06T08:11:24Z">2026-12-06T08:11:24Z</time>');
    expect(tableRows(html, 1)[3]).toEqual(['idle', '0', '0', '0', 'n/a', '2026-12-01T08:11:24Z', '5 days ago', 'succeeded']);
  });

  it('says so when there is nothing to show', () => {
    const empty = renderReport(buildReport({ ...REPORT_DATA, daily: [], agents: [], freshness: [] }));
    expect(empty).toContain('No workspace has been synced yet.');
    expect(text(empty)).toContain('0 workspaces: 0 jobs created · no calls scheduled');
    expect(section(html, 'ws-idle')).toContain('No jobs created in this window.');
  });
});
