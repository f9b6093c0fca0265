import type { ListOrder } from './dataset.ts';
import { startSimulator, type Simulator } from './server.ts';

export { startSimulator, ENDPOINT } from './server.ts';
export type { RateLimits, Simulator, SimulatorOptions, SimulatorStats } from './server.ts';
export type { FaultKind, CursorSabotageKind } from './faults.ts';
export { ALL_FAULT_KINDS } from './faults.ts';
export type { DriftOptions, ListOrder, MutationResult, MutationSpec } from './dataset.ts';

export interface SimulatorCliOptions {
  port: number;
  host?: string;
  items: number;
  latencyMs?: number;
  faultRate?: number;
  seed?: number;
  apiKey?: string;
  /** Turns on CLI_RATE_LIMIT. */
  rateLimit?: boolean;
  /** With `rateLimit`: also send RateLimit-* headers. */
  rateLimitHeaders?: boolean;
  mutateEverySeconds?: number;
  /** See SimulatorOptions.order; default 'created'. */
  order?: ListOrder;
  /** See SimulatorOptions.cursorTtlMs; default: cursors never expire. */
  cursorTtlMs?: number;
}

/** Limits used by `rateLimit: true`: Threetone's documented 100 requests a minute and 1,000 an hour per key. */
export const CLI_RATE_LIMIT = { perMinute: 100, perHour: 1000 } as const;

/**
 * Runs the simulator as a long-lived process: prints one line to stdout,
 * optionally keeps the workspace changing, and shuts down on SIGINT/SIGTERM.
 * Resolves once listening, with the running simulator.
 */
export async function runSimulatorCli(opts: SimulatorCliOptions): Promise<Simulator> {
  const apiKey = opts.apiKey ?? 'sim-key';
  const simulator = await startSimulator({
    port: opts.port,
    host: opts.host,
    items: opts.items,
    latencyMs: opts.latencyMs ?? 0,
    faultRate: opts.faultRate ?? 0,
    seed: opts.seed ?? 42,
    apiKeys: [apiKey],
    rateLimit: opts.rateLimit ? { ...CLI_RATE_LIMIT, headers: opts.rateLimitHeaders === true } : null,
    order: opts.order,
    cursorTtlMs: opts.cursorTtlMs,
  });
  let line = `simulator listening on ${simulator.url} (items=${opts.items}, api key: ${apiKey}`;
  if (opts.order === 'updated') line += ', order: updated';
  if (opts.cursorTtlMs !== undefined) line += `, cursor ttl: ${opts.cursorTtlMs} ms`;
  process.stdout.write(`${line})\n`);

  const every = opts.mutateEverySeconds ?? 0;
  const ticker = every > 0 ? setInterval(() => simulator.mutate({ progress: 5, create: 2, delete: 1 }), every * 1000) : null;

  const shutdown = (): void => {
    if (ticker) clearInterval(ticker);
    process.off('SIGINT', shutdown);
    process.off('SIGTERM', shutdown);
    void simulator.close();
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  return simulator;
}
