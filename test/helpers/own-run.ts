import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/db/connection.ts';
import type { RunOwner } from '../../src/db/runs/run-owner.ts';
import type { RunKind } from '../../src/domain/runs.ts';
import { startRun } from '../../src/db/runs/start-run.ts';
import { lockWorkspace } from '../../src/db/workspace-lock.ts';

/** A run opened the way runSync opens one: the workspace lock taken, a `running` row owned by a fresh token. */
export async function ownRun(database: Database, workspace: string, kind: RunKind = 'full'): Promise<{ owner: RunOwner; release(): Promise<void> }> {
  const lock = await lockWorkspace(database.url, workspace);
  const token = randomUUID();
  const runId = await startRun(database.sql, workspace, kind, token);
  return { owner: { runId, workspace, token, lockPid: lock.pid }, release: lock.release };
}
