import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/child.ts';
import { seedFleet } from '../helpers/fleet.ts';
import { BACKENDS } from '../helpers/queue.ts';
import { sample, startHttpEnv, type HttpEnv } from './fixture.ts';

/** 300 workspaces as an operator finds them at 3 a.m.: 5 failing, 3 stale, 1 stuck, 291 healthy. */
describe('triage of 300 workspaces', () => {
  let env: HttpEnv;
  let names: Awaited<ReturnType<typeof seedFleet>>;
  beforeAll(async () => {
    env = await startHttpEnv(BACKENDS[0]!);
    names = await seedFleet(env.database.sql, { healthy: 291, failing: 5, stale: 3, stuck: 1 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('puts the summary first, then the nine that need attention, worst first, each with its reason', async () => {
    const response = await fetch(`${env.server.url}/`);
    expect(response.status).toBe(200);
    const html = await response.text();
    // Small whatever the fleet: a summary, nine lines and one page of the table.
    expect(Buffer.byteLength(html)).toBeLessThan(100_000);
    for (const [state, n] of Object.entries({ failing: 5, stuck: 1, stale: 3, warning: 0, running: 0, ok: 291 })) {
      expect(html).toContain(`<strong>${n}</strong> ${state}</a>`);
    }
    expect(html.indexOf('Workspaces by state')).toBeLessThan(html.indexOf('Needs attention (9)'));
    const attention = html.slice(html.indexOf('<ol class="attention">'), html.indexOf('</ol>'));
    const items = [...attention.matchAll(/<span class="badge (\w+)">\w+<\/span><a href="\/workspaces\/([^"]+)">[^<]+<\/a><span class="reason">([^<]+)<\/span>/g)].map((m) => ({ state: m[1], workspace: m[2], reason: m[3] }));
    // Failing longest first (the last failing one has failed 6 runs, the first 2), then the stuck one, then the stalest first.
    expect(items.map((i) => i.workspace)).toEqual([...[...names.failing].reverse(), ...names.stuck, ...[...names.stale].reverse()]);
    expect(items.map((i) => i.state)).toEqual(['failing', 'failing', 'failing', 'failing', 'failing', 'stuck', 'stale', 'stale', 'stale']);
    expect(items[0]!.reason).toMatch(/^failing since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(25 min ago\), 6 runs: API key rejected \(401 Unauthorized\); check THREETONE_WORKSPACES\[&quot;cust-\d+&quot;\]$/);
    expect(items[5]!.reason).toMatch(/^stuck: run \d+ \(full\) is marked running but its process is gone \(no worker holds the workspace lock\); last progress 38 min ago$/);
    expect(items[8]!.reason).toBe('stale: last success 29 min ago, expected every 5 min');
    expect(items[6]!.reason).toBe('stale: last success 49 min ago, expected every 5 min');
    // The table shows 50 of 300, worst first.
    expect(html).toContain('1–50 of 300');
    expect(html).toContain('<a href="/?page=2">next →</a>');
  });

  it('lists the change feed consumers and how far behind each is', async () => {
    await env.database.sql`SELECT threetone_consumer_create('dbt-nightly', 'beginning')`;
    await env.database.sql`INSERT INTO batch_call_history (workspace, id, name, agent_id, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, agent_name, raw)
      VALUES ('cust-0001', 'job-1', 'n', 'a', 1, 1, 2, 'pending', 'agent', '{}'::jsonb), ('cust-0001', 'job-2', 'n', 'a', 1, 1, 2, 'pending', 'agent', '{}'::jsonb)`;
    const html = await (await fetch(`${env.server.url}/`)).text();
    const consumers = html.slice(html.indexOf('<h2 id="consumers">'), html.indexOf('<h2 id="all">'));
    expect(consumers).toMatch(/<td data-label="Consumer">dbt-nightly<\/td><td data-label="Behind" class="num">2 entries<\/td><td data-label="Oldest unread"><time/);
  });

  it('serves one page per workspace and filters the table by state', async () => {
    const detail = await fetch(`${env.server.url}/workspaces/${names.failing[0]}`);
    expect(detail.status).toBe(200);
    const text = await detail.text();
    expect(text).toContain('<p class="verdict"><span class="badge failing">failing</span> failing since');
    expect(text).toContain('Last 10 runs');
    expect((await fetch(`${env.server.url}/workspaces/nobody-here`)).status).toBe(404);
    const stale = await (await fetch(`${env.server.url}/?state=stale`)).text();
    expect(stale).toContain('1–3 of 3');
  });

  it('exports the same judgment on /metrics, for every workspace', async () => {
    const text = await (await fetch(`${env.server.url}/metrics`)).text();
    expect(sample(text, 'threetone_sync_workspaces', { state: 'failing' })).toBe(5);
    expect(sample(text, 'threetone_sync_workspaces', { state: 'ok' })).toBe(291);
    for (const name of names.stale) expect(sample(text, 'threetone_sync_copy_stale', { workspace: name })).toBe(1);
    expect(sample(text, 'threetone_sync_run_stuck', { workspace: names.stuck[0]! })).toBe(1);
    expect(sample(text, 'threetone_sync_copy_stale', { workspace: names.healthy[0]! })).toBe(0);
  });

  it('prints `status` one line a workspace, worst first, fitting the terminal, with filters', async () => {
    const run = async (...args: string[]) => {
      const child = spawnCli(['status', ...args], { DATABASE_URL: env.database.url, COLUMNS: '100', LOG_LEVEL: 'warn' });
      expect(await child.exited).toBe(0);
      // The workspaces (or one's verdict), up to a blank line: the change feed's consumers or the runs follow.
      const lines = child.output().trimEnd().split('\n');
      return lines.indexOf('') === -1 ? lines : lines.slice(0, lines.indexOf(''));
    };
    const lines = await run();
    expect(lines[0]).toMatch(/^300 workspaces: 5 failing · 1 stuck · 3 stale · 0 warning · 0 running · 291 ok \(as of .+Z\)$/);
    expect(lines[1]).toMatch(/^STATE +WORKSPACE +LAST SUCCESS +WHY$/);
    expect(lines).toHaveLength(302);
    for (const line of lines.slice(1)) expect(line.length).toBeLessThanOrEqual(100);
    expect(lines.slice(2, 11).map((l) => l.split(/\s+/)[0])).toEqual(['failing', 'failing', 'failing', 'failing', 'failing', 'stuck', 'stale', 'stale', 'stale']);
    expect(lines[2]).toMatch(/…$/);

    const failing = await run('--failing');
    expect(failing.slice(2).map((l) => l.split(/\s+/)[1])).toEqual([...names.failing].reverse());
    const verbose = await run('--failing', '--verbose');
    expect(verbose[2]).toContain(`check THREETONE_WORKSPACES["${names.failing.at(-1)}"]`);
    // Stale copies: the three stale ones, and the failing and stuck ones whose last success is old too.
    const stale = (await run('--stale')).slice(2).map((l) => l.split(/\s+/)[1]);
    expect(stale).toEqual(expect.arrayContaining([...names.stale, ...names.stuck]));
    const one = await run('--workspace', names.stuck[0]!);
    expect(one[0]).toMatch(new RegExp(`^${names.stuck[0]}: stuck: run \\d+ \\(full\\) is marked running but its process is gone`));
    for (const line of one) expect(line.length).toBeLessThanOrEqual(100);
    const json = JSON.parse((await run('--json')).join('\n')) as { workspaces: { workspace: string; state: string }[] };
    expect(json.workspaces).toHaveLength(300);
    expect(json.workspaces[0]).toMatchObject({ workspace: names.failing.at(-1), state: 'failing' });
  });

  it('never starts an embedded Postgres for `status`: without DATABASE_URL it says how to set it', async () => {
    const child = spawnCli(['status'], { LOG_LEVEL: 'warn' });
    expect(await child.exited).toBe(2);
    const lines = child.output().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^config: .*DATABASE_URL/);
  });
});
