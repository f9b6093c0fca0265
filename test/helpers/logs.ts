import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.ts';

/** The production logger (same redaction), its lines kept for assertions. */
export function captureLogs(level = 'debug'): { log: Logger; lines: string[]; text(): string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { log: createLogger({ level, destination: sink, pretty: false }), lines, text: () => lines.join('\n') };
}
