import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/http/metrics.ts';
import type { SyncSummary } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { recordReconcile, REFUSAL } from '../helpers/reconcile-runs.ts';
import { sample, startHttpEnv, type HttpEnv } from './fixture.ts';
import { RunEvents } from '../../src/jobs/run-events.ts';

/** The section of one workspace on the status page. */
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
  const workspacePage = async (name: string) => {
    const response = await fetch(`${env!.server.url}/workspaces/${encodeURIComponent(name)}`);
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

    // The overview lists both refused workspaces as needing attention, with the refusal as their reason.
    const overview = await statusPage();
    const attention = overview.slice(overview.indexOf('<ol class="attention">'), overview.indexOf('</ol>'));
    expect(attention).toContain('<span class="badge warning">warning</span><a href="/workspaces/alpha">alpha</a><span class="reason">reconciliation refused a mass delete at ');
    expect(attention).toContain('reconciliation refused: &lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt; &amp; &#39;more&#39;');
    // beta's refusal was confirmed since: whatever else it is, it is not refused.
    expect(attention).not.toMatch(/<a href="\/workspaces\/beta">beta<\/a><span class="reason">reconciliation refused/);
    expect(overview).not.toContain('<script');

    const alpha = await workspacePage('alpha');
    const warning = /<p class="warning-box" role="alert">(.*?)<\/p>/s.exec(alpha);
    expect(warning?.[1]).toContain(
      'reconciliation refused: it would mark 812 of 1000 live jobs deleted (81%, limit 25%); run &quot;threetone-sync reconcile --allow-mass-delete&quot; to confirm',
    );
    expect(warning?.[1]).toMatch(/^<strong>Action needed:<\/strong> the reconciliation that finished <time datetime="[^"]+">/);
    // Above the runs, where it is seen first.
    expect(alpha.indexOf('class="warning-box"')).toBeLessThan(alpha.indexOf('<table class="cards runs">'));
    expect(alpha.indexOf('class="warning-box"')).toBeLessThan(alpha.indexOf('Last successful sync'));

    expect(await workspacePage('beta')).not.toContain('class="warning-box"');
    const gamma = await workspacePage('<b>gamma</b>');
    expect(gamma).toContain(
      'reconciliation refused: &lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt; &amp; &#39;more&#39;',
    );
    expect(gamma).not.toContain('<script');
  });
});
