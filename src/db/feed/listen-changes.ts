import postgres from 'postgres';
import { FEED_CHANNEL } from '../../feed/kinds.ts';

export interface ChangeListener {
  /** Whether LISTEN is in place now: notifications can be lost while it is not. */
  listening(): boolean;
  close(): Promise<void>;
}

export interface ListenOptions {
  /** Called for each notification of the feed's channel, and each time LISTEN is in place again after a drop (anything may have committed meanwhile). */
  onWake(): void;
  /** The connection dropped, or LISTEN failed again; `error` says why. */
  onDown?(error: unknown): void;
  /** Time between attempts to listen again. Default 5000 ms. */
  retryMs?: number;
}

/**
 * LISTEN on the feed's channel, on a one-connection client of its own. postgres.js's own sql.listen() listens
 * again once after a drop and gives up if that fails, without telling; here a close is seen (onclose), the
 * caller falls back to polling, and LISTEN is tried again every `retryMs` until it holds.
 */
export async function listenForChanges(databaseUrl: string, options: ListenOptions): Promise<ChangeListener> {
  let up = false;
  let closing = false;
  let timer: NodeJS.Timeout | undefined;
  const retryMs = options.retryMs ?? 5_000;
  const clientOptions = {
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    connect_timeout: 10,
    fetch_types: false,
    onnotice: () => undefined,
    connection: { application_name: 'threetone-sync-listen' },
    // Passed through by postgres.js to the connection (what its own listen() uses), though not in its types.
    onnotify: (channel: string) => {
      if (channel === FEED_CHANNEL) options.onWake();
    },
    onclose: () => {
      if (closing) return;
      if (up) options.onDown?.(new Error('the notification connection closed'));
      up = false;
      schedule();
    },
  };
  const session = postgres(databaseUrl, clientOptions as postgres.Options<Record<string, never>>);
  const attempt = async (): Promise<void> => {
    if (closing || up) return;
    try {
      await session.unsafe(`LISTEN ${FEED_CHANNEL}`);
      if (closing) return;
      up = true;
      options.onWake();
    } catch (error) {
      options.onDown?.(error);
      schedule();
    }
  };
  const schedule = () => {
    if (closing || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void attempt();
    }, retryMs);
  };
  await attempt();
  return {
    listening: () => up,
    async close() {
      closing = true;
      clearTimeout(timer);
      await session.end({ timeout: 5 });
    },
  };
}
