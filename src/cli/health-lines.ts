import { countStates, WORKSPACE_STATES, type WorkspaceHealth } from '../health/judge.ts';
import { formatAge, formatTime } from '../util/time-format.ts';

/** Narrowest width we lay out for; a terminal narrower than this wraps. */
const MIN_WIDTH = 60;
const NAME_CAP = 28;

/** The line above the list: how many workspaces, and how many in each state. */
export function summaryLine(all: readonly WorkspaceHealth[], now: Date): string {
  const counts = countStates(all);
  return `${all.length} workspace${all.length === 1 ? '' : 's'}: ${WORKSPACE_STATES.map((s) => `${counts[s]} ${s}`).join(' · ')} (as of ${formatTime(now)})`;
}

/**
 * One line per workspace, worst first as given: state, name, age of the last success, and the reason, cut with "…"
 * to `width` unless `verbose`. Names longer than the column are cut too (`--workspace` shows one in full).
 */
export function healthLines(list: readonly WorkspaceHealth[], now: Date, width: number, verbose = false): string[] {
  if (list.length === 0) return [];
  const nameWidth = Math.min(NAME_CAP, Math.max('WORKSPACE'.length, ...list.map((h) => h.workspace.length)));
  const stateWidth = Math.max(...WORKSPACE_STATES.map((s) => s.length));
  const ages = list.map((h) => (h.facts.lastSuccessAt === null ? 'never' : formatAge(now.getTime() - h.facts.lastSuccessAt.getTime())));
  const ageWidth = Math.max('LAST SUCCESS'.length, ...ages.map((a) => a.length));
  const fit = (text: string) => fitLine(text, width, verbose);
  const row = (state: string, name: string, age: string, why: string) =>
    fit(`${state.padEnd(stateWidth)}  ${cut(name, nameWidth).padEnd(nameWidth)}  ${age.padEnd(ageWidth)}  ${why}`);
  return [row('STATE', 'WORKSPACE', 'LAST SUCCESS', 'WHY'), ...list.map((h, i) => row(h.state, h.workspace, ages[i]!, oneLine(h.reason)))];
}

/** A line cut with "…" to the terminal's `width` (never narrower than MIN_WIDTH), unless `verbose`. */
export function fitLine(text: string, width: number, verbose = false): string {
  const line = text.trimEnd();
  const max = Math.max(MIN_WIDTH, width);
  return verbose || line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** Text wrapped at spaces to `width` (a word longer than the width stays whole): for sentences, which lose meaning cut. */
export function wrapText(text: string, width: number): string {
  const max = Math.max(MIN_WIDTH, width);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

/** The verdict of one workspace in a sentence: its name, then its reason, led by its state where the reason does not say it. */
export function verdictLine(h: WorkspaceHealth): string {
  const reason = h.reason.startsWith(h.state) ? h.reason : `${h.state}: ${h.reason}`;
  return `${h.workspace}: ${reason}${h.alsoStates.length > 0 ? ` (also ${h.alsoStates.join(', ')})` : ''}`;
}

/** `status --json`: every fact behind a line, in the tables' snake_case and the one time format. */
export function healthJson(h: WorkspaceHealth): Record<string, unknown> {
  const f = h.facts;
  return {
    workspace: h.workspace,
    state: h.state,
    reason: h.reason,
    also_states: h.alsoStates,
    stale: h.stale,
    stuck: h.stuck,
    last_success_at: f.lastSuccessAt === null ? null : formatTime(f.lastSuccessAt),
    first_run_at: formatTime(f.firstRunAt),
    copy_age_ms: h.copyAgeMs,
    failing_runs: f.failing?.runs ?? 0,
    failing_since: f.failing ? formatTime(f.failing.since) : null,
    error: f.failing?.error ?? null,
    reconcile_refused: f.refusedReconcile !== null,
    list_order_unknown: f.listOrderUnknown,
    running: f.running.map((r) => ({ run_id: r.runId, kind: r.kind, started_at: formatTime(r.startedAt), alive_at: formatTime(r.aliveAt), owner_alive: r.ownerAlive, pages: r.pages })),
  };
}

function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** An error may span lines (a stack, an API body): a terminal line must not. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ');
}
