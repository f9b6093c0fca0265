import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import * as schema from '../db/schema.ts';
import { LIST_ORDERS, RUN_KINDS, RUN_STATUSES, STOP_REASONS } from '../domain/runs.ts';
import type { HealthThresholds } from '../health/judge.ts';
import { batchCalls, KNOWN_PROVIDERS, KNOWN_STATUSES } from '../resources/batch-calls.ts';
import { API_FIELD_DESCRIPTIONS } from './api-fields.ts';
import { COLUMN_DESCRIPTIONS, TABLE_DESCRIPTIONS, VIEWS } from './catalogue.ts';
import type { YamlValue } from './yaml.ts';

export interface SourcesOptions {
  /** dbt's name of the source. Default `threetone`. */
  name: string;
  /** The Postgres schema of the tables. Default `public`. */
  schema: string;
  /** The database, when dbt's profile points elsewhere. */
  database?: string | undefined;
  health: HealthThresholds;
}

export interface SourceColumn {
  name: string;
  description?: string | undefined;
}

/** A table or view as dbt-sources lists it. */
export interface SourceTable {
  name: string;
  kind: 'table' | 'view';
  description?: string | undefined;
  columns: SourceColumn[];
  /** Sets of columns unique together (the first one is the key). */
  keys: string[][];
}

/** The public tables of src/db/schema.ts, with their columns in declaration order and their keys. */
export function schemaTables(): SourceTable[] {
  const tables: SourceTable[] = [];
  for (const value of Object.values(schema)) {
    if (!is(value, PgTable)) continue;
    const config = getTableConfig(value);
    if (config.schema !== undefined && config.schema !== 'public') continue;
    const keys: string[][] = [];
    for (const pk of config.primaryKeys) keys.push(pk.columns.map((c) => c.name));
    for (const column of config.columns) if (column.primary) keys.push([column.name]);
    for (const index of config.indexes) {
      if (!index.config.unique) continue;
      const names = index.config.columns.map((c) => (c as { name?: string }).name);
      if (names.every((n): n is string => typeof n === 'string')) keys.push(names);
    }
    for (const unique of config.uniqueConstraints) keys.push(unique.columns.map((c) => c.name));
    tables.push({
      name: config.name,
      kind: 'table',
      description: TABLE_DESCRIPTIONS[config.name],
      columns: config.columns.map((c) => ({ name: c.name, description: columnDescription(config.name, c.name) })),
      keys,
    });
  }
  return tables.sort((a, b) => a.name.localeCompare(b.name));
}

/** Our words for our columns, else the spec's for an API field. */
function columnDescription(table: string, column: string): string | undefined {
  const ours = COLUMN_DESCRIPTIONS[table]?.[column] ?? COLUMN_DESCRIPTIONS['*']?.[column];
  if (ours !== undefined) return ours;
  if (batchCalls.columns.some(([name]) => name === column)) return API_FIELD_DESCRIPTIONS[column];
  return undefined;
}

