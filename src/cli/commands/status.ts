import type { Command } from 'commander';
import { latestRuns } from '../../db/runs/latest-runs.ts';
import { runningWalks } from '../../db/runs/running-walks.ts';
import { formatTable } from '../../util/table.ts';
import { integer, setup, withDatabase } from '../program.ts';
import { readable, readableWalk, runLine, STATUS_COLUMNS, WALK_COLUMNS, walkLine } from '../run-rows.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('the last runs of every workspace')
    .option('--json', 'print JSON instead of a table')
    .option('--limit <n>', 'runs per workspace', integer('--limit', 1, 1000), 5)
    .action(async (opts: { json?: boolean; limit: number }) => {
      const { config, log } = setup();
      await withDatabase(config, log, async (database) => {
        const now = new Date();
        const runs = (await latestRuns(database.sql, opts.limit)).map((run) => runLine(run, now));
        const walking = (await runningWalks(database.sql)).map((walk) => walkLine(walk, now, config.pageSize));
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ runs, running: walking }, null, 2)}\n`);
        } else if (runs.length === 0) {
          process.stdout.write('no runs yet: run `threetone-sync sync`\n');
        } else {
          process.stdout.write(`${formatTable(runs.map(readable), STATUS_COLUMNS)}\n`);
          if (walking.length > 0) process.stdout.write(`\nrunning now:\n${formatTable(walking.map(readableWalk), WALK_COLUMNS)}\n`);
        }
      });
    });
}
