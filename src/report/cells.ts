import { escapeHtml } from '../util/html.ts';
import { formatAge, formatTime } from '../util/time-format.ts';

/**
 * What a table cell holds, and how each output writes it: the page for a reader (thousands separators, a
 * percentage, an age), the CSV for a program (plain digits, a fraction, seconds). The value is the same.
 */
export type CellKind = 'text' | 'count' | 'rate' | 'time' | 'day' | 'age' | 'flag';
export type CellValue = string | number | boolean | Date | null;

export function csvCell(kind: CellKind, value: CellValue): string {
  if (value === null) return '';
  switch (kind) {
    case 'rate':
      return (value as number).toFixed(4);
    case 'time':
      return formatTime(value as Date);
    case 'age':
      return String(Math.round((value as number) / 1000));
    case 'flag':
      return value ? 'true' : 'false';
    default:
      return String(value);
  }
}

/** HTML for one cell's content; every value goes through escapeHtml or is a number we formatted. */
export function htmlCell(kind: CellKind, value: CellValue): string {
  switch (kind) {
    case 'count':
      return value === null ? '—' : formatCount(value as number);
    case 'rate':
      return formatRate(value as number | null);
    case 'time':
      return value === null ? 'never' : timeTag(value as Date);
    case 'day':
      return dayTag(String(value));
    case 'age':
      return value === null ? 'never' : escapeHtml(formatAge(value as number));
    case 'flag':
      return value ? 'yes' : 'no';
    default:
      return value === null ? '—' : escapeHtml(value);
  }
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** 95.0% to one decimal: a finish rate's differences that matter are a point or more. */
export function formatRate(rate: number | null): string {
  return rate === null ? 'n/a' : `${(rate * 100).toFixed(1)}%`;
}

export function timeTag(date: Date): string {
  const iso = formatTime(date);
  return `<time datetime="${iso}">${iso}</time>`;
}

export function dayTag(day: string): string {
  return `<time datetime="${escapeHtml(day)}">${escapeHtml(day)}</time>`;
}
