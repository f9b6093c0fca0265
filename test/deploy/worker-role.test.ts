import { createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startSimulator } from '../../src/simulator/index.ts';
import { openDatabase } from '../../src/db/connection.ts';
import { requireCurrentSchema, runMigrations } from '../../src/db/migrate.ts';
import { openSharedBudgets } from '../../src/budget/open-budgets.ts';
import { keyFingerprint } from '../../src/api/key-fingerprint.ts';
import { silentLogger } from '../../src/log.ts';
import { cliEnv, spawnCli, type Child } from '../helpers/child.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { expectCopyMatches } from '../helpers/stored.ts';
import { testConfig } from '../helpers/config.ts';
import { deleteRedisKeys } from '../helpers/queue.ts';
import { databaseUrl, testRedisUrl } from '../helpers/urls.ts';

// The file deploy/postgres/initdb/ feeds to psql in the compose postgres container, executed here as it is there.
const WORKER_ROLE_SQL = readFileSync(new URL('../../sql/worker-role.sql', import.meta.url), 'utf8');
const BI_READER_SQL = readFileSync(new URL('../../sql/bi-reader-role.sql', import.meta.url), 'utf8');
const RUNTIME_ROLE_SQL = readFileSync(new URL('../../sql/worker-runtime-role.sql', import.meta.url), 'utf8');

const KEY = 'sk_worker_role_5e6f7a8b9c0d1e2f';
const WS = 'roles';

/**
 * The script as `psql -v name=value` runs it: :'name' becomes a quoted literal and :"name" a quoted identifier.
 * postgres.js then runs it whole (simple protocol), so no psql binary is needed.
 */
