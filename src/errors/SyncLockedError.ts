/** Another process is already syncing this workspace. */
export class SyncLockedError extends Error {
  constructor(workspace: string) {
    super(`another sync of workspace "${workspace}" is running; not starting a second one`);
    this.name = this.constructor.name;
  }
}
