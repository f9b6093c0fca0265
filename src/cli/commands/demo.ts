import { Option, type Command } from 'commander';
import { integer, setup } from '../program.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the whole pipeline against the bundled simulator: into DATABASE_URL, or an embedded Postgres under .data/')
    .addOption(new Option('--items <n>', 'batch calls in the simulated workspace').argParser(integer('--items', 1, 1_000_000)).default(5000))
    .action(async (opts: { items: number }) => {
      const { config, log } = setup();
      const { runDemo } = await import('../../app/demo.ts');
      await runDemo({ config, log, items: opts.items, out: process.stdout });
    });
}
