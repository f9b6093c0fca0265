import type { Database } from '../../src/db/connection.ts';
import { RunLedger } from '../../src/db/runs/run-ledger.ts';
import type { RunOwner } from '../../src/db/runs/run-owner.ts';
import type { RunKind } from '../../src/domain/runs.ts';
import { LANE_OF_KIND, lockWorkspace } from '../../src/db/workspace-lock.ts';

/** A run opened the way runSync opens a kind that never resumes: the workspace lock taken, then a new `running` row from RunLedger.open. */
export async function ownRun(database: Database, workspace: string, kind: RunKind = 'full'): Promise<{ owner: RunOwner; release(): Promise<void> }> {
  const lock = await lockWorkspace(database.url, workspace, { lane: LANE_OF_KIND[kind] });
  const { owner } = await RunLedger.open(database.sql, { workspace, kind, resumes: false, lockPid: lock.pid });
  return { owner, release: lock.release };
}
