/**
 * This process no longer owns its run: its workspace lock went away (the lock's connection died)
 * or another process took the run over. Nothing more may be written for it.
 */
export class RunOwnershipLostError extends Error {
  readonly runId: number;

  constructor(runId: number, workspace: string, why: string) {
    super(`sync run ${runId} of workspace "${workspace}" lost its ownership (${why}); it stopped and wrote nothing more`);
    this.name = this.constructor.name;
    this.runId = runId;
  }
}
