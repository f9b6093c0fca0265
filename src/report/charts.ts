import { escapeHtml } from '../util/html.ts';

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

/** Stacked columns: one per day, one segment per status. Inline SVG, no script. */
export function stackedDaily(rows: { day: string; status: string; jobs: number }[], title: string): string {
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const statuses = [...new Set(rows.map((r) => r.status))].sort();
  if (days.length === 0) return `<p class="empty">No jobs in this period.</p>`;
  const totals = days.map((d) => rows.filter((r) => r.day === d).reduce((sum, r) => sum + r.jobs, 0));
  const max = Math.max(...totals, 1);
  const width = 640;
  const height = 220;
  const pad = 28;
  const barWidth = (width - pad * 2) / days.length;
  const bars = days
    .map((day, i) => {
      let y = height - pad;
      return statuses
        .map((status) => {
          const jobs = rows.find((r) => r.day === day && r.status === status)?.jobs ?? 0;
          if (jobs === 0) return '';
          const h = ((height - pad * 2) * jobs) / max;
          y -= h;
          return `<rect x="${(pad + i * barWidth + 1).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, barWidth - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${statusColour(status)}"><title>${escapeHtml(`${day} ${status}: ${jobs}`)}</title></rect>`;
        })
        .join('');
    })
    .join('');
  const legend = statuses
    .map((s) => `<span class="key"><i style="background:${statusColour(s)}"></i>${escapeHtml(s)}</span>`)
    .join(' ');
  return `<figure><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(title)}">
<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#868e96"/>
<text x="${pad}" y="${pad - 10}" class="axis">max ${max} a day</text>
<text x="${pad}" y="${height - 8}" class="axis">${escapeHtml(days[0])}</text>
<text x="${width - pad}" y="${height - 8}" class="axis" text-anchor="end">${escapeHtml(days[days.length - 1])}</text>
${bars}</svg><figcaption>${legend}</figcaption></figure>`;
}

/** Horizontal bars of a 0..1 rate, one per label. */
export function rateBars(rows: { label: string; rate: number | null; note: string }[], title: string): string {
  if (rows.length === 0) return `<p class="empty">No agents in this period.</p>`;
  const width = 640;
  const rowHeight = 22;
  const labelWidth = 200;
  const height = rows.length * rowHeight + 10;
  const bars = rows
    .map((r, i) => {
      const y = 5 + i * rowHeight;
      const w = ((width - labelWidth - 70) * (r.rate ?? 0)).toFixed(1);
      const pct = r.rate === null ? 'n/a' : `${(r.rate * 100).toFixed(1)}%`;
      return `<text x="${labelWidth - 6}" y="${y + 15}" text-anchor="end">${escapeHtml(r.label)}</text>
<rect x="${labelWidth}" y="${y + 3}" width="${w}" height="${rowHeight - 6}" fill="#1c7ed6"><title>${escapeHtml(r.note)}</title></rect>
<text x="${labelWidth + Number(w) + 6}" y="${y + 15}">${pct}</text>`;
    })
    .join('');
  return `<figure><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(title)}">${bars}</svg></figure>`;
}
