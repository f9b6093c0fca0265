import { loadConfig, type Config } from '../../src/config.ts';

/** Config as the CLI would build it, aimed at a simulator, with a budget and timeouts sized for tests. */
export function testConfig(overrides: Partial<Config> & { baseUrl: string }): Config {
  return {
    ...loadConfig({ THREETONE_WORKSPACE: 'test' }),
    timeoutMs: 2_000,
    retryBaseDelayMs: 10,
    // Tests that want the HTTP endpoint start it themselves on a random port.
    http: { port: 0, host: '127.0.0.1', board: undefined },
    budget: [{ points: 1_000_000, windowMs: 60_000 }],
    ...overrides,
  };
}
