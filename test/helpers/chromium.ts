import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Which Chromium the browser tests drive:
 * - `CHROMIUM_PATH=/some/chrome`: that one;
 * - `CHROMIUM_PATH=none`, or no /usr/bin/chromium: the build shipped inside the
 *   `@sparticuz/chromium` devDependency (brotli-compressed in the package, so
 *   `npm install` is all a fresh machine needs: nothing is downloaded);
 * - otherwise Debian's /usr/bin/chromium, which CI installs.
 */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * Without the background-networking flags Chromium keeps trying to reach
 * Google's hosts, which this machine's closed network refuses many at a time.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function chromiumExecutable(): Promise<string> {
  const wanted = process.env.CHROMIUM_PATH?.trim();
  if (wanted && wanted !== 'none') {
    if (!existsSync(wanted)) throw new Error(`CHROMIUM_PATH=${wanted} does not exist`);
    return wanted;
  }
  if (wanted !== 'none' && existsSync(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  return packagedChromium();
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = await chromiumExecutable();
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

/**
 * The package unpacks into os.tmpdir() itself and treats an existing
 * `chromium` file as complete, so two test files unpacking at once could
 * launch a half-written binary. Each unpack therefore goes to a private
 * staging folder (the package follows TMPDIR) that is renamed into place in
 * one step; whoever renames first wins, the others use the winner's.
 */
async function packagedChromium(): Promise<string> {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve('@sparticuz/chromium');
  } catch {
    throw new Error(`no Chromium: ${DEBIAN_CHROMIUM} is missing and the @sparticuz/chromium devDependency is not installed (run "npm install", or "apt-get install -y chromium")`);
  }
  const root = packageRoot(entry);
  const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const uid = process.getuid?.() ?? 0;
  const target = path.join(tmpdir(), `threetone-chromium-${version}-${uid}`);
  if (trusted(target, uid) && existsSync(path.join(target, 'chromium'))) return path.join(target, 'chromium');

  const staging = mkdtempSync(`${target}.partial-`);
  try {
    const script = "const { default: c } = await import('@sparticuz/chromium'); process.stdout.write(await c.executablePath());";
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, TMPDIR: staging },
    });
    if (path.dirname(stdout.trim()) !== staging) throw new Error(`@sparticuz/chromium unpacked to ${stdout.trim()}, not into ${staging}`);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  try {
    renameSync(staging, target);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if ((code !== 'EEXIST' && code !== 'ENOTEMPTY') || !trusted(target, uid)) throw error;
  }
  return path.join(target, 'chromium');
}

function packageRoot(file: string): string {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && path.basename(path.dirname(dir)) === '@sparticuz') return dir;
  }
  throw new Error(`cannot find the @sparticuz/chromium package above ${file}`);
}

/** A folder in a shared tmp that another user made (or can write to) could hold any binary: only our own is run. */
function trusted(dir: string, uid: number): boolean {
  try {
    const stat = lstatSync(dir);
    return stat.isDirectory() && stat.uid === uid && (stat.mode & 0o022) === 0;
  } catch {
    return false;
  }
}
