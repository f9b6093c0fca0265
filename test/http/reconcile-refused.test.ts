import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/http/metrics.ts';
import type { SyncSummary } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { recordReconcile, REFUSAL } from '../helpers/reconcile-runs.ts';
import { sample, startHttpEnv, type HttpEnv } from './fixture.ts';
import { RunEvents } from '../../src/jobs/run-events.ts';

/** The section of one workspace on the status page. */
function section(html: string, workspace: string): string {
  const start = html.indexOf(`<section class="workspace">\n<h2>${workspace}</h2>`);
  expect(start, `section of ${workspace}`).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</section>', start));
}

describe('a refused reconciliation', () => {
  let env: HttpEnv | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  const scrape = async () => {
    const response = await fetch(`${env!.server.url}/metrics`);
    expect(response.status).toBe(200);
    return response.text();
  };
  const statusPage = async () => {
    const response = await fetch(`${env!.server.url}/`);
    expect(response.status).toBe(200);
    return response.text();
  };

  it('is counted when observed, and reported from Postgres until a reconciliation succeeds', async () => {
    env = await startHttpEnv('postgres');
    const summary = await env.sync();
    // alpha: refused last night, and tonight's attempt met an API outage, which decided nothing.
    await recordReconcile(env, 'alpha', 30, 'succeeded');
    await recordReconcile(env, 'alpha', 6, 'refused');
    await recordReconcile(env, 'alpha', 1, 'api down');
    // beta: refused, then confirmed.
    await recordReconcile(env, 'beta', 30, 'refused');
    await recordReconcile(env, 'beta', 6, 'succeeded');
    const refused: SyncSummary = { ...summary, kind: 'reconcile', status: 'failed', stopReason: 'delete_guard', error: REFUSAL };
    env.events.emit('run:finished', refused);

    const text = await scrape();
    expect(sample(text, 'threetone_sync_reconcile_refused_total', { workspace: 'alpha' })).toBe(1);
    expect(sample(text, 'threetone_sync_reconcile_refused_total', { workspace: 'beta' })).toBeUndefined();
    expect(sample(text, 'threetone_sync_runs_total', { workspace: 'alpha', kind: 'reconcile', outcome: 'failed' })).toBe(1);
    expect(sample(text, 'threetone_sync_reconcile_refused', { workspace: 'alpha' })).toBe(1);
    expect(sample(text, 'threetone_sync_reconcile_refused', { workspace: 'beta' })).toBe(0);
    expect(text).toContain('# TYPE threetone_sync_reconcile_refused gauge');
    expect(text).toContain('# TYPE threetone_sync_reconcile_refused_total counter');

    // A process that ran nothing itself (a restart) still raises the alert.
    const restarted = await createMetrics({ database: env.database, queue: env.queue, log: silentLogger, events: new RunEvents() }).registry.metrics();
    expect(sample(restarted, 'threetone_sync_reconcile_refused', { workspace: 'alpha' })).toBe(1);
    expect(sample(restarted, 'threetone_sync_reconcile_refused_total', { workspace: 'alpha' })).toBeUndefined();

    // `reconcile --allow-mass-delete` succeeded: the alert clears, the counter keeps its history.
    await recordReconcile(env, 'alpha', 0, 'succeeded');
    const after = await scrape();
    expect(sample(after, 'threetone_sync_reconcile_refused', { workspace: 'alpha' })).toBe(0);
    expect(sample(after, 'threetone_sync_reconcile_refused_total', { workspace: 'alpha' })).toBe(1);
  });

  it('puts a warning with the escaped error text above the runs of its workspace on the status page', async () => {
    env = await startHttpEnv('postgres');
    await env.sync();
    await recordReconcile(env, 'alpha', 2, 'refused');
    await recordReconcile(env, 'beta', 30, 'refused');
    await recordReconcile(env, 'beta', 6, 'succeeded');
    const hostile = `reconciliation refused: <script>document.title="pwned"</script> & 'more'`;
    await recordReconcile(env, '<b>gamma</b>', 1, 'refused', hostile);

    const html = await statusPage();
    const alpha = section(html, 'alpha');
    const warning = /<p class="warning" role="alert">(.*?)<\/p>/s.exec(alpha);
    expect(warning?.[1]).toContain(
      'reconciliation refused: it would mark 812 of 1000 live jobs deleted (81%, limit 25%); run &quot;threetone-sync reconcile --allow-mass-delete&quot; to confirm',
    );
    expect(warning?.[1]).toMatch(/^<strong>Action needed:<\/strong> the reconciliation that finished <time datetime="[^"]+">/);
    // Above the runs, where it is seen first.
    expect(alpha.indexOf('class="warning"')).toBeLessThan(alpha.indexOf('<div class="runs">'));
    expect(alpha.indexOf('class="warning"')).toBeLessThan(alpha.indexOf('Last successful sync'));

    expect(section(html, 'beta')).not.toContain('class="warning"');
    const gamma = section(html, '&lt;b&gt;gamma&lt;/b&gt;');
    expect(gamma).toContain(
      'reconciliation refused: &lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt; &amp; &#39;more&#39;',
    );
    expect(html).not.toContain('<script');
    expect(html.match(/class="warning"/g)).toHaveLength(2);
  });
});
