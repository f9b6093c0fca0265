import { escapeHtml } from '../util/html.ts';
import { formatCount, timeTag } from './cells.ts';
import type { DayRow } from './model.ts';
import { countScale } from './scale.ts';

const STATUS_COLOURS: Record<string, string> = {
  completed: '#2f9e44',
  in_progress: '#1c7ed6',
  pending: '#adb5bd',
  failed: '#e03131',
  cancelled: '#f08c00',
};
const OTHER = '#7048e8';

export function statusColour(status: string): string {
  return STATUS_COLOURS[status] ?? OTHER;
}

// The SVG scales with the page. Text is 11 units on a desktop and 20 on a phone (the page's CSS), so the
// margins leave room for the larger size; on a phone the values above the bars and every other date are
// hidden, and the table under the chart carries them.
const WIDTH = 640;
const HEIGHT = 250;
/** Room above the plot for the axis's title. */
const TITLE = 18;
const RIGHT = 8;
const BOTTOM = 56;
/** Room per character of a label at the phone's text size. */
const CHAR = 11;
/** How wide a value above a bar may be per digit at the desktop's text size. */
const DIGIT = 6.6;
/** Height of a line of text at the desktop's text size: an upright value needs a column this wide. */
const LINE = 11;
const MAX_BAR = 48;
const DATE_LABELS = 7;

/**
 * Stacked columns, one per UTC day and one segment per status, with a y axis at round numbers, dates on the x
 * axis, each day's total above its column where it fits, and today's column hatched and labelled partial.
 * `id` makes the hatch pattern's id unique in a page of many charts.
 */
export function dailyChart(days: DayRow[], statuses: string[], options: { id: string; title: string; generatedAt: Date }): string {
  const totals = days.map((d) => d.total);
  const scale = countScale(Math.max(...totals, 0));
  const left = Math.max(56, formatCount(scale.max).length * CHAR + 14);
  const plotWidth = WIDTH - left - RIGHT;
  const slot = plotWidth / days.length;
  const values = valueLabels(slot, formatCount(scale.max).length);
  const top = TITLE + values.room;
  const plotHeight = HEIGHT - top - BOTTOM;
  const bottom = top + plotHeight;
  const barWidth = Math.max(1, Math.min(slot * 0.8, MAX_BAR));
  const y = (jobs: number) => bottom - (plotHeight * jobs) / scale.max;
  const px = (n: number) => n.toFixed(1);
  const shown = statuses.filter((s) => days.some((d) => (d.byStatus[s] ?? 0) > 0));

  const grid = scale.ticks
    .map((t) => `<line class="grid" x1="${left}" x2="${WIDTH - RIGHT}" y1="${px(y(t))}" y2="${px(y(t))}"/><text class="tick" x="${left - 6}" y="${px(y(t))}" dy="0.35em" text-anchor="end">${formatCount(t)}</text>`)
    .join('\n');

  const hatch = `${options.id}-partial`;
  const columns = days
    .map((d, i) => {
      const x = left + i * slot + (slot - barWidth) / 2;
      let barTop = bottom;
      const segments = shown
        .map((status) => {
          const jobs = d.byStatus[status] ?? 0;
          if (jobs === 0) return '';
          const h = (plotHeight * jobs) / scale.max;
          barTop -= h;
          return `<rect x="${px(x)}" y="${px(barTop)}" width="${px(barWidth)}" height="${px(h)}" fill="${statusColour(status)}"><title>${escapeHtml(`${d.day} ${status}: ${formatCount(jobs)}`)}</title></rect>`;
        })
        .join('');
      const partial = d.partial && d.total > 0 ? `<rect class="partial" x="${px(x)}" y="${px(barTop)}" width="${px(barWidth)}" height="${px(bottom - barTop)}" fill="url(#${hatch})"/>` : '';
      const cx = px(x + barWidth / 2);
      const value =
        values.mode === 'none' || d.total === 0
          ? ''
          : values.mode === 'across'
            ? `<text class="value" x="${cx}" y="${px(barTop - 3)}" text-anchor="middle">${formatCount(d.total)}</text>`
            : `<text class="value" transform="translate(${cx} ${px(barTop - 3)}) rotate(-90)" dy="0.35em">${formatCount(d.total)}</text>`;
      return segments + partial + value;
    })
    .join('\n');

  return `<figure class="chart"><svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeHtml(summary(days, options.title))}">
<defs><pattern id="${hatch}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="#fff" fill-opacity="0.6"/></pattern></defs>
<text class="axis-title" x="0" y="0" dy="1em">jobs a day</text>
${grid}
${columns}
<line class="baseline" x1="${left}" x2="${WIDTH - RIGHT}" y1="${bottom}" y2="${bottom}"/>
${dateLabels(days, left, slot, bottom)}
</svg>
<figcaption>${legend(shown, days.some((d) => d.partial), options.generatedAt)}</figcaption></figure>`;
}

/**
 * Each day's total above its column: across when the number fits the column, turned upright when only its
 * height does, left out when not even that (then the y axis and the table under the chart say it).
 */
function valueLabels(slot: number, chars: number): { mode: 'across' | 'upright' | 'none'; room: number } {
  if (slot >= chars * DIGIT + 2) return { mode: 'across', room: 14 };
  if (slot >= LINE) return { mode: 'upright', room: chars * DIGIT + 6 };
  return { mode: 'none', room: 4 };
}

/** About DATE_LABELS dates, counted back from today so today always has its label; every other one is `alt` (hidden on a phone). */
function dateLabels(days: DayRow[], left: number, slot: number, bottom: number): string {
  const todayIndex = Math.max(0, days.findIndex((d) => d.partial));
  const every = Math.max(1, Math.ceil(days.length / DATE_LABELS));
  return days
    .map((d, i) => {
      const distance = Math.abs(todayIndex - i);
      if (distance % every !== 0) return '';
      const last = i === days.length - 1;
      const x = last && days.length > 1 ? left + (i + 1) * slot : left + (i + 0.5) * slot;
      const anchor = last && days.length > 1 ? 'end' : 'middle';
      const alt = (distance / every) % 2 === 1 ? ' alt' : '';
      const tick = `<line class="baseline" x1="${(left + (i + 0.5) * slot).toFixed(1)}" x2="${(left + (i + 0.5) * slot).toFixed(1)}" y1="${bottom}" y2="${bottom + 4}"/>`;
      const partial = d.partial ? `<tspan class="partial-label" x="${x.toFixed(1)}" dy="1.2em">today, partial</tspan>` : '';
      return `${tick}<text class="date${alt}" x="${x.toFixed(1)}" y="${bottom + 6}" dy="1em" text-anchor="${anchor}">${escapeHtml(d.day)}${partial}</text>`;
    })
    .join('');
}

function legend(statuses: string[], partial: boolean, generatedAt: Date): string {
  const keys = statuses.map((s) => `<span class="key"><i style="background:${statusColour(s)}"></i>${escapeHtml(s)}</span>`);
  if (partial) keys.push(`<span class="key"><i class="hatched"></i>today, partial (to ${timeTag(generatedAt)})</span>`);
  return keys.join(' ');
}

function summary(days: DayRow[], title: string): string {
  const total = days.reduce((sum, d) => sum + d.total, 0);
  const peak = days.reduce((best, d) => (d.total > best.total ? d : best), days[0]!);
  return `${title}: ${formatCount(total)} jobs over ${days.length} days, at most ${formatCount(peak.total)} on ${peak.day}`;
}
