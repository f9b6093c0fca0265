import { InvalidArgumentError, type Command } from 'commander';
import type { WorkspaceFreshness } from '../../db/freshness/workspace-freshness.ts';
import { formatDuration, parseDuration } from '../../util/duration.ts';
import { formatAge, formatTime } from '../../util/time-format.ts';
import { EXIT_FAILED, setup, withExistingDatabase } from '../program.ts';

interface CheckOptions {
  maxAge?: number;
  maxReconcileAge?: number;
  workspace?: string[];
  json?: boolean;
}

/** What `check` found wrong with one workspace; empty when it is fresh. */
export interface FreshnessVerdict {
  workspace: string;
  problems: string[];
  row: WorkspaceFreshness | undefined;
}

const duration = (name: string) => (value: string) => {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 1000) throw new InvalidArgumentError(`${name} must be a duration such as 15m, 2h or 1d, at least 1s`);
  return ms;
};

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('exit 1 when a workspace\'s copy is older than --max-age, with one line per such workspace (for cron, CI or a dbt pre-hook)')
    .option('--max-age <duration>', 'longest time since the last successful sync (default STALE_AFTER, 3 × SYNC_EVERY)', duration('--max-age'))
    .option('--max-reconcile-age <duration>', 'also fail when the last successful reconciliation (deletions) is older than this, or the newest refused a mass delete', duration('--max-reconcile-age'))
    .option('--workspace <name>', 'only this workspace (repeatable); default: the configured workspaces, else every one recorded', collect)
    .option('--json', 'print the verdict as JSON on stdout')
    .addHelpText(
      'after',
      '\nReads bi_workspace_freshness; needs DATABASE_URL and never starts a Postgres. Exit 0: every workspace fresh (one OK line);\n1: some are not (one line each on stderr); 2: bad configuration or usage. A workspace named or configured that has no run is stale.',
    )
    .action(async (opts: CheckOptions) => {
      const { config, log } = setup();
      const maxAgeMs = opts.maxAge ?? config.health.staleAfterMs;
      const named = opts.workspace ?? config.workspaces.map((w) => w.name);
      await withExistingDatabase(config, log, async (database) => {
        const { workspaceFreshness } = await import('../../db/freshness/workspace-freshness.ts');
        const rows = await workspaceFreshness(database.sql, named.length > 0 ? named : undefined);
        const verdicts = judgeFreshness(rows, named, { maxAgeMs, maxReconcileAgeMs: opts.maxReconcileAge });
        const failing = verdicts.filter((v) => v.problems.length > 0);
        const ok = verdicts.length > 0 && failing.length === 0;
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(freshnessJson(verdicts, ok, maxAgeMs, opts.maxReconcileAge), null, 2)}\n`);
        } else if (verdicts.length === 0) {
          process.stderr.write('no workspace has run yet: nothing to call fresh (run `threetone-sync sync`)\n');
        } else {
          for (const v of failing) process.stderr.write(`${v.workspace}: ${v.problems.join('; ')}\n`);
          if (ok) process.stdout.write(`${okLine(verdicts, maxAgeMs, opts.maxReconcileAge)}\n`);
        }
        if (!ok) process.exitCode = EXIT_FAILED;
      });
    });
}

/**
 * Pure: each workspace of `rows` (and each of `named` that has none) with what is wrong with it. The ages are the
 * view's, measured at the database's clock.
 */
export function judgeFreshness(
  rows: readonly WorkspaceFreshness[],
  named: readonly string[],
  limits: { maxAgeMs: number; maxReconcileAgeMs?: number | undefined },
): FreshnessVerdict[] {
  const byName = new Map(rows.map((r) => [r.workspace, r]));
  const names = [...new Set([...named, ...rows.map((r) => r.workspace)])].sort();
  const max = formatDuration(limits.maxAgeMs);
  return names.map((workspace) => {
    const row = byName.get(workspace);
    const problems: string[] = [];
    if (row === undefined || row.firstRunAt === null) {
      problems.push('stale: no run recorded');
    } else if (row.lastSuccessAt === null) {
      if ((row.ageSeconds ?? 0) * 1000 > limits.maxAgeMs) problems.push(`stale: never succeeded; first run ${formatAge((row.ageSeconds ?? 0) * 1000)} (max age ${max})`);
    } else if ((row.ageSeconds ?? 0) * 1000 > limits.maxAgeMs) {
      problems.push(`stale: last success ${formatTime(row.lastSuccessAt)}, ${formatAge((row.ageSeconds ?? 0) * 1000)} (max age ${max})`);
    }
    if (limits.maxReconcileAgeMs !== undefined && row !== undefined) {
      const maxReconcile = formatDuration(limits.maxReconcileAgeMs);
      if (row.lastReconcileAt === null) problems.push('deletions not current: no reconciliation has succeeded');
      else if ((row.reconcileAgeSeconds ?? 0) * 1000 > limits.maxReconcileAgeMs) {
        problems.push(`deletions not current: last reconciliation ${formatTime(row.lastReconcileAt)}, ${formatAge((row.reconcileAgeSeconds ?? 0) * 1000)} (max ${maxReconcile})`);
      } else if (row.reconcileRefused) problems.push('deletions not current: the newest reconciliation refused a mass delete (see `threetone-sync status`)');
    }
    return { workspace, problems, row };
  });
}

function okLine(verdicts: readonly FreshnessVerdict[], maxAgeMs: number, maxReconcileAgeMs: number | undefined): string {
  const oldest = verdicts.reduce((a, b) => ((b.row?.ageSeconds ?? 0) > (a.row?.ageSeconds ?? 0) ? b : a));
  const n = verdicts.length;
  const reconcile = maxReconcileAgeMs === undefined ? '' : `, deletions current (max ${formatDuration(maxReconcileAgeMs)})`;
  return `ok: ${n} workspace${n === 1 ? '' : 's'} fresh (max age ${formatDuration(maxAgeMs)}${reconcile}); oldest success ${formatAge((oldest.row?.ageSeconds ?? 0) * 1000)} (${oldest.workspace})`;
}

function freshnessJson(verdicts: readonly FreshnessVerdict[], ok: boolean, maxAgeMs: number, maxReconcileAgeMs: number | undefined) {
  const iso = (d: Date | null | undefined) => (d ? formatTime(d) : null);
  return {
    ok,
    checked_at: iso(verdicts[0]?.row?.checkedAt ?? new Date()),
    max_age_seconds: maxAgeMs / 1000,
    max_reconcile_age_seconds: maxReconcileAgeMs === undefined ? null : maxReconcileAgeMs / 1000,
    workspaces: verdicts.map(({ workspace, problems, row }) => ({
      workspace,
      ok: problems.length === 0,
      problems,
      last_success_at: iso(row?.lastSuccessAt),
      age_seconds: row?.ageSeconds ?? null,
      last_complete_walk_at: iso(row?.lastCompleteWalkAt),
      last_reconcile_at: iso(row?.lastReconcileAt),
      reconcile_refused: row?.reconcileRefused ?? false,
      newest_last_updated_at: iso(row?.newestLastUpdatedAt),
      failing_runs: row?.failingRuns ?? 0,
    })),
  };
}
