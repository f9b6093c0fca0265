import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

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

/**
 * The Compose specification's JSON schema, as dclint ships it: the file
 * Compose itself validates against, available offline.
 */
function composeSchema(): object {
  const dclint = path.dirname(createRequire(import.meta.url).resolve('dclint/package.json'));
  const schema = JSON.parse(readFileSync(path.join(dclint, 'schemas', 'compose.schema.json'), 'utf8')) as Record<string, unknown>;
  // It names draft-07 by an https URL that Ajv does not know the meta-schema by; Ajv's default is draft-07.
  delete schema.$schema;
  return schema;
}

interface ComposeService {
  image?: string;
  build?: unknown;
  profiles?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { disable?: boolean; test?: unknown };
  command?: string[];
}

/** As Compose reads it: YAML merge keys (<<: *app) resolved. */
const compose = parse(COMPOSE, { merge: true }) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };

describe('docker-compose.yml against the Compose specification', () => {
  it('validates against the compose-spec schema', () => {
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
    const validate = ajv.compile(composeSchema());
    const valid = validate(compose);
    expect(validate.errors ?? [], ajv.errorsText(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
    // The schema does reject what Compose rejects: a misspelt key, a wrong type.
    expect(validate({ services: { worker: { imag: 'x' } } })).toBe(false);
    expect(validate({ services: { worker: { image: 'x', ports: 'not-a-list' } } })).toBe(false);
  });

  it('mounts only files and folders that exist, and names only declared volumes', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('.')) expect(existsSync(new URL(source, root)), `${name}: ${source}`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name}: volume ${source}`).toContain(source);
      }
    }
  });

  it('turns the image HEALTHCHECK off for the commands that serve no /healthz', () => {
    const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n\s+CMD \[.*\/healthz/m);
    expect(compose.services.worker!.command).toEqual(['worker']);
    expect(compose.services.worker!.healthcheck).toBeUndefined();
    for (const name of ['migrate', 'simulator']) expect(compose.services[name]!.healthcheck, name).toEqual({ disable: true });
  });

  it('has an observability profile: Prometheus with the alert rules, Grafana with the dashboard and its data source', () => {
    const { prometheus, grafana } = compose.services;
    expect(prometheus?.profiles).toEqual(['observability']);
    expect(grafana?.profiles).toEqual(['observability']);
    const mounts = (service: ComposeService) => Object.fromEntries((service.volumes ?? []).map((v) => [v.split(':')[1], v.split(':')[0]]));
    const promMounts = mounts(prometheus!);
    expect(promMounts['/etc/prometheus/prometheus.yml']).toBe('./deploy/prometheus/prometheus.yml');
    const promConfig = parse(readFileSync(new URL('deploy/prometheus/prometheus.yml', root), 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    for (const rules of promConfig.rule_files) expect(promMounts[path.posix.join('/etc/prometheus', rules)]).toBe(`./deploy/prometheus/${rules}`);
    // The job name the alert rules and the dashboard select on, and the worker's port.
    const [job] = promConfig.scrape_configs;
    expect(job!.job_name).toBe('threetone-sync');
    expect(job!.dns_sd_configs[0]).toMatchObject({ names: ['worker'], port: 8080 });
    expect(compose.services.worker!.environment!.HTTP_HOST).toBe('0.0.0.0');

    const grafanaMounts = mounts(grafana!);
    expect(grafanaMounts['/etc/grafana/provisioning']).toBe('./deploy/grafana/provisioning');
    const provider = parse(readFileSync(new URL('deploy/grafana/provisioning/dashboards/threetone-sync.yml', root), 'utf8')) as {
      providers: { options: { path: string } }[];
    };
    expect(grafanaMounts[provider.providers[0]!.options.path]).toBe('./deploy/grafana/dashboards');
    const datasources = parse(readFileSync(new URL('deploy/grafana/provisioning/datasources/prometheus.yml', root), 'utf8')) as {
      datasources: { uid: string; url: string }[];
    };
    const dashboard = JSON.parse(readFileSync(new URL('deploy/grafana/dashboards/threetone-sync.json', root), 'utf8')) as {
      panels: { datasource?: { uid: string } }[];
    };
    const uids = new Set(dashboard.panels.flatMap((p) => (p.datasource ? [p.datasource.uid] : [])));
    expect([...uids]).toEqual([datasources.datasources[0]!.uid]);
    expect(datasources.datasources[0]!.url).toBe('http://prometheus:9090');
  });
});
