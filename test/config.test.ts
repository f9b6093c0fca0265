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
    expect(requireWorkspaces(loadConfig({ THREETONE_API_KEY: 'k' }))).toEqual([{ name: 'default', apiKey: 'k', keySource: 'THREETONE_API_KEY' }]);
  });

  it('reads several workspaces, each with its own key and the entry it came from', () => {
    const config = loadConfig({ THREETONE_WORKSPACES: '{"acme":"k1","cust-007":"k2"}', THREETONE_API_KEY: 'ignored' });
    expect(config.workspaces).toEqual([
      { name: 'acme', apiKey: 'k1', keySource: 'THREETONE_WORKSPACES["acme"]' },
      { name: 'cust-007', apiKey: 'k2', keySource: 'THREETONE_WORKSPACES["cust-007"]' },
    ]);
    expect(findWorkspace(config, 'cust-007').apiKey).toBe('k2');
  });

  it('says which setting lacks a workspace asked for by name', () => {
    const unknown = (env: Record<string, string>) => {
      try {
        findWorkspace(loadConfig(env), 'initech');
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      throw new Error('initech was found');
    };
    // THREETONE_API_KEY cannot help while THREETONE_WORKSPACES is set: the message says so instead of pointing there.
    expect(unknown({ THREETONE_WORKSPACES: '{"acme":"k1","globex":"k2"}', THREETONE_API_KEY: 'k' })).toEqual([
      'workspace "initech" is not in THREETONE_WORKSPACES (it has "acme", "globex"); THREETONE_API_KEY is ignored while THREETONE_WORKSPACES is set',
    ]);
    expect(unknown({ THREETONE_WORKSPACES: '{"acme":"k1"}' })).toEqual(['workspace "initech" is not in THREETONE_WORKSPACES (it has "acme")']);
    expect(unknown({ THREETONE_API_KEY: 'k', THREETONE_WORKSPACE: 'acme' })).toEqual([
      'workspace "initech" is not configured: THREETONE_API_KEY is the key of "acme" (THREETONE_WORKSPACE); set THREETONE_WORKSPACE=initech, or THREETONE_WORKSPACES for several',
    ]);
    expect(unknown({})).toEqual([
      'workspace "initech" is not configured, nor is any other: set THREETONE_WORKSPACES=\'{"initech":"<key>"}\', or THREETONE_API_KEY with THREETONE_WORKSPACE=initech',
    ]);
  });

  it('names the entry of THREETONE_WORKSPACES that is wrong, never a key', () => {
    expect(problems({ THREETONE_WORKSPACES: '{"acme":"sk_secret_1","cust-007":""}' })).toEqual([
      'THREETONE_WORKSPACES["cust-007"] must be the workspace\'s API key, a non-empty string',
    ]);
    expect(problems({ THREETONE_WORKSPACES: '{"acme":"sk_secret_1","cust-007":42}' })).toEqual([
      'THREETONE_WORKSPACES["cust-007"] must be the workspace\'s API key, a non-empty string',
    ]);
    expect(problems({ THREETONE_WORKSPACES: '{"acme":"sk_secret_1","a b":"sk_secret_2"}' })).toEqual([
      'THREETONE_WORKSPACES has an invalid workspace name "a b": a name is 1-64 letters, digits, "_", "." or "-"',
    ]);
  });

  it('explains bad worker settings', () => {
    expect(problems({ THREETONE_WORKSPACES: '{"a b":"k"}', SYNC_EVERY: '5 minutes', RECONCILE_CRON: '61 3 * * *', RECONCILE_TZ: 'Mars/Olympus' })).toEqual([
      'THREETONE_WORKSPACES has an invalid workspace name "a b": a name is 1-64 letters, digits, "_", "." or "-"',
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

describe('the API base URL', () => {
  it('may be plain http only on a loopback host, unless explicitly allowed', () => {
    for (const ok of ['http://127.0.0.1:4010', 'http://localhost:4010', 'http://[::1]:4010', 'https://api.example.com']) {
      expect(problems({ THREETONE_BASE_URL: ok }), ok).toEqual([]);
    }
    expect(problems({ THREETONE_BASE_URL: 'http://simulator:4010' })).toEqual([
      'THREETONE_BASE_URL must use https:// for a host that is not loopback (simulator): plain http would send the API key unencrypted; set THREETONE_ALLOW_INSECURE_HTTP=1 to allow it anyway',
    ]);
    expect(problems({ THREETONE_BASE_URL: 'http://simulator:4010', THREETONE_ALLOW_INSECURE_HTTP: '1' })).toEqual([]);
    expect(problems({ THREETONE_ALLOW_INSECURE_HTTP: 'maybe' })).toEqual(['THREETONE_ALLOW_INSECURE_HTTP must be 1 or 0 (got "maybe")']);
  });

  it('never carries a user name or password, so none can reach a log line', () => {
    expect(problems({ THREETONE_BASE_URL: 'https://me:secret@api.example.com' })).toEqual([
      'THREETONE_BASE_URL must not contain a user name or password (the API key is the only credential)',
    ]);
  });
});

describe('safety limits', () => {
  it('has documented defaults and checks its ranges', () => {
    const config = loadConfig({});
    expect(config.reconcile).toEqual({ maxDeleteRatio: 0.25 });
    expect(config.pg).toEqual({ statementTimeoutMs: 120_000, lockTimeoutMs: 30_000, migrationLockTimeoutMs: 120_000 });
    expect(config.worker.maxDelayMs).toBe(3_600_000);
    expect(problems({ RECONCILE_MAX_DELETE_RATIO: '1.5' })).toEqual(['RECONCILE_MAX_DELETE_RATIO must be a number from 0 to 1 (got "1.5")']);
    expect(loadConfig({ RECONCILE_MAX_DELETE_RATIO: '0.05' }).reconcile.maxDeleteRatio).toBe(0.05);
  });
});
