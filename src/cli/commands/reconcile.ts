import type { Command } from 'commander';
import { findWorkspace, requireWorkspaces } from '../../config.ts';
import { formatTable } from '../../util/table.ts';
import { runHere } from '../run-here.ts';
import { finish, setup, withDatabase } from '../program.ts';

export function registerReconcile(program: Command): void {
  program
    .command('reconcile')
    .description('walk every page, then mark jobs the API no longer lists as deleted (and undelete ones that came back)')
    .option('--workspace <name>', 'only this workspace (default: every configured one)')
    .option('--allow-mass-delete', 'confirm, for this run only, marking more than RECONCILE_MAX_DELETE_RATIO of the live jobs deleted (or all of them, if the API lists none)')
    .action(async (opts: { workspace?: string; allowMassDelete?: boolean }) => {
      const { config, log } = setup({ progress: true });
      const workspaces = opts.workspace ? [findWorkspace(config, opts.workspace)] : requireWorkspaces(config);
      await withDatabase(config, log, async (database) => {
        const result = await runHere(config, log, database, workspaces, { kind: 'reconcile', allowMassDelete: opts.allowMassDelete === true });
        const reconciled = result.summaries.filter((s) => s.reconcile);
        finish(result);
        if (reconciled.length > 0) {
          process.stdout.write(
            `\n${formatTable(
              reconciled.map(({ workspace, reconcile: r }) => ({
                workspace,
                api_count: r!.apiCount,
                stored_count: r!.storedCount,
                drift: r!.storedCount - r!.apiCount,
                deleted: r!.deleted,
                undeleted: r!.undeleted,
              })),
              ['workspace', 'api_count', 'stored_count', 'drift', 'deleted', 'undeleted'],
            )}\n`,
          );
        }
      });
    });
}
