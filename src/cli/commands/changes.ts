import { InvalidArgumentError, type Command } from 'commander';
import { parseSince } from '../../feed/since.ts';
import { integer, setup, withExistingDatabase } from '../program.ts';

interface ChangesOptions {
  consumer: string;
  follow?: boolean;
  since?: string;
  limit?: number;
  batchSize: number;
}

/** Exit code when another process reads the same consumer. */
const EXIT_BUSY = 1;

export function registerChanges(program: Command): void {
  program
    .command('changes')
    .description('print the change feed as JSON lines for a named consumer, from where it last stopped')
    .requiredOption('--consumer <name>', 'the consumer: its position is kept in Postgres (feed_consumers)')
    .option('--follow', 'once caught up, wait for changes (LISTEN/NOTIFY, polling every 5 s while that is down)')
    .option('--since <start>', 'where a new consumer starts: beginning (default), now, XID:ID, a duration such as 2h or 7d, or an ISO 8601 time with a zone', sinceArgument)
    .option('--limit <n>', 'stop after this many entries', integer('--limit', 1, 1_000_000_000))
    .option('--batch-size <n>', 'entries read, printed and acknowledged together', integer('--batch-size', 1, 100_000), 5000)
    .addHelpText(
      'after',
      `
Each line is one entry: {"id", "position", "kind", "workspace", "job_id", "version", "status", "previous_status",
"observed_at", "run_id"}; kind is created, updated, amended, deleted or undeleted. The consumer's position is
stored after each batch has been written to stdout, so a consumer stopped or killed anywhere gets the unfinished
batch again: delivery is at least once; deduplicate on id. --since applies only when the consumer is new.
SQL users get the same from threetone_changes(consumer, max) and threetone_changes_ack(consumer, xid, id).`,
    )
    .action(async (opts: ChangesOptions) => {
      const { config, log } = setup();
      const since = opts.since ?? 'beginning';
      await withExistingDatabase(config, log, async (database) => {
        const [{ lockConsumer }, { createConsumer }, { readChanges }, { hasPendingChanges }, { ackConsumer }, { listenForChanges }, { consume }, { Wake }, { formatPosition }] =
          await Promise.all([
            import('../../db/feed/lock-consumer.ts'),
            import('../../db/feed/create-consumer.ts'),
            import('../../db/feed/read-changes.ts'),
            import('../../db/feed/pending-changes.ts'),
            import('../../db/feed/ack-consumer.ts'),
            import('../../db/feed/listen-changes.ts'),
            import('../../feed/consume.ts'),
            import('../../feed/wake.ts'),
            import('../../feed/position.ts'),
          ]);
        const lock = await lockConsumer(database.url, opts.consumer);
        if (!lock) {
          process.stderr.write(`error: consumer "${opts.consumer}" is being read by another process; each consumer is read by one at a time\n`);
          process.exitCode = EXIT_BUSY;
          return;
        }
        const wake = new Wake();
        const stop = (signal: NodeJS.Signals) => {
          if (signal === 'SIGINT') process.exitCode = 130;
          wake.stop();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        // A closed pipe (`changes | head`) fails the pending write, which stops the command before its ack.
        const ignore = () => undefined;
        process.stdout.on('error', ignore);
        let listener: Awaited<ReturnType<typeof listenForChanges>> | undefined;
        try {
          const start = await createConsumer(database.sql, opts.consumer, since);
          if (!start.created && opts.since !== undefined) {
            process.stderr.write(`note: consumer "${opts.consumer}" exists (at ${formatPosition(start.position)}): --since applies only to a new consumer\n`);
          }
          if (opts.follow) {
            listener = await listenForChanges(database.url, {
              onWake: () => wake.notify(),
              onDown: (error) => {
                log.warn({ error: (error as Error)?.message }, 'change notifications are down: polling every 5 s');
                // Read now, then every 5 s (consume polls while listening() is false) until LISTEN holds again.
                wake.notify();
              },
            });
          }
          const result = await consume(
            {
              read: (position, limit) => readChanges(database.sql, position, limit),
              pending: (position) => hasPendingChanges(database.sql, position),
              ack: (position) => ackConsumer(database.sql, opts.consumer, position),
              write: writeStdout,
              listening: () => listener?.listening() ?? false,
            },
            { start: start.position, batchSize: opts.batchSize, limit: opts.limit, follow: opts.follow === true, wake },
          );
          log.info({ consumer: opts.consumer, entries: result.entries, position: formatPosition(result.position) }, 'changes printed');
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          process.stdout.off('error', ignore);
          await listener?.close();
          await lock.release();
        }
      });
    });
}

function sinceArgument(value: string): string {
  try {
    return parseSince(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** Resolves once the chunk has been handed to the operating system (the pipe or file), rejects on EPIPE and the like. */
function writeStdout(chunk: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
}
