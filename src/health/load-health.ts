import type postgres from 'postgres';
import { workspaceFacts } from '../db/health/workspace-facts.ts';
import { judgeWorkspace, worstFirst, type HealthThresholds, type WorkspaceHealth } from './judge.ts';

/** Every workspace (or the one named), judged at `now`, worst first: what the page, `status` and /metrics show. */
export async function loadHealth(sql: postgres.Sql, thresholds: HealthThresholds, now: Date, workspace?: string): Promise<WorkspaceHealth[]> {
  const facts = await workspaceFacts(sql, workspace);
  return facts.map((f) => judgeWorkspace(f, thresholds, now)).sort(worstFirst);
}
