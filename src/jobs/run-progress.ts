import type { PageWriteResult } from '../db/write-page.ts';

/** Counters of one attempt, shown as it goes (progress line, status) and summed into the summary. */
export interface SyncProgress {
  runId: number;
  workspace: string;
  /** Pages and items of this attempt (a resumed run's row also counts earlier attempts). */
  pages: number;
  itemsSeen: number;
  versionsAdded: number;
  versionsAmended: number;
  rowsInserted: number;
  rowsUpdated: number;
  rejected: number;
  undeleted: number;
  requests: number;
  retries: number;
}

export function emptyProgress(runId: number, workspace: string): SyncProgress {
  return {
    runId,
    workspace,
    pages: 0,
    itemsSeen: 0,
    versionsAdded: 0,
    versionsAmended: 0,
    rowsInserted: 0,
    rowsUpdated: 0,
    rejected: 0,
    undeleted: 0,
    requests: 0,
    retries: 0,
  };
}

/** The counters after one committed page. */
export function addPage(
  progress: SyncProgress,
  page: { items: number; rejected: number; written: PageWriteResult; requests: number; retries: number },
): SyncProgress {
  const { written } = page;
  return {
    ...progress,
    pages: progress.pages + 1,
    itemsSeen: progress.itemsSeen + page.items,
    versionsAdded: progress.versionsAdded + written.versionsAdded,
    versionsAmended: progress.versionsAmended + written.versionsAmended,
    rowsInserted: progress.rowsInserted + written.rowsInserted,
    rowsUpdated: progress.rowsUpdated + written.rowsUpdated,
    rejected: progress.rejected + page.rejected + written.refused.length,
    undeleted: progress.undeleted + written.undeleted,
    requests: page.requests,
    retries: page.retries,
  };
}
