import { openDatabase } from '../src/db/connection.ts';
import { silentLogger } from '../src/log.ts';
import { databaseUrl, withAdmin, type BenchDatabase } from './support.ts';

/**
 * A bench database kept between runs (BENCH_KEEP, BENCH_REUSE): loading 20 M versions takes longer than the
 * measurement. Kept under a name of its own, because openBenchServer drops every idle threetone_bench_* database.
 */


export async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  return withAdmin(adminUrl, async (admin) => (await admin`select 1 from pg_database where datname = ${name}`).length > 0);
}

/** Renames an idle database (the bench's connections closed). */
export async function renameDatabase(adminUrl: string, from: string, to: string): Promise<void> {
  await withAdmin(adminUrl, async (admin) => {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${to}" WITH (FORCE)`);
    await admin.unsafe(`ALTER DATABASE "${from}" RENAME TO "${to}"`);
  });
}

/** An existing database opened as createBenchDatabase opens a new one (no migration: it is read as it was kept). */
export async function openBenchDatabase(adminUrl: string, name: string): Promise<BenchDatabase> {
  const url = databaseUrl(adminUrl, name);
  const database = await openDatabase({ databaseUrl: url, embeddedPg: { dir: '', port: 0 } }, silentLogger);
  return {
    name,
    url,
    database,
    async drop() {
      await database.close();
      await withAdmin(adminUrl, (admin) => admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
