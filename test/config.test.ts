import { describe, expect, it } from 'vitest';
import { findWorkspace, loadConfig, requireWorkspaces } from '../src/config.ts';
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

  it('requires a workspace only where a command needs one', () => {
    expect(() => requireWorkspaces(loadConfig({}))).toThrow('no workspace to sync: set THREETONE_API_KEY');
    expect(requireWorkspaces(loadConfig({ THREETONE_API_KEY: 'k' }))).toEqual([{ name: 'default', apiKey: 'k' }]);
  });

  it('reads several workspaces, each with its own key', () => {
    const config = loadConfig({ THREETONE_WORKSPACES: '{"acme":"k1","globex":"k2"}', THREETONE_API_KEY: 'ignored' });
    expect(config.workspaces).toEqual([
      { name: 'acme', apiKey: 'k1' },
      { name: 'globex', apiKey: 'k2' },
    ]);
    expect(findWorkspace(config, 'globex').apiKey).toBe('k2');
    expect(() => findWorkspace(config, 'initech')).toThrow('workspace "initech" is not configured (configured: acme, globex)');
  });

  it('explains bad worker settings', () => {
    expect(problems({ THREETONE_WORKSPACES: '{"a b":"k"}', SYNC_EVERY: '5 minutes', RECONCILE_CRON: '61 3 * * *', RECONCILE_TZ: 'Mars/Olympus' })).toEqual([
      'THREETONE_WORKSPACES must be a JSON object mapping workspace names to API keys, like {"acme":"<key>"} (workspace name "a b" must be 1-64 letters, digits, "_", "." or "-")',
      'SYNC_EVERY must be a duration such as 30s, 5m or 1h, at least 1s (got "5 minutes")',
      'RECONCILE_CRON must be a cron pattern such as "0 3 * * *" (Constraint error, got value 61 expected range 0-59)',
      'RECONCILE_TZ must be an IANA time zone such as UTC or Europe/Berlin (got "Mars/Olympus")',
    ]);
    expect(problems({ THREETONE_WORKSPACES: 'acme=k1' })).toEqual([
      'THREETONE_WORKSPACES must be a JSON object mapping workspace names to API keys, like {"acme":"<key>"} (it is not valid JSON)',
    ]);
    expect(loadConfig({ SYNC_EVERY: '30s' }).worker.syncEveryMs).toBe(30_000);
    expect(loadConfig({}).worker).toMatchObject({ syncEveryMs: 300_000, reconcileCron: '0 3 * * *', reconcileTz: 'UTC', concurrency: 4 });
  });
});
