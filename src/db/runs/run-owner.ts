/**
 * Who may write a run: the attempt holding its fencing token, while the
 * session that took the workspace lock still holds it.
 */
export interface RunOwner {
  runId: number;
  workspace: string;
  /** sync_runs.owner, renewed by every attempt that opens or resumes the run. */
  token: string;
  /** Backend pid of the workspace lock's session. */
  lockPid: number;
  /**
   * When this attempt opened the run, on the database's clock: every page it writes was listed after this. A
   * job marked deleted later may have been listed before the mark, so its pages do not undelete it.
   */
  openedAt: Date;
}
