import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/threetone-sync.js', import.meta.url));

export interface Child {
  process: ChildProcess;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** The real CLI as a child process with exactly `env` (plus PATH). */
export function spawnCli(args: string[], env: Record<string, string | undefined>): Child {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    // Not the checkout: a developer's own .env there must not leak into the child's settings.
    cwd: tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, output: () => output, exited };
}

/** What a CLI child needs to sync `workspace` from a simulator into a database: 100 items a page, a budget that never makes it wait, warnings only. */
export function cliEnv(target: { databaseUrl: string; baseUrl: string; apiKey: string; workspace: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: target.databaseUrl,
    THREETONE_BASE_URL: target.baseUrl,
    THREETONE_API_KEY: target.apiKey,
    THREETONE_WORKSPACE: target.workspace,
    THREETONE_PAGE_SIZE: '100',
    THREETONE_REQUESTS_PER_MINUTE: '100000',
    THREETONE_REQUESTS_PER_HOUR: '1000000',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}
