import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startHttpEnv, type HttpEnv } from '../http/fixture.ts';

const root = new URL('../../', import.meta.url);

/** Series Prometheus makes itself, not the worker. */
const PROMETHEUS_SERIES = ['up'];

function dashboardQueries(): string[] {
  const dashboard = JSON.parse(readFileSync(new URL('deploy/grafana/dashboards/threetone-sync.json', root), 'utf8')) as {
    panels: { targets?: { expr: string }[] }[];
    templating: { list: { query?: { query: string } }[] };
  };
  return [...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...dashboard.templating.list.flatMap((v) => (v.query ? [v.query.query] : []))];
}

function alertExpressions(): string[] {
  const rules = parse(readFileSync(new URL('deploy/prometheus/alerts.yml', root), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  return rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

/** Metric names in PromQL: identifiers followed by a selector, a range, or the end of an argument, that are not functions, keywords or labels. */
function metricNames(expressions: string[]): Set<string> {
  const names = new Set<string>();
  for (const expr of expressions) {
    // Grafana's label_values(metric, label): only the metric is one.
    const grafana = expr.replace(/label_values\(([^,)]+),[^)]*\)/g, '$1');
    const withoutVariables = grafana.replace(/\$\w+/g, '');
    const withoutStrings = withoutVariables.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    const withoutGroupings = withoutStrings.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
    const withoutMatchers = withoutGroupings.replace(/\{[^}]*\}/g, '{}');
    for (const [, name] of withoutMatchers.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
      if (/^(?:and|or|unless|bool|offset|le|inf|nan)$/i.test(name!) || /^\d/.test(name!)) continue;
      names.add(name!);
    }
  }
  return names;
}

/** Every series name a scrape can hold: histogram and summary metrics as their _bucket/_sum/_count series. */
function exportedSeries(text: string): Set<string> {
  const series = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    series.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) series.add(name! + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) series.add(name! + suffix);
  }
  return series;
}

describe('metric names in the dashboard and the alert rules', () => {
  let env: HttpEnv | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  it('are all exported by the worker', async () => {
    env = await startHttpEnv('postgres');
    await env.sync();
    const response = await fetch(`${env.server.url}/metrics`);
    expect(response.status).toBe(200);
    const exported = exportedSeries(await response.text());
    expect(exported.size).toBeGreaterThan(20);

    const used = metricNames([...dashboardQueries(), ...alertExpressions()]);
    // The parser finds what it should: a few names known to be there.
    expect(used).toContain('threetone_sync_runs_total');
    expect(used).toContain('threetone_sync_run_duration_seconds_bucket');
    expect(used).toContain('threetone_queue_jobs');
    expect(used).not.toContain('workspace');

    const missing = [...used].filter((name) => !exported.has(name) && !PROMETHEUS_SERIES.includes(name));
    expect(missing).toEqual([]);
  });
});
