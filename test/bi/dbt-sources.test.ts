import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { API_FIELD_DESCRIPTIONS } from '../../src/dbt/api-fields.ts';
import { toYaml } from '../../src/dbt/yaml.ts';
import { batchCalls, KNOWN_PROVIDERS, KNOWN_STATUSES } from '../../src/resources/batch-calls.ts';
import { spawnCli } from '../helpers/child.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * `threetone-sync dbt-sources` (issue 21, item 5): the file the real CLI prints lists every table and view of a
 * migrated database with every column, parses as YAML, takes the API's words from the spec, and its tests are SQL
 * that runs.
 */
interface Column {
  name: string;
  description?: string;
  data_tests?: unknown[];
}
interface Table {
  name: string;
  description?: string;
  loaded_at_field?: string;
  freshness?: { warn_after: { count: number; period: string }; error_after: { count: number; period: string } };
  data_tests?: { unique: { column_name: string } }[];
  columns: Column[];
}
interface Sources {
  version: number;
  sources: { name: string; schema: string; tables: Table[] }[];
}

let database: TestDatabase;
let printed: string;
let sources: Sources;
const tables = () => sources.sources[0]!.tables;
const table = (name: string) => tables().find((t) => t.name === name)!;

const SPEC = parse(readFileSync(new URL('../../spec/batch-calling-workspace.openapi.yaml', import.meta.url), 'utf8')) as {
  components: { schemas: Record<string, { description?: string; enum?: string[]; properties?: Record<string, { description?: string; $ref?: string; anyOf?: { $ref?: string }[] }> }> };
};

beforeAll(async () => {
  database = await createTestDatabase();
  const child = spawnCli(['dbt-sources'], { LOG_LEVEL: 'warn', SYNC_EVERY: '5m' });
  expect(await child.exited).toBe(0);
  printed = child.output();
  sources = parse(printed) as Sources;
});
afterAll(async () => {
  await database?.drop();
});

describe('threetone-sync dbt-sources', () => {
  it('lists every table and view in public, each with every column, as information_schema has them', async () => {
    const catalog = await database.sql<{ table_name: string; columns: string[] }[]>`
      select c.table_name, array_agg(c.column_name::text order by c.column_name) as columns
      from information_schema.columns c where c.table_schema = 'public' group by c.table_name order by c.table_name`;
    expect(catalog.length).toBeGreaterThan(15);
    expect(sources).toMatchObject({ version: 2, sources: [{ name: 'threetone', schema: 'public' }] });
    expect(tables().map((t) => t.name).sort()).toEqual(catalog.map((t) => t.table_name));
    for (const { table_name, columns } of catalog) {
      expect(table(table_name).columns.map((c) => c.name).sort(), table_name).toEqual(columns);
    }
  });

  it('describes every table and column; the API fields in the spec\'s words', () => {
    const undescribed = tables().flatMap((t) => [...(t.description ? [] : [t.name]), ...t.columns.filter((c) => !c.description).map((c) => `${t.name}.${c.name}`)]);
    expect(undescribed).toEqual([]);
    const response = SPEC.components.schemas.BatchCallResponse!.properties!;
    for (const [field] of batchCalls.columns) {
      const property = response[field]!;
      const ref = property.$ref ?? property.anyOf?.find((a) => a.$ref)?.$ref;
      const words = property.description ?? SPEC.components.schemas[ref!.split('/').pop()!]!.description;
      expect(API_FIELD_DESCRIPTIONS[field], field).toBe(words);
      expect(table('batch_calls').columns.find((c) => c.name === field)!.description).toBe(words);
      expect(table('batch_call_history').columns.find((c) => c.name === field)!.description).toBe(words);
    }
    // A view's column takes the job tables' words.
    expect(table('bi_current_batch_calls').columns.find((c) => c.name === 'agent_name')!.description).toBe('Name of the agent');
  });

  it('tests keys and statuses: unique and not_null on the keys, accepted values from the spec and the run vocabulary', async () => {
    expect(SPEC.components.schemas.BatchCallStatus!.enum).toEqual([...KNOWN_STATUSES]);
    expect(SPEC.components.schemas.TelephonyProvider!.enum).toEqual([...KNOWN_PROVIDERS]);
    expect(table('batch_calls').data_tests).toEqual([{ unique: { column_name: "workspace || '/' || id" } }]);
    expect(table('batch_call_history').data_tests).toEqual([{ unique: { column_name: "workspace || '/' || id || '/' || last_updated_at_unix" } }]);
    const tests = (t: string, c: string) => table(t).columns.find((x) => x.name === c)!.data_tests;
    expect(tests('batch_calls', 'workspace')).toEqual(['not_null']);
    expect(tests('sync_runs', 'id')).toEqual(['unique', 'not_null']);
    expect(tests('sync_workspaces', 'workspace')).toEqual(['unique', 'not_null']);
    expect(tests('bi_workspace_freshness', 'workspace')).toEqual(['unique', 'not_null']);
    expect(tests('batch_calls', 'status')).toEqual([{ accepted_values: { values: [...KNOWN_STATUSES], config: { severity: 'warn' } } }]);
    expect(tests('sync_runs', 'status')).toEqual([{ accepted_values: { values: ['running', 'succeeded', 'failed', 'interrupted'], config: { severity: 'error' } } }]);
    // Every test names SQL that runs: the key expressions and the tested columns exist.
    for (const t of tables()) {
      for (const test of t.data_tests ?? []) await database.sql.unsafe(`select ${test.unique.column_name} from public."${t.name}" limit 1`);
    }
  });

  it('checks freshness on the sync\'s last success: warns after two missed syncs, errors once stale', async () => {
    for (const name of ['sync_workspaces', 'bi_workspace_freshness']) {
      expect(table(name)).toMatchObject({
        loaded_at_field: 'last_success_at',
        freshness: { warn_after: { count: 10, period: 'minute' }, error_after: { count: 15, period: 'minute' } },
      });
    }
    expect(table('batch_calls').freshness).toBeUndefined();
    const child = spawnCli(['dbt-sources', '--name', 'calls', '--schema', 'sync'], { LOG_LEVEL: 'warn', SYNC_EVERY: '1h', STALE_AFTER: '1d' });
    expect(await child.exited).toBe(0);
    const other = parse(child.output()) as Sources;
    expect(other.sources[0]).toMatchObject({ name: 'calls', schema: 'sync' });
    expect(other.sources[0]!.tables.find((t) => t.name === 'sync_workspaces')!.freshness).toEqual({
      warn_after: { count: 2, period: 'hour' },
      error_after: { count: 1, period: 'day' },
    });
  });

  it('writes YAML that reads back as what it was given, whatever the strings hold', () => {
    const value = { a: ['yes', 'no', 'null', '1', '', 'x: y', '# not a comment', "it's \"quoted\"\nand two lines", 'plain_word'], b: { c: [], d: {}, e: 3, f: true }, g: [{ h: 1, i: [{ j: 'k' }] }] };
    expect(parse(toYaml(value))).toEqual(value);
    expect(printed.startsWith('# Generated by `threetone-sync dbt-sources`')).toBe(true);
  });
});
