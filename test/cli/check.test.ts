import { describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/child.ts';
import { useTestDatabase } from '../helpers/use.ts';

/** `threetone-sync check` (issue 21, item 5): the real CLI against a real database, as cron or a dbt pre-hook runs it. */
const database = useTestDatabase();

async function check(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const child = spawnCli(['check', ...args], { DATABASE_URL: database.url, LOG_LEVEL: 'warn', ...env });
  const code = await child.exited;
  return { code, output: child.output() };
}

const succeeded = (workspace: string, kind: string, endedAgo: string) => database.sql`
  insert into sync_runs (workspace, kind, status, stop_reason, started_at, finished_at)
  values (${workspace}, ${kind}, 'succeeded', ${kind === 'incremental' ? 'caught_up' : 'end'}, now() - ${endedAgo}::interval - interval '1 minute', now() - ${endedAgo}::interval)`;

describe('threetone-sync check', () => {
  it('passes with one OK line when every workspace succeeded within --max-age, and fails with one line per stale workspace', async () => {
    await succeeded('fresh', 'incremental', '2 minutes');
    let result = await check(['--max-age', '15m']);
    expect(result).toEqual({ code: 0, output: 'ok: 1 workspace fresh (max age 15m); oldest success 2 min ago (fresh)\n' });

    await succeeded('stale', 'full', '2 hours');
    await database.sql`insert into sync_runs (workspace, kind, status, started_at, finished_at, error) values ('stale', 'incremental', 'failed', now() - interval '1 minute', now(), 'boom')`;
    await database.sql`insert into sync_runs (workspace, kind, status, started_at) values ('never', 'full', 'running', now() - interval '1 hour')`;
    result = await check(['--max-age', '15m']);
    expect(result.code).toBe(1);
    const lines = result.output.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^never: stale: never succeeded; first run 1 h \d+ min ago \(max age 15m\)$/);
    expect(lines[1]).toMatch(/^stale: stale: last success \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, 2 h \d+ min ago \(max age 15m\)$/);

    // One workspace: the others do not matter; a longer --max-age passes the stale one.
    expect(await check(['--max-age', '15m', '--workspace', 'fresh'])).toMatchObject({ code: 0 });
    expect((await check(['--max-age', '3h', '--workspace', 'stale'])).code).toBe(0);
    // A workspace named that has no run is stale: cron must not pass on a typo.
    expect(await check(['--workspace', 'frsh'])).toEqual({ code: 1, output: 'frsh: stale: no run recorded\n' });
  });

  it('--max-reconcile-age also asks that deletions be current; --json gives the verdict and the facts', async () => {
    await succeeded('acme', 'incremental', '1 minute');
    await succeeded('acme', 'reconcile', '30 hours');
    expect((await check(['--max-age', '15m', '--max-reconcile-age', '2d'])).code).toBe(0);
    const late = await check(['--max-age', '15m', '--max-reconcile-age', '26h']);
    expect(late.code).toBe(1);
    expect(late.output).toMatch(/^acme: deletions not current: last reconciliation \S+Z, 30 h \d+ min ago \(max 26h\)\n$/);

    const json = await check(['--max-age', '15m', '--max-reconcile-age', '26h', '--json']);
    expect(json.code).toBe(1);
    const verdict = JSON.parse(json.output) as { ok: boolean; max_age_seconds: number; workspaces: Record<string, unknown>[] };
    expect(verdict).toMatchObject({ ok: false, max_age_seconds: 900, max_reconcile_age_seconds: 93_600 });
    expect(verdict.workspaces).toHaveLength(1);
    expect(verdict.workspaces[0]).toMatchObject({ workspace: 'acme', ok: false, reconcile_refused: false, failing_runs: 0 });
    expect(verdict.workspaces[0]!.age_seconds).toBeGreaterThanOrEqual(60);
    expect(verdict.workspaces[0]!.last_complete_walk_at).toBe(verdict.workspaces[0]!.last_reconcile_at);
  });

  it('defaults --max-age to STALE_AFTER, fails when nothing has run, and never starts a Postgres of its own', async () => {
    expect(await check([])).toEqual({ code: 1, output: 'no workspace has run yet: nothing to call fresh (run `threetone-sync sync`)\n' });
    await succeeded('acme', 'incremental', '20 minutes');
    // SYNC_EVERY 5m: stale after 15 min.
    expect((await check([])).code).toBe(1);
    expect((await check([], { STALE_AFTER: '1h' })).code).toBe(0);
    expect((await check([], { SYNC_EVERY: '10m' })).output).toMatch(/^ok: 1 workspace fresh \(max age 30m\)/);
    const child = spawnCli(['check'], { LOG_LEVEL: 'warn' });
    expect(await child.exited).toBe(2);
    expect(child.output()).toMatch(/^config: DATABASE_URL is not set: this command reads the tables a sync filled and never starts a Postgres of its own/);
    expect(await check(['--max-age', 'soon'])).toMatchObject({ code: 2 });
  });
});
