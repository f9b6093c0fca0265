import { escapeHtml } from '../util/html.ts';
import { htmlCell, type CellKind } from './cells.ts';
import type { Table } from './tables.ts';

export interface HtmlTableOptions<Row> {
  /** Wraps the first cell's HTML: a link to the row's section, a "today, partial" mark. */
  firstCell?: (row: Row, html: string) => string;
  rowClass?: (row: Row) => string;
  /** A column drawn from the row (the dot plot), after the column named `after`: header HTML and cell HTML. */
  extra?: { after: string; head: string; cell: (row: Row) => string };
  /** Footer cells, HTML, one per column shown. */
  foot?: string[];
}

const NUMERIC: ReadonlySet<CellKind> = new Set(['count', 'rate', 'age']);

/**
 * A table in a box that scrolls sideways, so on a phone a wide table scrolls inside the page instead of
 * widening it. Columns marked csvOnly are left out.
 */
export function htmlTable<Row>(table: Table<Row>, rows: Row[], options: HtmlTableOptions<Row> = {}): string {
  const columns = table.columns.filter((c) => !c.csvOnly);
  const cls = (kind: CellKind) => (NUMERIC.has(kind) ? ' class="num"' : '');
  const extraAt = options.extra ? columns.findIndex((c) => c.name === options.extra!.after) + 1 : -1;
  const withExtra = (cells: string[], extra: () => string) => (extraAt > 0 ? [...cells.slice(0, extraAt), extra(), ...cells.slice(extraAt)] : cells);
  const head = withExtra(
    columns.map((c) => `<th scope="col"${cls(c.kind)}>${escapeHtml(c.label)}</th>`),
    () => `<th scope="col" class="plot">${options.extra!.head}</th>`,
  ).join('');
  const body = rows
    .map((row) => {
      const cells = withExtra(
        columns.map((c, i) => {
          const html = htmlCell(c.kind, c.value(row));
          return i === 0 ? `<th scope="row">${options.firstCell ? options.firstCell(row, html) : html}</th>` : `<td${cls(c.kind)}>${html}</td>`;
        }),
        () => `<td class="plot">${options.extra!.cell(row)}</td>`,
      );
      const rowClass = options.rowClass?.(row);
      return `<tr${rowClass ? ` class="${rowClass}"` : ''}>${cells.join('')}</tr>`;
    })
    .join('\n');
  const foot = options.foot
    ? `\n<tfoot><tr>${options.foot.map((html, i) => (i === 0 ? `<th scope="row">${html}</th>` : `<td${cls(columns[i]?.kind ?? 'text')}>${html}</td>`)).join('')}</tr></tfoot>`
    : '';
  return `<div class="scroll"><table>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>${foot}
</table></div>`;
}

/** A one-row table turned on its side: one line per column, easier to read than a dozen columns. */
export function htmlRecord<Row>(table: Table<Row>, row: Row): string {
  const lines = table.columns
    .filter((c) => !c.csvOnly)
    .map((c) => `<tr><th scope="row">${escapeHtml(c.label)}</th><td${NUMERIC.has(c.kind) ? ' class="num"' : ''}>${htmlCell(c.kind, c.value(row))}</td></tr>`)
    .join('\n');
  return `<div class="scroll"><table class="record">
<tbody>
${lines}
</tbody>
</table></div>`;
}
