import type { Command } from 'commander';
import { setup } from '../program.ts';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run the schedules and process sync jobs until SIGTERM/SIGINT (Redis when REDIS_URL is set, else the queue lives in Postgres)')
    .action(async () => {
      const { config, log } = setup();
      const { startWorker } = await import('../../app/worker.ts');
      const { exitOnSignals, exitOnUncaught } = await import('../../app/shutdown.ts');
      exitOnUncaught(log);
      const handle = await startWorker(config, log);
      exitOnSignals(handle.close, log, config.worker.shutdownTimeoutMs);
    });
}
