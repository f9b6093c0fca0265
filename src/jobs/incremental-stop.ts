/**
 * When an incremental walk may stop early. Pages come newest first and old
 * jobs are final, so once (a) every job we hold in a non-final state has been
 * seen again and (b) the last `quietPages` pages brought nothing new or
 * changed, the rest of the list is what we already have. What this misses (a
 * final job that came back to life further down) the nightly reconciliation
 * catches; an early-stopped walk never infers deletes. Only used once some
 * run has walked every page: before that the copy may have gaps further down.
 */
export class IncrementalStop {
  private readonly unseen: Set<string>;
  private quiet = 0;

  constructor(
    nonFinalIds: Iterable<string>,
    private readonly quietPages: number,
  ) {
    this.unseen = new Set(nonFinalIds);
  }

  /** Feeds one committed page; true when the walk may stop after it. */
  afterPage(seenIds: Iterable<string>, changed: number): boolean {
    for (const id of seenIds) this.unseen.delete(id);
    this.quiet = changed === 0 ? this.quiet + 1 : 0;
    return this.unseen.size === 0 && this.quiet >= this.quietPages;
  }

  /** Non-final jobs not seen yet (for the log when the walk runs to the end). */
  get pending(): number {
    return this.unseen.size;
  }
}
