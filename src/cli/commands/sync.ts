import type { Command } from 'commander';
import { findWorkspace, requireWorkspaces } from '../../config.ts';
import { runHere } from '../run-here.ts';
import { finish, setup, withDatabase } from '../program.ts';

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('walk every page of each workspace now, in this process, and store it (exit 0 on success)')
    .option('--workspace <name>', 'only this workspace (default: every configured one)')
    .option('--incremental', 'stop once caught up: every non-final job seen again and INCREMENTAL_QUIET_PAGES pages without changes')
    .option('--enqueue', 'do not sync here: add a one-off job for a running worker to pick up (incremental unless --full)')
    .option('--full', 'with --enqueue: ask for a walk of every page')
    .action(async (opts: { workspace?: string; incremental?: boolean; enqueue?: boolean; full?: boolean }) => {
      const { config, log } = setup({ progress: true });
      const workspaces = opts.workspace ? [findWorkspace(config, opts.workspace)] : requireWorkspaces(config);
      await withDatabase(config, log, async (database) => {
        if (opts.enqueue) {
          const { openQueueStore } = await import('../../jobs/queue.ts');
          const { enqueueRun } = await import('../../jobs/schedules.ts');
          const store = openQueueStore(config, database.url);
          const queue = store.openQueue();
          try {
            for (const { name } of workspaces) {
              const { jobId } = await enqueueRun(queue, config, { workspace: name, kind: opts.full === true ? 'full' : 'incremental', trigger: 'manual' });
              process.stdout.write(`queued sync of "${name}" as job ${jobId} (${store.kind}); a running worker will pick it up\n`);
            }
          } finally {
            await queue.close();
            await store.close();
          }
          return;
        }
        finish(await runHere(config, log, database, workspaces, { kind: opts.incremental ? 'incremental' : 'full' }));
      });
    });
}
