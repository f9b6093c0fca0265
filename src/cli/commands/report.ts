import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../../util/duration.ts';
import { setup, withExistingDatabase } from '../program.ts';

/** Ten years: further back than any job, and a window a Date can still hold. */
const MAX_SINCE_DAYS = 3650;

export function parseSince(value: string): number {
  const ms = /^\d+(h|d)$/.test(value) ? parseDuration(value) : undefined;
  if (ms === undefined) throw new InvalidArgumentError('must be a number of hours or days, like 12h or 30d');
  if (ms === 0) throw new InvalidArgumentError(`must be at least 1h or 1d, like 12h or 30d`);
  if (ms > MAX_SINCE_DAYS * 86_400_000) throw new InvalidArgumentError(`must be at most ${MAX_SINCE_DAYS}d`);
  return ms;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write a self-contained HTML page with charts and tables: totals, jobs per day by status, finish rate per agent, sync freshness')
    .addOption(
      new Option('--since <duration>', 'jobs created within this period, in whole UTC days up to now (e.g. 7d, 30d, 12h)').argParser(parseSince).default(parseDuration('30d'), '30d'),
    )
    .option('--out <file>', 'where to write the page; its folder must exist', 'report.html')
    .option('--csv-dir <dir>', 'also write every table of the page as a CSV file (RFC 4180, a header row) into this folder, made if missing')
    .action(async (opts: { since: number; out: string; csvDir?: string }) => {
      const { config, log } = setup();
      const { whyNotWritableCsvDir, whyNotWritableFile, writeCsvFiles } = await import('../../report/output-files.ts');
      // Before any query: a mistyped path should cost a second, not the report's reads.
      const problem = (await whyNotWritableFile(opts.out)) ?? (opts.csvDir === undefined ? null : await whyNotWritableCsvDir(opts.csvDir));
      if (problem !== null) throw new Error(problem);
      await withExistingDatabase(config, log, async (database) => {
        const { loadReportData } = await import('../../db/report-data.ts');
        const { windowStart } = await import('../../report/days.ts');
        const { buildReport } = await import('../../report/model.ts');
        const { renderReport } = await import('../../report/render.ts');
        const { reportCsvFiles } = await import('../../report/csv-files.ts');
        const { writeFile } = await import('node:fs/promises');
        const model = buildReport(await loadReportData(database.sql, windowStart(new Date(), opts.since)));
        const html = renderReport(model);
        await writeFile(opts.out, html).catch((error: Error) => {
          throw new Error(`cannot write the report to ${opts.out}: ${error.message}`);
        });
        const { totals } = model;
        process.stdout.write(`report written to ${opts.out} (${Math.round(html.length / 1024)} KiB): ${totals.workspaces} workspaces, ${totals.jobs} jobs created since ${model.from.toISOString().slice(0, 10)}\n`);
        if (opts.csvDir !== undefined) {
          const dir = opts.csvDir;
          const written = await writeCsvFiles(dir, reportCsvFiles(model)).catch((error: Error) => {
            throw new Error(`cannot write the CSV files to ${dir}: ${error.message}`);
          });
          process.stdout.write(`CSV files written: ${written.join(', ')}\n`);
        }
      });
    });
}