function withPsqlVariables(script: string, variables: Record<string, string>): string {
  return script.replace(/:(['"])(\w+)\1/g, (_, quote: string, name: string) => {
    const value = variables[name];
    if (value === undefined) throw new Error(`sql/worker-role.sql uses psql variable ${name}, which the test does not set`);
    return quote + value.replaceAll(quote, quote + quote) + quote;
  });
}

function client(url: string): postgres.Sql {
  return postgres(url, { max: 1, onnotice: () => undefined });
}

const cleanups: (() => Promise<unknown>)[] = [];
/** Undone in reverse order: whatever a test made after its role (its database above all) goes before the role. */
function cleanup(fn: () => Promise<unknown>): void {
  cleanups.push(fn);
}
afterEach(async () => {
  // Every step runs even if one fails, so a failed drop does not leave a cluster-wide role behind.
  const failures: unknown[] = [];
  for (const fn of cleanups.splice(0).reverse()) await fn().catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw failures[0];
});

interface WorkerRole {
  name: string;
  password: string;
  /** `target` with this role's credentials: what compose gives migrate and the worker. */
  urlFor(target: string): string;
}

/** A role of this test's own (roles are cluster-wide). Made first in a test, so it is dropped last. */
function uniqueRole(): WorkerRole {
  const name = `threetone_sync_t_${randomBytes(5).toString('hex')}`;
  // Quote characters: the script must take any password psql would pass it.
  const password = `pw'${randomBytes(8).toString('hex')}"`;
  cleanup(async () => {
    const admin = client(inject('pgAdminUrl'));
    try {
      await admin.unsafe(`DROP ROLE IF EXISTS "${name}"`);
    } finally {
      await admin.end();
    }
  });
  return {
    name,
    password,
    urlFor(target) {
      const url = new URL(target);
      url.username = name;
      url.password = password;
      return url.toString();
    },
  };
}

/** An empty database, as the postgres image's POSTGRES_DB: owned by the superuser, nothing in it. */
async function emptyDatabase(): Promise<string> {
  const name = `threetone_t_${inject('testRunPid')}_${randomBytes(6).toString('hex')}`;
  const admin = client(inject('pgAdminUrl'));
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  cleanup(async () => {
    const dropper = client(inject('pgAdminUrl'));
    try {
      await dropper.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await dropper.end();
    }
  });
  return databaseUrl(inject('pgAdminUrl'), name);
}

/** As the superuser, like the image's init; `url` names the database, since the grants are on the one it runs in. */
async function runWorkerRoleSql(url: string, role: { name: string; password: string }): Promise<void> {
  const admin = client(url);
  try {
    await admin.unsafe(withPsqlVariables(WORKER_ROLE_SQL, { role: role.name, password: role.password }));
  } finally {
    await admin.end();
  }
}

/** Objects in the given schemas (and the schemas themselves) not owned by `role`. */
async function ownedByOthers(sql: postgres.Sql, role: string, schemas: string[]): Promise<string[]> {
  const rows = await sql<{ object: string }[]>`
    select 'schema ' || nspname as object from pg_namespace
    where nspname in ${sql(schemas.filter((s) => s !== 'public'))} and pg_get_userbyid(nspowner) <> ${role}
    union all
    select c.relkind::text || ' ' || c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ${sql(schemas)} and pg_get_userbyid(c.relowner) <> ${role}
    union all
    select 'function ' || p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ${sql(schemas)} and pg_get_userbyid(p.proowner) <> ${role}`;
  return rows.map((r) => r.object);
}

/** Whether a pg_authid SCRAM verifier was made from `password`: the check this server's trust auth skips. */
function scramMatches(verifier: string, password: string): boolean {
  const parts = /^SCRAM-SHA-256\$(\d+):([^$]+)\$[^:]+:(.+)$/.exec(verifier);
  if (!parts) return false;
  const salted = pbkdf2Sync(password, Buffer.from(parts[2]!, 'base64'), Number(parts[1]), 32, 'sha256');
  return createHmac('sha256', salted).update('Server Key').digest('base64') === parts[3];
}

/** A failing child's output is the only account of why it failed. */
async function exitCode(child: Child): Promise<number | null> {
  const code = await child.exited;
  if (code !== 0) process.stderr.write(child.output());
  return code;
}

describe('sql/worker-role.sql (the compose postgres init)', () => {
  it('gives a fresh database a role that can migrate, run the worker on the Postgres queue, sync and reconcile', async () => {
    const role = uniqueRole();
    const url = await emptyDatabase();
    await runWorkerRoleSql(url, role);
    const roleUrl = role.urlFor(url);
    const simulator = await startSimulator({ apiKeys: [KEY], items: 300 });
    cleanup(() => simulator.close());
    const env = cliEnv({ databaseUrl: roleUrl, baseUrl: simulator.url, apiKey: KEY, workspace: WS });

    // The compose `migrate` service.
    expect(await exitCode(spawnCli(['migrate'], env))).toBe(0);

    // The compose worker, but with REDIS_URL unset: the queue and the request budget then need the role to
    // create QUEUE_SCHEMA, the widest thing it does. It migrates again at start and syncs at once.
    const admin = await openDatabase({ databaseUrl: url, embeddedPg: { dir: '', port: 0 } }, silentLogger, { max: 1 });
    cleanup(() => admin.close());
    const worker = spawnCli(['worker'], { ...env, SYNC_EVERY: '1h', HTTP_PORT: '0', LOG_LEVEL: 'info' });
    cleanup(async () => {
      if (worker.process.exitCode === null && worker.process.signalCode === null) worker.process.kill('SIGKILL');
      await worker.exited;
    });
    const succeeded = async () => (await admin.sql`select count(*)::int as n from sync_runs where status = 'succeeded'`)[0]!.n as number;
    await expect.poll(succeeded, { timeout: 30_000, interval: 200 }).toBeGreaterThanOrEqual(1);
    worker.process.kill('SIGTERM');
    expect(await exitCode(worker)).toBe(0);
    await expectCopyMatches(admin, WS, simulator.truth());

    // Reconciliation writes and empties reconcile_seen, and marks deletes.
    const [gone] = simulator.mutate({ delete: 1 }).deleted;
    expect(await exitCode(spawnCli(['reconcile'], env))).toBe(0);
    const [marked] = await admin.sql`select deleted_at from batch_calls where workspace = ${WS} and id = ${gone!}`;
    expect(marked!.deleted_at).not.toBeNull();

    // Everything the app created belongs to the role: nothing needed the superuser.
    expect(await ownedByOthers(admin.sql, role.name, ['public', 'drizzle', 'threetone_budget', 'threetone_queue'])).toEqual([]);
    const [queueSchema] = await admin.sql`select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'threetone_queue'`;
    expect(queueSchema!.n).toBeGreaterThan(0);

    // The documented BI step, run afterwards as the superuser, leaves the role able to migrate and write.
    await admin.sql.unsafe(BI_READER_SQL);
    const asRole = await openDatabase({ databaseUrl: roleUrl, embeddedPg: { dir: '', port: 0 } }, silentLogger, { max: 1 });
    try {
      await runMigrations(asRole);
      await asRole.sql`insert into sync_runs (workspace, kind, status) values (${WS}, 'full', 'succeeded')`;
    } finally {
      await asRole.close();
    }
  });

  it('makes a plain login: no superuser, no CREATE DATABASE or CREATE ROLE, no other role to become', async () => {
    const role = uniqueRole();
    const url = await emptyDatabase();
    await runWorkerRoleSql(url, role);
    const admin = client(url);
    cleanup(() => admin.end());

    const [attributes] = await admin`
      select rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin,
             (select count(*)::int from pg_auth_members m where m.member = r.oid) as memberships
      from pg_roles r where rolname = ${role.name}`;
    expect(attributes).toEqual({
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolreplication: false,
      rolbypassrls: false,
      rolcanlogin: true,
      memberships: 0,
    });
    // Exactly these grants, and ownership of neither the database nor public.
    const privileges = () => admin<{ on: string; privilege: string }[]>`
      select 'database' as on, a.privilege_type as privilege
      from pg_database d, aclexplode(d.datacl) a where d.datname = current_database() and a.grantee = ${role.name}::regrole
      union all
      select 'public', a.privilege_type
      from pg_namespace n, aclexplode(n.nspacl) a where n.nspname = 'public' and a.grantee = ${role.name}::regrole
      order by 1, 2`;
    const granted = [
      { on: 'database', privilege: 'CONNECT' },
      { on: 'database', privilege: 'CREATE' },
      { on: 'public', privilege: 'CREATE' },
      { on: 'public', privilege: 'USAGE' },
    ];
    expect(await privileges()).toEqual(granted);
    const [owners] = await admin`
      select (select pg_get_userbyid(datdba) from pg_database where datname = current_database()) as database,
             (select pg_get_userbyid(nspowner) from pg_namespace where nspname = 'public') as public`;
    expect(owners!.database).not.toBe(role.name);
    expect(owners!.public).not.toBe(role.name);

    const asRole = client(role.urlFor(url));
    cleanup(() => asRole.end());
    const superuser = new URL(inject('pgAdminUrl')).username || 'postgres';
    const refused = [
      `CREATE DATABASE "${role.name}_x"`,
      `CREATE ROLE "${role.name}_x"`,
      `ALTER ROLE "${role.name}" SUPERUSER`,
      `ALTER ROLE "${role.name}" CREATEROLE`,
      `GRANT pg_read_server_files TO "${role.name}"`,
      `SET ROLE "${superuser}"`,
      `COPY (SELECT 1) TO PROGRAM 'true'`,
      `ALTER SYSTEM SET log_statement = 'none'`,
      'SELECT rolpassword FROM pg_authid',
    ];
    for (const statement of refused) await expect(asRole.unsafe(statement), statement).rejects.toMatchObject({ code: '42501' });

    // Running it again (a password change) keeps one role with the new password and the same grants.
    const [before] = await admin`select rolpassword from pg_authid where rolname = ${role.name}`;
    expect(scramMatches(before!.rolpassword, role.password)).toBe(true);
    await runWorkerRoleSql(url, { name: role.name, password: 'rotated' });
    const [after] = await admin`select rolpassword from pg_authid where rolname = ${role.name}`;
    expect(scramMatches(after!.rolpassword, 'rotated')).toBe(true);
    expect(scramMatches(after!.rolpassword, role.password)).toBe(false);
    expect(await privileges()).toEqual(granted);
  });

  it('hands the role a database a superuser migrated before it existed, so later migrations can alter it', async () => {
    const role = uniqueRole();
    // Cloned from the test run's template, which the superuser migrated: an old compose volume.
    const database = await createTestDatabase();
    cleanup(() => database.drop());
    expect(await ownedByOthers(database.sql, role.name, ['public', 'drizzle', 'threetone_budget'])).not.toEqual([]);

    await runWorkerRoleSql(database.url, role);
    expect(await ownedByOthers(database.sql, role.name, ['public', 'drizzle', 'threetone_budget'])).toEqual([]);

    const asRole = await openDatabase({ databaseUrl: role.urlFor(database.url), embeddedPg: { dir: '', port: 0 } }, silentLogger, { max: 1 });
    cleanup(() => asRole.close());
    await runMigrations(asRole);
    await asRole.sql`insert into sync_runs (workspace, kind, status) values (${WS}, 'full', 'succeeded')`;
    // What a later migration does, rolled back: only an owner may.
    const rollback = new Error('rollback');
    await expect(
      asRole.sql.begin(async (tx) => {
        await tx`alter table batch_call_history add column probe int`;
        await tx`comment on view bi_sync_freshness is 'probe'`;
        await tx`comment on function batch_calls_as_of(timestamptz) is 'probe'`;
        throw rollback;
      }),
    ).rejects.toBe(rollback);
  });
});

describe('sql/worker-runtime-role.sql (a worker that does not migrate)', () => {
  it('runs the worker on Redis and syncs with MIGRATE_ON_START=0, changes no schema, and says what to do when it would have to', async () => {
    const owner = uniqueRole();
    const runtime = uniqueRole();
    const url = await emptyDatabase();
    await runWorkerRoleSql(url, owner);
    const simulator = await startSimulator({ apiKeys: [KEY], items: 200 });
    cleanup(() => simulator.close());
    const prefix = `t${randomBytes(5).toString('hex')}`;
    cleanup(() => deleteRedisKeys(prefix));
    const env = {
      THREETONE_BASE_URL: simulator.url,
      THREETONE_API_KEY: KEY,
      THREETONE_WORKSPACE: WS,
      THREETONE_PAGE_SIZE: '100',
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      HTTP_PORT: '0',
      SYNC_EVERY: '1h',
      LOG_LEVEL: 'warn',
    };
    // The owner migrates, as at every upgrade; then the runtime role gets its grants.
    expect(await exitCode(spawnCli(['migrate'], { ...env, DATABASE_URL: owner.urlFor(url) }))).toBe(0);
    const admin = client(url);
    cleanup(() => admin.end());
    await admin.unsafe(withPsqlVariables(RUNTIME_ROLE_SQL, { role: runtime.name, password: runtime.password }));

    // Left to migrate on start, it stops with one line saying what to do instead.
    const migrating = spawnCli(['worker'], { ...env, DATABASE_URL: runtime.urlFor(url) });
    expect(await migrating.exited).toBe(2);
    expect(migrating.output()).toMatch(/^config: the role in DATABASE_URL may not change the schema \(permission denied[^)]*\): run "threetone-sync migrate" as the schema's owner, and set MIGRATE_ON_START=0 for processes that run as this role$/m);

    const worker = spawnCli(['worker'], { ...env, DATABASE_URL: runtime.urlFor(url), MIGRATE_ON_START: '0', LOG_LEVEL: 'info' });
    cleanup(async () => {
      if (worker.process.exitCode === null && worker.process.signalCode === null) worker.process.kill('SIGKILL');
      await worker.exited;
    });
    const succeeded = async () => (await admin`select count(*)::int as n from sync_runs where status = 'succeeded'`)[0]!.n as number;
    await expect.poll(succeeded, { timeout: 30_000, interval: 200 }).toBeGreaterThanOrEqual(1);
    worker.process.kill('SIGTERM');
    expect(await exitCode(worker)).toBe(0);
    const [{ n }] = (await admin`select count(*)::int as n from batch_calls`) as unknown as [{ n: number }];
    expect(n).toBe(200);

    // A schema from another release: it refuses to start rather than write into it.
    await admin`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from-a-newer-release', 0)`;
    const mismatched = spawnCli(['worker'], { ...env, DATABASE_URL: runtime.urlFor(url), MIGRATE_ON_START: '0' });
    expect(await mismatched.exited).toBe(2);
    expect(mismatched.output()).toMatch(/^config: the database schema is newer than this release \(\d+ migrations applied, this release has \d+\) and MIGRATE_ON_START=0: run "threetone-sync migrate" as the schema's owner, or deploy the matching release$/m);
  });

  it('takes from the Postgres request budget with MIGRATE_ON_START=0: `migrate` made its tables, the worker makes none', async () => {
    const owner = uniqueRole();
    const runtime = uniqueRole();
    const url = await emptyDatabase();
    await runWorkerRoleSql(url, owner);
    await runMigrations({ url: owner.urlFor(url) });
    const admin = client(url);
    cleanup(() => admin.end());
    await admin.unsafe(withPsqlVariables(RUNTIME_ROLE_SQL, { role: runtime.name, password: runtime.password }));

    // What a worker with MIGRATE_ON_START=0 and REDIS_URL unset does before its first run: check the schema, open
    // the budget. The role may create nothing, so any DDL left at run time fails here.
    const asRuntime = await openDatabase({ databaseUrl: runtime.urlFor(url), embeddedPg: { dir: '', port: 0 } }, silentLogger, { max: 1 });
    cleanup(() => asRuntime.close());
    await requireCurrentSchema(asRuntime);
    const config = { ...testConfig({ baseUrl: 'http://127.0.0.1:1' }), redisUrl: undefined };
    const budgets = await openSharedBudgets(config, runtime.urlFor(url));
    cleanup(() => budgets.close());
    const budget = budgets.forKey(KEY);
    expect(await budget.take()).toBe(0);
    await budget.learn!({ status: 429, headers: new Headers({ 'retry-after': '60' }), at: Date.now() });
    expect((await budgets.remaining()).every((r) => r.remaining === 0)).toBe(true);

    const [rows] = await admin`select (select count(*)::int from threetone_budget.request_budget_log where key = ${keyFingerprint(KEY)}) as log,
                                      (select reason from threetone_budget.request_budget_block where key = ${keyFingerprint(KEY)}) as block`;
    expect(rows).toEqual({ log: 1, block: 'API Retry-After' });
    // Nothing of the budget in QUEUE_SCHEMA, which only BullMQ's Postgres backend creates.
    const [queueSchema] = await admin`select count(*)::int as n from pg_namespace where nspname = ${config.worker.queueSchema}`;
    expect(queueSchema!.n).toBe(0);
  });
});

describe("the request budget's tables", () => {
  it('come with `migrate` alone, in a schema of their own, owned by the role that migrates', async () => {
    const role = uniqueRole();
    const url = await emptyDatabase();
    await runWorkerRoleSql(url, role);
    await runMigrations({ url: role.urlFor(url) });
    const admin = client(url);
    cleanup(() => admin.end());
    const [tables] = await admin`select pg_catalog.to_regclass('threetone_budget.request_budget_log') is not null as log,
                                        pg_catalog.to_regclass('threetone_budget.request_budget_block') is not null as block`;
    expect(tables).toEqual({ log: true, block: true });
    expect(await ownedByOthers(admin, role.name, ['threetone_budget'])).toEqual([]);
  });
});
