import { InvalidArgumentError, Option, type Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { parseDuration } from '../../util/duration.ts';
import { setup, withDatabase } from '../program.ts';

function parseSince(value: string): number {
  const ms = /^\d+(h|d)$/.test(value) ? parseDuration(value) : undefined;
  if (ms === undefined) throw new InvalidArgumentError('must be a number of hours or days, like 12h or 30d');
  return ms;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write a self-contained HTML page with charts: jobs per day by status, finish rate per agent, sync freshness')
    .addOption(new Option('--since <duration>', 'jobs created within this period (e.g. 7d, 30d, 12h)').argParser(parseSince).default(parseDuration('30d'), '30d'))
    .option('--out <file>', 'where to write the page', 'report.html')
    .action(async (opts: { since: number; out: string }) => {
      const { config, log } = setup();
      await withDatabase(config, log, async (database) => {
        const since = new Date(Date.now() - opts.since);
        const { loadReportData } = await import('../../db/report-data.ts');
        const { renderReport } = await import('../../report/render.ts');
        const html = renderReport(await loadReportData(database.sql, since));
        await writeFile(opts.out, html);
        process.stdout.write(`report written to ${opts.out} (${Math.round(html.length / 1024)} KiB)\n`);
      });
    });
}
