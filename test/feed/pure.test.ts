import { describe, expect, it } from 'vitest';
import { consume, type ConsumeIo } from '../../src/feed/consume.ts';
import { formatBatch, formatLine, type FeedEntry } from '../../src/feed/line.ts';
import { comparePositions, formatPosition, parsePosition, type FeedPosition } from '../../src/feed/position.ts';
import { parseSince } from '../../src/feed/since.ts';
import { Wake } from '../../src/feed/wake.ts';

const entry = (id: number, xid = 100): FeedEntry => ({
  id: BigInt(id),
  xid: BigInt(xid),
  kind: 'updated',
  workspace: 'w',
  jobId: `job${id}`,
  version: 1_700_000_000 + id,
  status: 'completed',
  previousStatus: 'in_progress',
  observedAt: new Date('2026-05-01T08:00:00.123Z'),
  runId: 7,
});

describe('positions', () => {
  it('parses and prints XID:ID, refusing anything else', () => {
    expect(parsePosition('12345:678')).toEqual({ xid: 12345n, id: 678n });
    expect(formatPosition({ xid: 18446744073709551615n, id: 9223372036854775807n })).toBe('18446744073709551615:9223372036854775807');
    expect(parsePosition('18446744073709551616:1')).toBeUndefined();
    expect(parsePosition('1:9223372036854775808')).toBeUndefined();
    for (const bad of ['', '12', '1:', ':1', '-1:2', '1:2:3', '1.5:2', 'a:b']) expect(parsePosition(bad), bad).toBeUndefined();
  });

  it('orders by transaction first, then id', () => {
    const p = (xid: bigint, id: bigint): FeedPosition => ({ xid, id });
    expect(comparePositions(p(1n, 99n), p(2n, 1n))).toBeLessThan(0);
    expect(comparePositions(p(2n, 1n), p(2n, 3n))).toBeLessThan(0);
    expect(comparePositions(p(2n, 3n), p(2n, 3n))).toBe(0);
    expect(comparePositions(p(3n, 0n), p(2n, 9n))).toBeGreaterThan(0);
  });
});

describe('--since', () => {
  it('takes the keywords, a position, a duration (as an interval for the server clock) and a zoned ISO time', () => {
    expect(parseSince('beginning')).toBe('beginning');
    expect(parseSince(' NOW ')).toBe('now');
    expect(parseSince('811:42')).toBe('811:42');
    expect(parseSince('90s')).toBe('90 seconds');
    expect(parseSince('15m')).toBe('900 seconds');
    expect(parseSince('2h')).toBe('7200 seconds');
    expect(parseSince('7d')).toBe('604800 seconds');
    expect(parseSince('2026-05-01T10:00:00+02:00')).toBe('2026-05-01T08:00:00.000Z');
    expect(parseSince('2026-05-01T08:00Z')).toBe('2026-05-01T08:00:00.000Z');
  });

  it('refuses a time without a zone, a bare date and words it does not know, in one line', () => {
    for (const bad of ['yesterday', '2026-05-01', '2026-05-01T08:00:00', '2h30m', '-5m', '', '2026-13-01T08:00:00Z']) {
      expect(() => parseSince(bad), bad).toThrow(/^--since must be beginning, now, a position XID:ID/);
    }
  });
});

describe('lines', () => {
  it('prints one JSON object per entry with its stable id and its position', () => {
    expect(JSON.parse(formatLine(entry(5)))).toEqual({
      id: 5,
      position: '100:5',
      kind: 'updated',
      workspace: 'w',
      job_id: 'job5',
      version: 1_700_000_005,
      status: 'completed',
      previous_status: 'in_progress',
      observed_at: '2026-05-01T08:00:00.123Z',
      run_id: 7,
    });
    expect(formatBatch([entry(1), entry(2)]).split('\n')).toHaveLength(3);
    expect(formatBatch([entry(1), entry(2)]).endsWith('}\n')).toBe(true);
  });
});

