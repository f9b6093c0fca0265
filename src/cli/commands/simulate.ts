import { InvalidArgumentError, Option, type Command } from 'commander';
// Types only: the simulator itself is loaded by the action, so that the other commands never load it.
import type { ListOrder as SimulatorOrder } from '../../simulator/index.ts';
import { integer } from '../program.ts';

const fraction = (value: string) => {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be a number from 0 to 1');
  return n;
};

const ORDERS: SimulatorOrder[] = ['created', 'updated'];

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('serve a simulated Threetone API on loopback (for tests, demos and benchmarks)')
    .option('--port <port>', 'port to listen on (0: any free port)', integer('--port', 0, 65535), 4010)
    .option('--host <address>', 'address to listen on (0.0.0.0 inside a container)', '127.0.0.1')
    .option('--items <n>', 'batch calls in the workspace', integer('--items', 0, 5_000_000), 1000)
    .option('--latency <ms>', 'delay before each page', integer('--latency', 0, 600_000), 0)
    .option('--fault-rate <p>', 'share of requests that fail (429, 5xx, resets, hangs, truncated bodies)', fraction, 0)
    .option('--seed <n>', 'random seed', integer('--seed', 0, 2 ** 31), 42)
    .option('--api-key <key>', 'API key the simulator accepts', 'sim-key')
    .option('--rate-limit', 'enforce 100 requests a minute and 1000 an hour per key, like the real API')
    .option('--rate-limit-headers', 'with --rate-limit: also send RateLimit-Limit/-Remaining/-Reset headers')
    .option('--mutate-every <seconds>', 'progress, add and delete a few jobs this often', integer('--mutate-every', 1, 86_400))
    .addOption(new Option('--order <order>', 'list order: created (documented), or updated (a job updated mid-walk jumps to the top and the walk misses it)').choices(ORDERS).default('created' satisfies SimulatorOrder))
    .option('--cursor-ttl-ms <ms>', 'answer 422 "cursor expired" to a last_doc issued longer ago than this', integer('--cursor-ttl-ms', 1, 2 ** 31))
    .action(async (opts: { port: number; host: string; items: number; latency: number; faultRate: number; seed: number; apiKey: string; rateLimit?: boolean; rateLimitHeaders?: boolean; mutateEvery?: number; order: SimulatorOrder; cursorTtlMs?: number }) => {
      const { runSimulatorCli } = await import('../../simulator/index.ts');
      await runSimulatorCli({
        port: opts.port,
        host: opts.host,
        items: opts.items,
        latencyMs: opts.latency,
        faultRate: opts.faultRate,
        seed: opts.seed,
        apiKey: opts.apiKey,
        rateLimit: opts.rateLimit === true,
        rateLimitHeaders: opts.rateLimitHeaders === true,
        mutateEverySeconds: opts.mutateEvery,
        order: opts.order,
        cursorTtlMs: opts.cursorTtlMs,
      });
    });
}
