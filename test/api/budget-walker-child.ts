/**
 * One walker in a process of its own, for budget-processes.test.ts: `node --import tsx` with the budget's
 * environment (REDIS_URL, THREETONE_* limits, QUEUE_PREFIX) plus WALK_BASE_URL, WALK_API_KEY, WALK_PAGE_SIZE and
 * WALK_MODE: `cli` opens the budget the way a CLI sync does (openBudgetForCli), `worker` the way the worker does
 * (openSharedBudgets). Prints `ready`, walks when a line arrives on stdin, then prints one JSON line.
 */
import { createInterface } from 'node:readline';
import { openBudgetForCli, openSharedBudgets } from '../../src/budget/open-budgets.ts';
import { loadConfig } from '../../src/config.ts';
import { walkWithBudget } from './budget-walk.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const config = loadConfig();
const apiKey = env('WALK_API_KEY');
const budgets = env('WALK_MODE') === 'cli' ? await openBudgetForCli(config) : await openSharedBudgets(config, '');
try {
  const lines = createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve) => lines.once('line', () => resolve()));
  process.stdout.write('ready\n');
  await go;
  lines.close();
  const result = await walkWithBudget({ baseUrl: env('WALK_BASE_URL'), apiKey, budget: budgets.forKey(apiKey), pageSize: Number(env('WALK_PAGE_SIZE')) });
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await budgets.close();
}
