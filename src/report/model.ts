import type { ReportData } from '../db/report-data.ts';
import { KNOWN_STATUSES } from '../resources/batch-calls.ts';
import { parsePgTime } from '../util/time-format.ts';
import { everyDay, utcDay } from './days.ts';

/**
 * What the report shows, worked out once from what it read; the page and the CSV files are both drawn from
 * this, so they cannot disagree on a number.
 */
export interface ReportModel {
  from: Date;
  generatedAt: Date;
  /** The UTC day of generatedAt: its counts are partial. */
  today: string;
  /** Columns of the per-day tables: the known statuses in the API's order, then any other seen, sorted. */
  statuses: string[];
  workspaces: WorkspaceReport[];
  totals: Totals & { workspaces: number };
}

export interface Totals {
  jobs: number;
  byStatus: Record<string, number>;
  callsScheduled: number;
  callsFinished: number;
  /** Calls finished over calls scheduled, summed first (a big agent weighs more than a small one); null with nothing scheduled. */
  finishRate: number | null;
}

export interface DayRow {
  day: string;
  byStatus: Record<string, number>;
  total: number;
  /** Today: the day is not over, so its count will still grow. */
  partial: boolean;
}

export interface AgentRow {
  agentId: string;
  agentName: string;
  jobs: number;
  callsScheduled: number;
  callsFinished: number;
  finishRate: number | null;
}

export interface WorkspaceReport {
  workspace: string;
  /** The fragment its section is linked by: unique in the page, whatever the workspace is called. */
  anchor: string;
  /** Every day of the window, those without jobs included; empty when the workspace had no job in the window. */
  days: DayRow[];
  /** Lowest finish rate first (the ones to look at), no rate last. */
  agents: AgentRow[];
  totals: Totals;
  lastSuccessAt: Date | null;
  /** How old the last successful sync was when the report was read. */
  syncAgeMs: number | null;
  lastRunStatus: string | null;
}

export function buildReport(data: ReportData): ReportModel {
  const today = utcDay(data.generatedAt);
  const seen = new Set(data.daily.map((d) => d.status));
  const statuses = [...KNOWN_STATUSES, ...[...seen].filter((s) => !(KNOWN_STATUSES as readonly string[]).includes(s)).sort()];
  const names = [...new Set([...data.daily, ...data.agents, ...data.freshness].map((r) => r.workspace))].sort();
  const anchors = anchorsFor(names);
  const workspaces = names.map((workspace, i): WorkspaceReport => {
    const daily = data.daily.filter((d) => d.workspace === workspace);
    const agents = data.agents.filter((a) => a.workspace === workspace).map(agentRow).sort(worstFirst);
    const freshness = data.freshness.find((f) => f.workspace === workspace);
    return {
      workspace,
      anchor: anchors[i]!,
      days: daysOf(daily, statuses, utcDay(data.from), today),
      agents,
      totals: totalsOf(daily, agents, statuses),
      lastSuccessAt: freshness?.last_success_at ? parsePgTime(freshness.last_success_at) : null,
      syncAgeMs: freshness?.age_seconds === null || freshness?.age_seconds === undefined ? null : freshness.age_seconds * 1000,
      lastRunStatus: freshness?.last_run_status ?? null,
    };
  });
  return {
    from: data.from,
    generatedAt: data.generatedAt,
    today,
    statuses,
    workspaces,
    totals: { workspaces: workspaces.length, ...totalsOf(data.daily, data.agents.map(agentRow), statuses) },
  };
}

export function rate(finished: number, scheduled: number): number | null {
  return scheduled > 0 ? finished / scheduled : null;
}

function agentRow(a: ReportData['agents'][number]): AgentRow {
  return {
    agentId: a.agent_id,
    agentName: a.agent_name,
    jobs: a.jobs,
    callsScheduled: a.calls_scheduled,
    callsFinished: a.calls_finished,
    finishRate: rate(a.calls_finished, a.calls_scheduled),
  };
}

function worstFirst(a: AgentRow, b: AgentRow): number {
  if (a.finishRate !== b.finishRate) {
    if (a.finishRate === null) return 1;
    if (b.finishRate === null) return -1;
    return a.finishRate - b.finishRate;
  }
  return a.agentName < b.agentName ? -1 : a.agentName > b.agentName ? 1 : a.agentId < b.agentId ? -1 : 1;
}

function daysOf(daily: ReportData['daily'], statuses: string[], first: string, today: string): DayRow[] {
  if (daily.length === 0) return [];
  // A job created "in the future" (a clock ahead of ours) still gets its day on the axis.
  const last = daily.reduce((max, d) => (d.day > max ? d.day : max), today);
  const rows = new Map(everyDay(first, last).map((day) => [day, { day, byStatus: zeroes(statuses), total: 0, partial: day === today }]));
  for (const d of daily) {
    const row = rows.get(d.day);
    if (row === undefined) continue;
    row.byStatus[d.status] = (row.byStatus[d.status] ?? 0) + d.jobs;
    row.total += d.jobs;
  }
  return [...rows.values()];
}

function totalsOf(daily: ReportData['daily'], agents: Pick<AgentRow, 'callsScheduled' | 'callsFinished'>[], statuses: string[]): Totals {
  const byStatus = zeroes(statuses);
  for (const d of daily) byStatus[d.status] = (byStatus[d.status] ?? 0) + d.jobs;
  const callsScheduled = agents.reduce((sum, a) => sum + a.callsScheduled, 0);
  const callsFinished = agents.reduce((sum, a) => sum + a.callsFinished, 0);
  return {
    jobs: daily.reduce((sum, d) => sum + d.jobs, 0),
    byStatus,
    callsScheduled,
    callsFinished,
    finishRate: rate(callsFinished, callsScheduled),
  };
}

function zeroes(statuses: string[]): Record<string, number> {
  return Object.fromEntries(statuses.map((s) => [s, 0]));
}

/** `ws-` and the name's letters and digits; a name that slugs like an earlier one gets a number. */
export function anchorsFor(names: string[]): string[] {
  const used = new Set<string>();
  return names.map((name) => {
    const base = `ws-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`.replace(/-$/, '');
    let anchor = base;
    for (let n = 2; used.has(anchor); n++) anchor = `${base}-${n}`;
    used.add(anchor);
    return anchor;
  });
}
