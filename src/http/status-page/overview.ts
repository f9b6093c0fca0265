import { ATTENTION_STATES, countStates, WORKSPACE_STATES, type WorkspaceHealth, type WorkspaceState } from '../../health/judge.ts';
import { escapeHtml } from '../../util/html.ts';
import { formatAge } from '../../util/time-format.ts';
import { LAG_COUNT_CAP, type ConsumerLag } from '../../feed/lag.ts';
import type { WebhookState } from '../../webhooks/state.ts';
import { formatCount, layout, stateBadge, timeTag, workspaceHref, type PageChrome } from './layout.ts';

/** Rows of the table of all workspaces per page, and attention items shown before "see all". */
export const TABLE_PAGE_SIZE = 50;
export const ATTENTION_SHOWN = 50;
const MAX_QUERY = 100;

export interface OverviewQuery {
  /** Only workspaces in this state. */
  state?: WorkspaceState;
  /** Only workspaces whose name contains this (case-insensitive). */
  q?: string;
  /** 1-based page of the table. */
  page: number;
}

/** The overview's filters from the URL; anything unrecognised is ignored rather than refused (it is a bookmark). */
export function parseOverviewQuery(params: URLSearchParams): OverviewQuery {
  const state = params.get('state');
  const q = params.get('q')?.trim().slice(0, MAX_QUERY);
  const page = Number(params.get('page') ?? '1');
  return {
    ...((WORKSPACE_STATES as readonly string[]).includes(state ?? '') ? { state: state as WorkspaceState } : {}),
    ...(q ? { q } : {}),
    page: Number.isInteger(page) && page >= 1 ? page : 1,
  };
}

/**
 * The page an operator opens at 3 a.m.: how many workspaces are in each state, then the ones that need someone,
 * worst first with their reason, then a filterable, paged table of all of them. Its size follows the page size,
 * not the number of workspaces.
 */
export function renderOverview(
  all: readonly WorkspaceHealth[],
  query: OverviewQuery,
  chrome: PageChrome,
  consumers: readonly ConsumerLag[] = [],
  webhook?: WebhookState,
): string {
  const now = chrome.now.getTime();
  if (all.length === 0) return layout(chrome, `${renderWebhook(webhook, now)}<p class="empty">No sync has run yet.</p>`);
  const counts = countStates(all);
  const summary = `<ul class="summary" aria-label="Workspaces by state">
<li><a href="/"${query.state === undefined ? ' class="current"' : ''}><strong>${formatCount(all.length)}</strong> workspaces</a></li>
${WORKSPACE_STATES.map((s) => `<li><a href="/?state=${s}" class="${s}${counts[s] === 0 ? ' zero' : ''}${query.state === s ? ' current' : ''}"><strong>${formatCount(counts[s])}</strong> ${s}</a></li>`).join('\n')}
</ul>`;

  const attention = all.filter((h) => ATTENTION_STATES.includes(h.state));
  const attentionHtml =
    attention.length === 0
      ? '<p class="all-good">Nothing needs attention: no workspace is failing, stuck, stale or waiting for an operator.</p>'
      : `<ol class="attention">
${attention.slice(0, ATTENTION_SHOWN).map((h) => `<li>${stateBadge(h.state)}<a href="${workspaceHref(h.workspace)}">${escapeHtml(h.workspace)}</a><span class="reason">${escapeHtml(h.reason)}</span></li>`).join('\n')}
</ol>${attention.length > ATTENTION_SHOWN ? `\n<p>… and ${formatCount(attention.length - ATTENTION_SHOWN)} more: filter the table below by state.</p>` : ''}`;

  const q = query.q?.toLowerCase();
  const matching = all.filter((h) => (query.state === undefined || h.state === query.state) && (q === undefined || h.workspace.toLowerCase().includes(q)));
  const pages = Math.max(1, Math.ceil(matching.length / TABLE_PAGE_SIZE));
  const page = Math.min(query.page, pages);
  const shown = matching.slice((page - 1) * TABLE_PAGE_SIZE, page * TABLE_PAGE_SIZE);
  const rows = shown
    .map((h) => {
      const last = h.facts.lastSuccessAt === null ? '<span class="muted">never</span>' : `${timeTag(h.facts.lastSuccessAt)} <span class="age">${escapeHtml(formatAge(now - h.facts.lastSuccessAt.getTime()))}</span>`;
      return `<tr><td data-label="Workspace"><a href="${workspaceHref(h.workspace)}">${escapeHtml(h.workspace)}</a></td><td data-label="State">${stateBadge(h.state)}</td><td data-label="Last success">${last}</td><td data-label="Why" class="why">${escapeHtml(h.reason)}</td></tr>`;
    })
    .join('\n');
  const link = (p: number) => `/?${new URLSearchParams({ ...(query.state ? { state: query.state } : {}), ...(query.q ? { q: query.q } : {}), page: String(p) }).toString()}`;
  const pager = `<nav class="pager" aria-label="Pages of the table"><span>${page > 1 ? `<a href="${escapeHtml(link(page - 1))}">← previous</a>` : ''}</span><span>${matching.length === 0 ? 'no workspace matches' : `${formatCount((page - 1) * TABLE_PAGE_SIZE + 1)}–${formatCount((page - 1) * TABLE_PAGE_SIZE + shown.length)} of ${formatCount(matching.length)}`}</span><span>${page < pages ? `<a href="${escapeHtml(link(page + 1))}">next →</a>` : ''}</span></nav>`;
  const options = ['<option value="">any state</option>', ...WORKSPACE_STATES.map((s) => `<option value="${s}"${query.state === s ? ' selected' : ''}>${s}</option>`)].join('');
  const table = `<h2 id="all">All workspaces</h2>
<form class="filter" method="get" action="/" role="search">
<input type="search" name="q" value="${escapeHtml(query.q ?? '')}" placeholder="workspace name contains…" aria-label="Workspace name contains">
<select name="state" aria-label="State">${options}</select>
<button type="submit">Filter</button>
</form>
<div class="scroll"><table class="cards workspaces">
<thead><tr><th scope="col">Workspace</th><th scope="col">State</th><th scope="col">Last success</th><th scope="col">Why</th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>
${pager}`;

  return layout(chrome, `${renderWebhook(webhook, now)}${summary}
<h2 id="attention">Needs attention (${formatCount(attention.length)})</h2>
${attentionHtml}${renderConsumers(consumers, now)}
${table}`);
}