/** The BI views (src/dbt/catalogue.ts), a column described as the same-named column of the job tables when not given. */
export function viewTables(): SourceTable[] {
  return Object.entries(VIEWS)
    .map(([name, doc]) => ({
      name,
      kind: 'view' as const,
      description: doc.description,
      columns: doc.columns.map((c) =>
        typeof c === 'string'
          ? { name: c, description: columnDescription('batch_calls', c) ?? columnDescription('batch_call_history', c) }
          : { name: c[0], description: c[1] },
      ),
      keys: name === 'bi_workspace_freshness' || name === 'bi_sync_freshness' ? [['workspace']] : [],
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** dbt's freshness: warn after two missed syncs (never later than stale), error once stale (STALE_AFTER, as the alert). */
export function freshnessThresholds(health: HealthThresholds): { warn_after: YamlValue; error_after: YamlValue } {
  const errorMs = health.staleAfterMs;
  const warnMs = Math.min(2 * health.syncEveryMs, errorMs);
  return { warn_after: period(warnMs), error_after: period(errorMs) };
}

/** A duration as dbt's count and period: the largest of day, hour, minute that divides it, rounded up to a minute. */
function period(ms: number): YamlValue {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  if (minutes % 1440 === 0) return { count: minutes / 1440, period: 'day' };
  if (minutes % 60 === 0) return { count: minutes / 60, period: 'hour' };
  return { count: minutes, period: 'minute' };
}

/** Values a column may take, and whether an unknown one is an error (ours) or a warning (the API may grow one). */
const ACCEPTED: Readonly<Record<string, Readonly<Record<string, { values: readonly string[]; severity: 'warn' | 'error' }>>>> = {
  batch_calls: { status: { values: KNOWN_STATUSES, severity: 'warn' }, phone_provider: { values: KNOWN_PROVIDERS, severity: 'warn' } },
  batch_call_history: { status: { values: KNOWN_STATUSES, severity: 'warn' } },
  bi_current_batch_calls: { status: { values: KNOWN_STATUSES, severity: 'warn' } },
  sync_runs: {
    kind: { values: RUN_KINDS, severity: 'error' },
    status: { values: RUN_STATUSES, severity: 'error' },
    stop_reason: { values: STOP_REASONS, severity: 'error' },
    list_order: { values: LIST_ORDERS, severity: 'error' },
  },
  sync_workspaces: { list_order: { values: LIST_ORDERS, severity: 'error' } },
};

/** Where a source's freshness is read: the sync's own record of success, per workspace. */
const LOADED_AT: Readonly<Record<string, string>> = {
  sync_workspaces: 'last_success_at',
  bi_workspace_freshness: 'last_success_at',
};

/** The whole sources.yml document. */
export function dbtSources(options: SourcesOptions): YamlValue {
  const all = [...schemaTables(), ...viewTables()].sort((a, b) => a.name.localeCompare(b.name));
  const freshness = freshnessThresholds(options.health);
  return {
    version: 2,
    sources: [
      {
        name: options.name,
        description: `The Postgres copy of Threetone batch-calling jobs kept by threetone-sync: current state, every version, the runs and their health. Freshness is the sync's last success per workspace (sync_workspaces); \`threetone-sync check\` fails on any stale workspace.`,
        database: options.database,
        schema: options.schema,
        tables: all.map((table) => sourceTable(table, freshness)),
      },
    ],
  };
}

function sourceTable(table: SourceTable, freshness: { warn_after: YamlValue; error_after: YamlValue }): YamlValue {
  const [key, ...otherKeys] = table.keys;
  const single = key?.length === 1 ? key[0] : undefined;
  const tableTests: YamlValue[] = [];
  for (const columns of [key, ...otherKeys]) {
    if (columns === undefined || columns.length < 2) continue;
    // dbt's unique test groups by an expression: the columns joined ("/" is in no workspace name, and a version is a number).
    tableTests.push({ unique: { column_name: columns.join(" || '/' || ") } });
  }
  const loadedAt = LOADED_AT[table.name];
  return {
    name: table.name,
    description: table.description ?? (table.kind === 'view' ? 'A BI view.' : undefined),
    loaded_at_field: loadedAt,
    freshness: loadedAt === undefined ? undefined : freshness,
    data_tests: tableTests.length > 0 ? tableTests : undefined,
    columns: table.columns.map((column) => {
      const tests: YamlValue[] = [];
      if (single === column.name) tests.push('unique');
      if (key?.includes(column.name)) tests.push('not_null');
      const accepted = ACCEPTED[table.name]?.[column.name];
      if (accepted) tests.push({ accepted_values: { values: [...accepted.values], config: { severity: accepted.severity } } });
      return { name: column.name, description: column.description, data_tests: tests.length > 0 ? tests : undefined };
    }),
  };
}
