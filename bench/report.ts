import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatTable } from '../src/util/table.ts';

/** One row of the report: what was measured, its value, the target and how the value compares. */
export interface Figure {
  figure: string;
  value: string;
  target: string;
  /** `1.07x ok`, `MISS`, `info`, … */
  verdict: string;
}

/** Every bench returns its rows and, separately, problems that must fail the run (a wrong result, not a slow one). */
export interface BenchResult {
  figures: Figure[];
  failures: string[];
}

export const BENCHMARKS_MD = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));

export function info(figure: string, value: string, note = 'info'): Figure {
  return { figure, value, target: '-', verdict: note };
}

/** A ratio against a reference: `value` must be at most `max` times `reference`. */
export function ratioAtMost(figure: string, value: string, ratio: number, max: number, what: string): Figure {
  return { figure, value, target: `<= ${max}x ${what}`, verdict: `${ratio.toFixed(2)}x ${ratio <= max ? 'ok' : 'MISS'}` };
}

/** A ratio against a reference: at least `min` times. */
export function ratioAtLeast(figure: string, value: string, ratio: number, min: number, what: string): Figure {
  return { figure, value, target: `>= ${min}x ${what}`, verdict: `${ratio.toFixed(2)}x ${ratio >= min ? 'ok' : 'MISS'}` };
}

export function atMost(figure: string, value: number, max: number, unit: string, digits = 0): Figure {
  return { figure, value: `${value.toFixed(digits)} ${unit}`.trim(), target: `<= ${max} ${unit}`.trim(), verdict: value <= max ? 'ok' : 'MISS' };
}

export function failed(figure: string, error: unknown): Figure {
  const message = error instanceof Error ? error.message : String(error);
  return { figure, value: 'FAILED', target: '-', verdict: message.split('\n')[0]?.slice(0, 160) ?? 'error' };
}

export function rate(rows: number, ms: number): number {
  return ms > 0 ? (rows * 1000) / ms : 0;
}

export function formatRate(rowsPerSecond: number): string {
  return `${Math.round(rowsPerSecond).toLocaleString('en-US')} rows/s`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatMb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function renderTable(figures: Figure[]): string {
  return formatTable(figures as unknown as Record<string, unknown>[], ['figure', 'value', 'target', 'verdict']);
}

/** Cores, RAM, CPU model, Node and Postgres versions. */
export function describeMachine(postgres: { version: string; description: string }): string {
  let cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    if (model) cpu = model.trim();
  } catch {
    // Not Linux: os.cpus() is all there is.
  }
  const ram = `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM`;
  return `${os.cpus().length} cores (${cpu}), ${ram}, ${os.platform()} ${os.release()}, Node ${process.version}, PostgreSQL ${postgres.version} (${postgres.description})`;
}

const HEADER = `# Benchmarks

Runs appended by \`npm run bench\` (bench/run.ts); see the notes at the top for what each figure means.
`;

/** Appends one run (date, machine, table) to BENCHMARKS.md, creating the file if needed. */
export function appendRun(table: string, machine: string, totalMs: number, date = new Date()): void {
  if (!existsSync(BENCHMARKS_MD)) writeFileSync(BENCHMARKS_MD, HEADER);
  const block = `\n### Run of ${date.toISOString().replace(/\.\d+Z$/, 'Z')}\n\n${machine}; whole bench ${(totalMs / 1000).toFixed(0)} s.\n\n\`\`\`text\n${table}\n\`\`\`\n`;
  appendFileSync(BENCHMARKS_MD, block);
}