/** An in-memory feed: entries become readable when `visible` says so. */
function fakeFeed(all: FeedEntry[]) {
  const log: string[] = [];
  const state = { visibleUpTo: all.length, listening: true, acked: undefined as FeedPosition | undefined, out: '' };
  const io: ConsumeIo = {
    async read(position, limit) {
      log.push(`read ${formatPosition(position)} ${limit}`);
      return all.slice(0, state.visibleUpTo).filter((e) => comparePositions(e, position) > 0).slice(0, limit);
    },
    async pending(position) {
      return all.slice(state.visibleUpTo).some((e) => comparePositions(e, position) > 0);
    },
    async ack(position) {
      log.push(`ack ${formatPosition(position)}`);
      state.acked = position;
    },
    async write(chunk) {
      log.push(`write ${chunk.split('\n').length - 1}`);
      state.out += chunk;
    },
    listening: () => state.listening,
  };
  return { io, log, state };
}

describe('consume', () => {
  it('writes each batch before acknowledging it, and stops at --limit', async () => {
    const { io, log, state } = fakeFeed(Array.from({ length: 7 }, (_, i) => entry(i + 1)));
    const result = await consume(io, { start: { xid: 0n, id: 0n }, batchSize: 3, limit: 5, follow: false, wake: new Wake() });
    expect(result).toEqual({ entries: 5, position: { xid: 100n, id: 5n } });
    expect(log).toEqual(['read 0:0 3', 'write 3', 'ack 100:3', 'read 100:3 2', 'write 2', 'ack 100:5']);
    expect(state.out.split('\n').filter(Boolean).map((l) => JSON.parse(l).id)).toEqual([1, 2, 3, 4, 5]);
  });

  it('acknowledges nothing of a batch whose write failed', async () => {
    const { io, log } = fakeFeed([entry(1), entry(2)]);
    io.write = async () => Promise.reject(new Error('EPIPE'));
    await expect(consume(io, { start: { xid: 0n, id: 0n }, batchSize: 10, follow: false, wake: new Wake() })).rejects.toThrow('EPIPE');
    expect(log.filter((l) => l.startsWith('ack'))).toEqual([]);
  });

  it('following, re-reads soon while entries are held back, then sleeps until notified or the poll', async () => {
    const all = [entry(1), entry(2, 101)];
    const { io, state } = fakeFeed(all);
    state.visibleUpTo = 1;
    const wake = new Wake();
    const waits: number[] = [];
    // Each wait returns at once, as the script says: what happened while it "waited".
    wake.wait = async (ms: number) => {
      waits.push(ms);
      if (waits.length === 3) state.visibleUpTo = 2; // the older transaction ended, which sends no notification
      if (waits.length === 4) state.listening = false;
      if (waits.length === 5) {
        all.push(entry(3, 102)); // a new commit, notified
        state.visibleUpTo = 3;
        return 'notified';
      }
      if (waits.length === 6) return 'stopped';
      return 'timeout';
    };
    const result = await consume(io, { start: { xid: 0n, id: 0n }, batchSize: 10, follow: true, wake, retryMs: [1, 2], pollMs: 5000, safetyPollMs: 30_000 });
    expect(result).toEqual({ entries: 3, position: { xid: 102n, id: 3n } });
    // Held back: 1, 2, 2 ms (the last delay repeats); caught up and listening: 30 s; not listening: 5 s.
    expect(waits).toEqual([1, 2, 2, 30_000, 5000, 5000]);
  });

  it('after a notification that gave nothing, re-reads a few times before sleeping', async () => {
    const { io } = fakeFeed([]);
    const wake = new Wake();
    const waits: number[] = [];
    wake.wait = async (ms: number) => {
      waits.push(ms);
      if (waits.length === 1) return 'notified';
      return waits.length === 5 ? 'stopped' : 'timeout';
    };
    await consume(io, { start: { xid: 0n, id: 0n }, batchSize: 10, follow: true, wake, retryMs: [1, 2, 4] });
    expect(waits).toEqual([30_000, 1, 2, 4, 30_000]);
  });
});

describe('Wake', () => {
  it('keeps a notification that came while nobody waited, and ends every wait once stopped', async () => {
    const wake = new Wake();
    wake.notify();
    expect(await wake.wait(60_000)).toBe('notified');
    const waiting = wake.wait(60_000);
    wake.notify();
    expect(await waiting).toBe('notified');
    expect(await wake.wait(1)).toBe('timeout');
    const stopped = wake.wait(60_000);
    wake.stop();
    expect(await stopped).toBe('stopped');
    expect(await wake.wait(60_000)).toBe('stopped');
  });
});
