import { describe, expect, it } from 'vitest';
import { reportCsvFiles } from '../../src/report/csv-files.ts';
import { buildReport } from '../../src/report/model.ts';
import { renderReport } from '../../src/report/render.ts';
import { GLOBEX, HOSTILE, REPORT_DATA } from './fixture.ts';
import { parseCsv, section, tableRows } from './html-text.ts';

const model = buildReport(REPORT_DATA);
const html = renderReport(model);
const files = Object.fromEntries(reportCsvFiles(model).map((f) => [f.file, parseCsv(f.text)]));

/** A number as the page shows it, from the CSV's: thousands separators, a rate as a percentage. */
function shown(csv: string, column: string): string {
  if (csv === '') return column.includes('rate') ? 'n/a' : '';
  if (column.includes('rate')) return `${(Number(csv) * 100).toFixed(1)}%`;
  return /^\d+$/.test(csv) ? Number(csv).toLocaleString('en-US') : csv;
}

describe('the CSV files', () => {
  it('are one per table the page draws, each with a header row', () => {
    expect(Object.keys(files)).toEqual(['totals.csv', 'workspaces.csv', 'jobs-per-day.csv', 'finish-rate-per-agent.csv']);
    expect(files['totals.csv']![0]).toEqual([
      'from', 'to', 'workspaces', 'jobs', 'jobs_pending', 'jobs_in_progress', 'jobs_completed', 'jobs_failed', 'jobs_cancelled', 'jobs_paused', 'calls_scheduled', 'calls_finished', 'finish_rate',
    ]);
    expect(files['workspaces.csv']![0]).toEqual(['workspace', 'jobs', 'calls_scheduled', 'calls_finished', 'finish_rate', 'last_success_at', 'sync_age_seconds', 'last_run_status']);
    expect(files['jobs-per-day.csv']![0]).toEqual(['workspace', 'day', 'partial', 'pending', 'in_progress', 'completed', 'failed', 'cancelled', 'paused', 'total']);
    expect(files['finish-rate-per-agent.csv']![0]).toEqual(['workspace', 'agent_name', 'finish_rate', 'jobs', 'calls_finished', 'calls_scheduled', 'agent_id']);
  });

  it('hold the numbers the page shows, table by table', () => {
    const [header, totals] = files['totals.csv']!;
    expect(totals).toEqual(['2026-11-30T00:00:00Z', '2026-12-06T08:11:24Z', '3', '31', '4', '3', '21', '2', '0', '1', '1260', '1119', '0.8881']);
    expect(tableRows(html, 0).map((row) => row[1])).toEqual(totals!.map((v, i) => shown(v, header![i]!)));

    const [wsHeader, ...workspaces] = files['workspaces.csv']!;
    expect(workspaces).toEqual([
      ['acme', '25', '1200', '1089', '0.9075', '2026-12-06T08:01:00Z', '624', 'succeeded'],
      [GLOBEX, '6', '60', '30', '0.5000', '', '', 'failed'],
      ['idle', '0', '0', '0', '', '2026-12-01T08:11:24Z', '432000', 'succeeded'],
    ]);
    const pageRows = tableRows(html, 1).slice(1);
    // Every column but the age, which the page words ("10 min ago") and the CSV gives in seconds.
    const age = wsHeader!.indexOf('sync_age_seconds');
    expect(pageRows.map((row) => row.filter((_, i) => i !== age))).toEqual(
      workspaces.map((row) => row.map((v, i) => (v === '' && wsHeader![i] === 'last_success_at' ? 'never' : v === '' && wsHeader![i] === 'last_run_status' ? '—' : shown(v, wsHeader![i]!))).filter((_, i) => i !== age)),
    );

    const [dayHeader, ...days] = files['jobs-per-day.csv']!;
    const acmeDays = days.filter((row) => row[0] === 'acme');
    expect(acmeDays).toHaveLength(7);
    expect(acmeDays.at(-1)).toEqual(['acme', '2026-12-06', 'true', '4', '0', '0', '0', '0', '1', '5']);
    expect(days.filter((row) => row[2] === 'true').map((row) => row[1])).toEqual(['2026-12-06', '2026-12-06']);
    // The page's day table: no workspace column, the partial flag said as a mark, a footer of sums.
    expect(tableRows(section(html, 'ws-acme'), 0).slice(1, -1)).toEqual(
      acmeDays.map((row) => [row[1] + (row[2] === 'true' ? 'today, partial' : ''), ...row.slice(3).map((v, i) => shown(v, dayHeader![i + 3]!))]),
    );
    expect(days.some((row) => row[0] === 'idle')).toBe(false);

    const [agentHeader, ...agents] = files['finish-rate-per-agent.csv']!;
    expect(agents).toEqual([
      ['acme', 'Priya', '0.8990', '15', '899', '1000', 'ag_1'],
      ['acme', 'Omar', '0.9500', '8', '190', '200', 'ag_2'],
      ['acme', HOSTILE, '', '2', '0', '0', 'ag_3'],
      [GLOBEX, 'Zoë', '0.5000', '6', '30', '60', 'ag_9'],
    ]);
    expect(tableRows(section(html, 'ws-acme'), 1).slice(1)).toEqual(agents.filter((row) => row[0] === 'acme').map((row) => row.slice(1).map((v, i) => shown(v, agentHeader![i + 1]!))));
  });

  it('write values as they are, quoted by RFC 4180 where needed', () => {
    const text = reportCsvFiles(model).find((f) => f.file === 'workspaces.csv')!.text;
    expect(text).toContain('\r\n"globex, ""east""",6,60,30,0.5000,,,failed\r\n');
  });
});
