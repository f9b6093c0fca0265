import { RunEvents } from '../../src/jobs/run-events.ts';
import type { SyncProgress } from '../../src/jobs/sync-run.ts';

/** What a test does after each committed page (fail the API, mutate it, ask the run to stop). */
export type PageHook = (progress: SyncProgress) => void;

/** A run's event bus with `hook` subscribed to every committed page; spread it into runSync's deps. */
export function afterEachPage(hook: PageHook): { events: RunEvents } {
  const events = new RunEvents((error) => {
    throw error;
  });
  events.on('page:committed', hook);
  return { events };
}
