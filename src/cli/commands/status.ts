import type { Command } from 'commander';
import { workspaceRuns } from '../../db/runs/latest-runs.ts';
import { runningWalks } from '../../db/runs/running-walks.ts';
import { consumerLags } from '../../db/feed/consumer-lag.ts';
import { consumerJson, consumerLines } from '../../feed/lag.ts';
import type { WorkspaceHealth } from '../../health/judge.ts';
import { loadHealth } from '../../health/load-health.ts';
import { formatTable } from '../../util/table.ts';
import { fitLine, healthJson, healthLines, summaryLine, verdictLine, wrapText } from '../health-lines.ts';
import { integer, setup, withExistingDatabase } from '../program.ts';
import { readable, readableWalk, runLine, WALK_COLUMNS, walkLine } from '../run-rows.ts';

/** A workspace's runs in a terminal: what tells one run from another; `--json` has every column. */
const RUN_COLUMNS = ['run_id', 'kind', 'status', 'started_at', 'duration', 'items_seen', 'versions_added', 'error'];

interface StatusOptions {
  json?: boolean;
  verbose?: boolean;
  workspace?: string;
  failing?: boolean;
  stale?: boolean;
  stuck?: boolean;
  limit: number;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('how every workspace is doing, worst first: failing, stuck, stale, warning, running, ok')
    .option('--workspace <name>', 'only this workspace, with its last runs and the walk in progress')
    .option('--failing', 'only workspaces whose runs are failing')
    .option('--stale', 'only workspaces whose copy is stale (STALE_AFTER, default 3 × SYNC_EVERY)')
    .option('--stuck', 'only workspaces with a stuck run (STUCK_AFTER, default 15m)')
    .option('--verbose', 'do not cut lines to the terminal width')
    .option('--json', 'print JSON instead of lines')
    .option('--limit <n>', 'runs shown with --workspace', integer('--limit', 1, 1000), 10)
    .addHelpText('after', '\nFilters add up: --failing --stale lists workspaces that are either. Exit code 0 whatever the states (see `check` for cron).')
    .action(async (opts: StatusOptions) => {
      const { config, log } = setup();
      await withExistingDatabase(config, log, async (database) => {
        const now = new Date();
        const all = await loadHealth(database.sql, config.health, now, opts.workspace);
        const shown = all.filter(filterOf(opts));
        if (opts.workspace !== undefined) {
          if (all.length === 0) {
            process.stderr.write(`no run of workspace "${opts.workspace}" is recorded: is the name right? (\`threetone-sync status\` lists them all)\n`);
            process.exitCode = 1;
            return;
          }
          const runs = (await workspaceRuns(database.sql, opts.workspace, opts.limit)).map((run) => runLine(run, now));
          const walking = (await runningWalks(database.sql, opts.workspace)).map((walk) => walkLine(walk, now, config.pageSize));
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ ...healthJson(all[0]!), runs, walking }, null, 2)}\n`);
            return;
          }
          const width = terminalWidth();
          const fit = (text: string) => text.split('\n').map((line) => fitLine(line, width, opts.verbose)).join('\n');
          process.stdout.write(`${opts.verbose ? verdictLine(all[0]!) : wrapText(verdictLine(all[0]!), width)}\n\n`);
          process.stdout.write(`${fit(formatTable(runs.map(readable), RUN_COLUMNS))}\n`);
          if (walking.length > 0) process.stdout.write(`\nrunning now:\n${fit(formatTable(walking.map(readableWalk), WALK_COLUMNS))}\n`);
          return;
        }
        // The change feed's consumers and how far behind each is (src/db/feed/).
        const consumers = await consumerLags(database.sql);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ as_of: now.toISOString(), workspaces: shown.map(healthJson), consumers: consumers.map((c) => consumerJson(c, now)) }, null, 2)}\n`);
          return;
        }
        if (all.length === 0) {
          process.stdout.write('no runs yet: run `threetone-sync sync`\n');
        } else {
          process.stdout.write(`${summaryLine(all, now)}\n`);
          if (shown.length === 0) process.stdout.write('no workspace matches\n');
          else process.stdout.write(`${healthLines(shown, now, terminalWidth(), opts.verbose).join('\n')}\n`);
        }
        if (consumers.length > 0) process.stdout.write(`\n${consumerLines(consumers, now).join('\n')}\n`);
      });
    });
}

/** The terminal's width; piped, COLUMNS or 100. */
function terminalWidth(): number {
  return process.stdout.columns || Number(process.env.COLUMNS) || 100;
}

function filterOf(opts: StatusOptions): (h: WorkspaceHealth) => boolean {
  const wanted = [opts.failing && ((h: WorkspaceHealth) => h.facts.failing !== null), opts.stale && ((h: WorkspaceHealth) => h.stale), opts.stuck && ((h: WorkspaceHealth) => h.stuck)].filter(
    (f): f is (h: WorkspaceHealth) => boolean => typeof f === 'function',
  );
  return wanted.length === 0 ? () => true : (h) => wanted.some((f) => f(h));
}
