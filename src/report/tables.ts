import type { CellKind, CellValue } from './cells.ts';
import type { AgentRow, DayRow, ReportModel, WorkspaceReport } from './model.ts';

/** One column of a table the report draws: its CSV header, its label on the page, and how to read it off a row. */
export interface Column<Row> {
  name: string;
  label: string;
  kind: CellKind;
  value(row: Row): CellValue;
  /** Said on the page in another way (a row's "today, partial" mark); written only to the CSV. */
  csvOnly?: boolean;
}

export interface Table<Row> {
  /** The CSV file's name. */
  file: string;
  columns: Column<Row>[];
}

type Totalled = ReportModel['totals'] & { from: Date; generatedAt: Date };

/** The whole window over every workspace: one row. */
export function totalsTable(statuses: string[]): Table<Totalled> {
  return {
    file: 'totals.csv',
    columns: [
      { name: 'from', label: 'jobs created from', kind: 'time', value: (t) => t.from },
      { name: 'to', label: 'to', kind: 'time', value: (t) => t.generatedAt },
      { name: 'workspaces', label: 'workspaces', kind: 'count', value: (t) => t.workspaces },
      { name: 'jobs', label: 'jobs', kind: 'count', value: (t) => t.jobs },
      ...statuses.map((s): Column<Totalled> => ({ name: `jobs_${s}`, label: `jobs ${s} now`, kind: 'count', value: (t) => t.byStatus[s] ?? 0 })),
      { name: 'calls_scheduled', label: 'calls scheduled', kind: 'count', value: (t) => t.callsScheduled },
      { name: 'calls_finished', label: 'calls finished', kind: 'count', value: (t) => t.callsFinished },
      { name: 'finish_rate', label: 'finish rate', kind: 'rate', value: (t) => t.finishRate },
    ],
  };
}

/** One row per workspace: its totals and how fresh its copy is. */
export const WORKSPACES_TABLE: Table<WorkspaceReport> = {
  file: 'workspaces.csv',
  columns: [
    { name: 'workspace', label: 'workspace', kind: 'text', value: (w) => w.workspace },
    { name: 'jobs', label: 'jobs', kind: 'count', value: (w) => w.totals.jobs },
    { name: 'calls_scheduled', label: 'calls scheduled', kind: 'count', value: (w) => w.totals.callsScheduled },
    { name: 'calls_finished', label: 'calls finished', kind: 'count', value: (w) => w.totals.callsFinished },
    { name: 'finish_rate', label: 'finish rate', kind: 'rate', value: (w) => w.totals.finishRate },
    { name: 'last_success_at', label: 'last successful sync', kind: 'time', value: (w) => w.lastSuccessAt },
    { name: 'sync_age_seconds', label: 'sync age', kind: 'age', value: (w) => w.syncAgeMs },
    { name: 'last_run_status', label: 'last run', kind: 'text', value: (w) => w.lastRunStatus },
  ],
};

/** Jobs created per day, by the status they have now: the numbers of the daily chart. */
export function jobsPerDayTable(statuses: string[]): Table<DayRow> {
  return {
    file: 'jobs-per-day.csv',
    columns: [
      { name: 'day', label: 'day (UTC)', kind: 'day', value: (d) => d.day },
      { name: 'partial', label: 'partial', kind: 'flag', value: (d) => d.partial, csvOnly: true },
      ...statuses.map((s): Column<DayRow> => ({ name: s, label: s, kind: 'count', value: (d) => d.byStatus[s] ?? 0 })),
      { name: 'total', label: 'total', kind: 'count', value: (d) => d.total },
    ],
  };
}

/** Finish rate per agent: the numbers of the dot plot. */
export const AGENTS_TABLE: Table<AgentRow> = {
  file: 'finish-rate-per-agent.csv',
  columns: [
    // The rate first: on a phone, the agent, its rate and its dot are what fits before the table scrolls.
    { name: 'agent_name', label: 'agent', kind: 'text', value: (a) => a.agentName },
    { name: 'finish_rate', label: 'finish rate', kind: 'rate', value: (a) => a.finishRate },
    { name: 'jobs', label: 'jobs (n)', kind: 'count', value: (a) => a.jobs },
    { name: 'calls_finished', label: 'calls finished', kind: 'count', value: (a) => a.callsFinished },
    { name: 'calls_scheduled', label: 'calls scheduled', kind: 'count', value: (a) => a.callsScheduled },
    { name: 'agent_id', label: 'agent id', kind: 'text', value: (a) => a.agentId },
  ],
};
