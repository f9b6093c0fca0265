import { describe, expect, it } from 'vitest';
import { loadConfig, requireApiKey } from '../src/config.ts';
import { ConfigError } from '../src/errors/ConfigError.ts';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('has working defaults for everything', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      apiKey: undefined,
      baseUrl: 'https://api.threetone.in',
      workspace: 'default',
      pageSize: 500,
      databaseUrl: undefined,
      logLevel: 'info',
      budget: [
        { points: 100, windowMs: 60_000 },
        { points: 1000, windowMs: 3_600_000 },
      ],
    });
  });

  it('names each bad variable on its own line', () => {
    expect(
      problems({ THREETONE_PAGE_SIZE: '501', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', THREETONE_BASE_URL: 'not a url', THREETONE_WORKSPACE: 'a b' }),
    ).toEqual([
      'THREETONE_BASE_URL must be a URL like https://api.threetone.in (got something that does not parse)',
      'THREETONE_WORKSPACE must be 1-64 letters, digits, "_", "." or "-"',
      'THREETONE_PAGE_SIZE must be a whole number from 1 to 500 (got "501")',
      'DATABASE_URL must start with postgres:// or postgresql:// like postgres://user:pass@host:5432/db',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it('trims a trailing slash from the base URL', () => {
    expect(loadConfig({ THREETONE_BASE_URL: 'http://127.0.0.1:4010/' }).baseUrl).toBe('http://127.0.0.1:4010');
  });

  it('requires the API key only where a command needs it', () => {
    expect(() => requireApiKey(loadConfig({}))).toThrow('THREETONE_API_KEY is not set');
    expect(requireApiKey(loadConfig({ THREETONE_API_KEY: 'k' }))).toBe('k');
  });
});
