import type { Command } from 'commander';
import { runMigrations } from '../../db/migrate.ts';
import { setup, withDatabase } from '../program.ts';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('create or upgrade the tables (safe to run repeatedly and from several processes)')
    .action(async () => {
      const { config, log } = setup();
      await withDatabase(config, log, async (database) => {
        // The line below says what was applied; the log keeps only what needs attention (waiting on another migrator).
        const { applied, total, reportTimeZone } = await runMigrations(database, {
          lockTimeoutMs: config.pg.migrationLockTimeoutMs,
          log: log.child({}, { level: 'warn' }),
          reportTimeZone: config.reportTimeZone,
        });
        process.stdout.write(applied.length > 0 ? `applied ${applied.length} of ${total} migrations: ${applied.join(', ')}\n` : `database schema up to date (${total} migrations)\n`);
        if (reportTimeZone) process.stdout.write(`reporting time zone: ${reportTimeZone.from} -> ${reportTimeZone.to} (REPORT_TIME_ZONE); daily and monthly views and their indexes rebuilt\n`);
      });
    });
}
