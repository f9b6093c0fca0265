import { formatRate } from './cells.ts';
import type { AgentRow } from './model.ts';
import { rateScale, type Scale } from './scale.ts';

/**
 * Finish rates as dots on an axis that starts at a round number below the smallest rate, as the last column
 * of the agents' table: a dot's position, unlike a bar's length, does not claim a distance from 0, and the
 * table beside it gives each agent's n. The workspace's overall rate is drawn through every row.
 */
export function ratePlot(agents: AgentRow[], overall: number | null): { head: string; cell(row: AgentRow): string; note: string } {
  const rates = agents.map((a) => a.finishRate).filter((r): r is number => r !== null);
  // Three or four ticks: their labels share a column about 180 px wide.
  const scale = rateScale(rates, 3);
  const at = (rate: number) => `${(((rate - scale.min) / (scale.max - scale.min)) * 100).toFixed(2)}%`;
  const grid = scale.ticks.map((t) => `<i class="grid" style="left:${at(t)}"></i>`).join('');
  const line = overall === null ? '' : `<i class="overall" style="left:${at(overall)}" title="workspace overall ${formatRate(overall)}"></i>`;
  return {
    head: `<span class="plot-title">finish rate, axis ${axisWords(scale)}</span><span class="ticks">${scale.ticks
      .map((t, i) => `<span class="${i === 0 ? 'first' : i === scale.ticks.length - 1 ? 'last' : ''}" style="left:${at(t)}">${tickLabel(t, scale)}</span>`)
      .join('')}</span>`,
    cell: (row) =>
      row.finishRate === null
        ? '<span class="empty">no calls scheduled</span>'
        : `<span class="track">${grid}${line}<i class="dot" style="left:${at(row.finishRate)}" title="${formatRate(row.finishRate)}"></i></span>`,
    note:
      scale.min > 0
        ? `The dots' axis runs from ${tickLabel(scale.min, scale)} to ${tickLabel(scale.max, scale)}: it does not start at 0.`
        : `The dots' axis runs from 0% to ${tickLabel(scale.max, scale)}.`,
  };
}

function axisWords(scale: Scale): string {
  return scale.min > 0 ? `from ${tickLabel(scale.min, scale)}, not 0` : 'from 0';
}

/** As many decimals as the step needs: 88%, 90%, … or 99.5%, 100.0%. */
function tickLabel(value: number, scale: Scale): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(scale.step * 100) + 1e-9));
  return `${(value * 100).toFixed(decimals)}%`;
}