/** Webhook delivery as this worker sees it: a paused receiver leads the page, since nothing downstream hears of changes. */
function renderWebhook(webhook: WebhookState | undefined, now: number): string {
  if (webhook === undefined) return '';
  if (webhook.paused) {
    const since = webhook.pausedAt === null ? '' : ` since ${timeTag(webhook.pausedAt)} <span class="age">${escapeHtml(formatAge(now - webhook.pausedAt.getTime()))}</span>`;
    return `<p class="warning-box" role="alert"><strong>Webhook paused</strong>${since}: ${webhook.failures} failed attempts to ${escapeHtml(webhook.receiver)}, the last ${escapeHtml(webhook.lastError ?? 'unknown')}; one attempt every WEBHOOK_PROBE_EVERY until it answers, then it catches up.</p>\n`;
  }
  const last = webhook.lastDeliveredAt === null ? 'nothing delivered yet' : `last delivered ${escapeHtml(formatAge(now - webhook.lastDeliveredAt.getTime()))}`;
  const failing = webhook.failures > 0 ? `; ${webhook.failures} failed attempt${webhook.failures === 1 ? '' : 's'} in a row, the last ${escapeHtml(webhook.lastError ?? 'unknown')}` : '';
  return `<p class="muted">Webhook to ${escapeHtml(webhook.receiver)}: ${webhook.role === 'delivering' ? `delivering from this worker, ${last}${failing}` : 'another worker delivers (this one stands by)'}.</p>\n`;
}

/** The change feed's consumers (`threetone-sync changes --consumer NAME`, the webhook): how far behind each is. */
function renderConsumers(consumers: readonly ConsumerLag[], now: number): string {
  if (consumers.length === 0) return '';
  const rows = consumers
    .map((c) => {
      const behind = c.lagEntries === 0 || c.oldestUnreadAt === null ? 'caught up' : `${c.lagEntries >= LAG_COUNT_CAP ? `${formatCount(LAG_COUNT_CAP)}+` : formatCount(c.lagEntries)} entries`;
      const oldest = c.oldestUnreadAt === null ? '—' : `${timeTag(c.oldestUnreadAt)} <span class="age">${escapeHtml(formatAge(now - c.oldestUnreadAt.getTime()))}</span>`;
      return `<tr><td data-label="Consumer">${escapeHtml(c.name)}</td><td data-label="Behind" class="num">${behind}</td><td data-label="Oldest unread">${oldest}</td><td data-label="Acknowledged">${escapeHtml(formatAge(now - c.updatedAt.getTime()))}</td></tr>`;
    })
    .join('\n');
  return `
<h2 id="consumers">Change feed consumers</h2>
<div class="scroll"><table class="cards consumers">
<thead><tr><th scope="col">Consumer</th><th scope="col" class="num">Behind</th><th scope="col">Oldest unread</th><th scope="col">Acknowledged</th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>`;
}
