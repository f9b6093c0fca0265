import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// No Docker here: these read docker-compose.yml and the init script for the contract between them, and
// test/deploy/worker-role.test.ts runs the SQL the init script runs.
const root = new URL('../../', import.meta.url);
const COMPOSE = readFileSync(new URL('docker-compose.yml', root), 'utf8');
const INITDB = new URL('deploy/postgres/initdb/', root);
const INIT_SCRIPT_NAME = '10-threetone-sync-role.sh';
const INIT_SCRIPT = readFileSync(new URL(INIT_SCRIPT_NAME, INITDB), 'utf8');

/** Lines that are not comments, so the examples in the header do not count. */
const composeConfig = COMPOSE.split('\n')
  .filter((line) => !/^\s*#/.test(line))
  .join('\n');

describe('docker-compose.yml and deploy/postgres/initdb', () => {
  it('requires both passwords, with no default anywhere they are used', () => {
    for (const variable of ['POSTGRES_PASSWORD', 'THREETONE_DB_PASSWORD']) {
      const uses = [...composeConfig.matchAll(new RegExp(`\\$\\{${variable}([^}]*)\\}`, 'g'))].map((m) => m[1]);
      expect(uses.length, variable).toBeGreaterThan(0);
      for (const rest of uses) expect(rest, variable).toMatch(/^:\?\S/);
    }
  });

  it('connects migrate and the worker as the role the init script creates, not as the superuser', () => {
    const role = /-v role=(\w+)/.exec(INIT_SCRIPT)?.[1];
    expect(role).toBeDefined();
    const superuser = /POSTGRES_USER: (\S+)/.exec(composeConfig)?.[1];
    expect(superuser).toBeDefined();
    expect(role).not.toBe(superuser);
    const urlUsers = [...composeConfig.matchAll(/DATABASE_URL: postgres:\/\/([^:@/]+)[:@]/g)].map((m) => m[1]);
    expect(urlUsers.length).toBeGreaterThan(0);
    for (const user of urlUsers) expect(user).toBe(role);
    // The app containers get all of .env through env_file; the superuser's password is blanked over it.
    expect(composeConfig).toMatch(/environment: &app-environment\n(?:\s+#.*\n|\s+\w+: .*\n)*\s+POSTGRES_PASSWORD: ""\n/);
  });

  it('mounts the init script where the image runs it, and the SQL where the script reads it', () => {
    expect(composeConfig).toContain('- ./deploy/postgres/initdb:/docker-entrypoint-initdb.d:ro');
    const sqlDir = /\$\{THREETONE_SQL_DIR:-([^}]+)\}\/worker-role\.sql/.exec(INIT_SCRIPT)?.[1];
    expect(sqlDir).toBeDefined();
    expect(composeConfig).toContain(`- ./sql:${sqlDir}:ro`);
    expect(statSync(new URL('sql/worker-role.sql', root)).isFile()).toBe(true);
  });

  it('holds only executable shell scripts in initdb: a .sql there would run without its psql variables', () => {
    const files = readdirSync(fileURLToPath(INITDB));
    expect(files).toEqual([INIT_SCRIPT_NAME]);
    for (const file of files) {
      expect(file).toMatch(/\.sh$/);
      // Executable, so `docker compose exec postgres /docker-entrypoint-initdb.d/…` works for an existing volume.
      expect(statSync(new URL(file, INITDB)).mode & 0o111, file).not.toBe(0);
    }
    expect(INIT_SCRIPT).toMatch(/:\s*"\$\{THREETONE_DB_PASSWORD:\?[^}]+\}"/);
  });
});
