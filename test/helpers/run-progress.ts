import type { Database } from '../../src/db/connection.ts';
import type { RunKind } from '../../src/domain/runs.ts';

export interface RunProgress {
  /** Attempts of the workspace's runs of this kind: one more as soon as an attempt opens or resumes its run. */
  attempts: number;
  /** Pages they committed. */
  pages: number;
  /** The latest run committed its last page (it may still be finishing). */
  atEnd: boolean;
}

/** How far a workspace's runs of one kind got, read from sync_runs (for killing a process at a chosen point). */
export async function runProgress(database: Database, workspace: string, kind: RunKind): Promise<RunProgress> {
  const [row] = await database.sql<RunProgress[]>`
    select coalesce(sum(attempts), 0)::int as attempts, coalesce(sum(pages), 0)::int as pages,
           coalesce(bool_or(id = (select max(id) from sync_runs where workspace = ${workspace} and kind = ${kind})
                            and pages > 0 and next_cursor is null), false) as "atEnd"
    from sync_runs where workspace = ${workspace} and kind = ${kind}`;
  return row!;
}

/** Whether the workspace's latest run of `kind` stopped mid-walk with its cursor saved, so that its next attempt resumes it. */
export async function resumable(database: Database, workspace: string, kind: RunKind): Promise<boolean> {
  const [latest] = await database.sql<{ resumable: boolean }[]>`
    select status <> 'succeeded' and next_cursor is not null as resumable from sync_runs
    where workspace = ${workspace} and kind = ${kind} order by id desc limit 1`;
  return latest?.resumable === true;
}
