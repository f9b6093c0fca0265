import { registerCheck } from './commands/check.ts';
import { registerDbtSources } from './commands/dbt-sources.ts';
import { registerChanges } from './commands/changes.ts';
import { registerDemo } from './commands/demo.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerReconcile } from './commands/reconcile.ts';
import { registerReport } from './commands/report.ts';
import { registerSimulate } from './commands/simulate.ts';
import { registerStatus } from './commands/status.ts';
import { registerSync } from './commands/sync.ts';
import { registerWorker } from './commands/worker.ts';
import { createProgram, runCli, type RegisterCommand } from './program.ts';

// Every command module is loaded on every run, so each one imports the worker (BullMQ, HTTP, Bull Board, metrics),
// the simulator, the demo and the report only inside its action: a plain `sync` then loads (and holds in memory) a
// third as much code.

/** In the order `--help` lists them. */
const COMMANDS: RegisterCommand[] = [
  registerMigrate,
  registerSync,
  registerReconcile,
  registerWorker,
  registerStatus,
  registerChanges,
  registerCheck,
  registerReport,
  registerDbtSources,
  registerSimulate,
  registerDemo,
];

await runCli(() => {
  const program = createProgram();
  for (const register of COMMANDS) register(program);
  return program;
});
