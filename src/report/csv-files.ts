import { csvCell } from './cells.ts';
import { toCsv } from './csv.ts';
import type { ReportModel, WorkspaceReport } from './model.ts';
import { AGENTS_TABLE, jobsPerDayTable, totalsTable, WORKSPACES_TABLE, type Column, type Table } from './tables.ts';

export interface CsvFile {
  file: string;
  text: string;
}

/**
 * One file per table the page draws. A per-workspace table becomes one file for every workspace, with the
 * workspace as its first column (300 workspaces are one file to load, not 300); the page's "all days" footer
 * rows are sums of the rows above, and are left out, as a program would count them twice.
 */
export function reportCsvFiles(model: ReportModel): CsvFile[] {
  return [
    csv(totalsTable(model.statuses), [{ ...model.totals, from: model.from, generatedAt: model.generatedAt }]),
    csv(WORKSPACES_TABLE, model.workspaces),
    perWorkspace(jobsPerDayTable(model.statuses), model.workspaces, (w) => w.days),
    perWorkspace(AGENTS_TABLE, model.workspaces, (w) => w.agents),
  ];
}

function csv<Row>(table: Table<Row>, rows: Row[]): CsvFile {
  return {
    file: table.file,
    text: toCsv(
      table.columns.map((c) => c.name),
      rows.map((row) => table.columns.map((c) => csvCell(c.kind, c.value(row)))),
    ),
  };
}

function perWorkspace<Row>(table: Table<Row>, workspaces: WorkspaceReport[], rowsOf: (w: WorkspaceReport) => Row[]): CsvFile {
  type Owned = { workspace: string; row: Row };
  const columns: Column<Owned>[] = [
    { name: 'workspace', label: 'workspace', kind: 'text', value: (o) => o.workspace },
    ...table.columns.map((c): Column<Owned> => ({ ...c, value: (o) => c.value(o.row) })),
  ];
  return csv({ file: table.file, columns }, workspaces.flatMap((w) => rowsOf(w).map((row) => ({ workspace: w.workspace, row }))));
}
