import { loadConfig, type Config } from '../../src/config.ts';

/** Config as the CLI would build it, aimed at a simulator, with a budget and timeouts sized for tests. */
export function testConfig(overrides: Partial<Config> & { baseUrl: string }): Config {
  return {
    ...loadConfig({ THREETONE_WORKSPACE: 'test' }),
    timeoutMs: 2_000,
    retryBaseDelayMs: 10,
    budget: [{ points: 1_000_000, windowMs: 60_000 }],
    ...overrides,
  };
}
