/**
 * What a follower waits on once it has read everything: a notification (the feed's NOTIFY, or the notification
 * connection coming back), a timer, or a stop. A notification that arrives while the follower is reading is
 * kept, so the next wait returns at once and nothing that committed meanwhile waits for the next timer.
 */
export class Wake {
  #pending = false;
  #resolve: ((reason: WakeReason) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  /** A notification: wakes the waiter now, or the next wait. */
  notify(): void {
    if (this.#resolve) this.#settle('notified');
    else this.#pending = true;
  }

  /** Ends the current and every later wait. */
  stop(): void {
    this.#stopped = true;
    this.#settle('stopped');
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Resolves with why it woke: a notification, `ms` elapsed, or a stop. */
  wait(ms: number): Promise<WakeReason> {
    if (this.#stopped) return Promise.resolve('stopped');
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve('notified');
    }
    return new Promise((resolve) => {
      this.#resolve = resolve;
      this.#timer = setTimeout(() => this.#settle('timeout'), ms);
    });
  }

  #settle(reason: WakeReason): void {
    const resolve = this.#resolve;
    this.#resolve = undefined;
    clearTimeout(this.#timer);
    resolve?.(reason);
  }
}

export type WakeReason = 'notified' | 'timeout' | 'stopped';
