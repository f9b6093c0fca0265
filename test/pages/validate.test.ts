import { describe, expect, it } from 'vitest';
import { unstorableString } from '../../src/pages/storable.ts';
import { validateItems } from '../../src/pages/validate.ts';
import { batchCalls } from '../../src/resources/batch-calls.ts';

const good = {
  id: 'bc_1',
  name: 'Renewals',
  agent_id: 'ag_1',
  agent_name: 'Priya',
  created_at_unix: 1_700_000_000,
  scheduled_time_unix: 1_700_000_100,
  last_updated_at_unix: 1_700_000_200,
  status: 'completed',
};

describe('validateItems', () => {
  it('applies spec defaults and keeps unknown fields in raw', () => {
    const raw = { ...good, priority: 'high' };
    const { valid, rejected } = validateItems(batchCalls, [raw]);
    expect(rejected).toEqual([]);
    expect(valid[0]!.item.total_calls_finished).toBe(0);
    expect(valid[0]!.item.retry_count).toBe(0);
    expect(valid[0]!.raw).toBe(raw);
    expect(valid[0]!.raw).toHaveProperty('priority', 'high');
  });

  it('accepts unknown enum values and reports them as drift', () => {
    const { valid, drift } = validateItems(batchCalls, [{ ...good, status: 'paused', phone_provider: 'plivo' }]);
    expect(valid).toHaveLength(1);
    expect(drift).toEqual([
      { field: 'status', value: 'paused' },
      { field: 'phone_provider', value: 'plivo' },
    ]);
  });

  it('rejects schema violations with a one-line reason, keeping the good items', () => {
    const { id: _drop, ...noId } = good;
    const items = [good, noId, { ...good, id: 'bc_2', created_at_unix: 'yesterday' }, 42, null, { ...good, id: 'bc_3', whatsapp_params: { x: 1 } }];
    const { valid, rejected } = validateItems(batchCalls, items);
    expect(valid.map((v) => v.item.id)).toEqual(['bc_1']);
    expect(rejected.map((r) => [r.itemId, r.reason])).toEqual([
      [null, 'id: Invalid input: expected string, received undefined'],
      ['bc_2', 'created_at_unix: Invalid input: expected number, received string'],
      [null, 'item: Invalid input: expected object, received number'],
      [null, 'item: Invalid input: expected object, received null'],
      ['bc_3', 'whatsapp_params.whatsapp_call_permission_request_template_name: Invalid input: expected string, received undefined; whatsapp_params.whatsapp_call_permission_request_template_language_code: Invalid input: expected string, received undefined'],
    ]);
    expect(rejected.every((r) => !r.reason.includes('\n'))).toBe(true);
  });

  it('rejects strings Postgres cannot store', () => {
    const { valid, rejected } = validateItems(batchCalls, [{ ...good, name: 'a\u0000b' }, { ...good, id: 'bc_9', agent_name: 'x\ud800' }]);
    expect(valid).toEqual([]);
    expect(rejected.map((r) => r.reason)).toEqual([
      'name: contains a NUL character, which Postgres cannot store',
      'agent_name: contains an unpaired surrogate, which Postgres cannot store',
    ]);
  });

  it('rejects non-integer and unsafe numbers', () => {
    const { rejected } = validateItems(batchCalls, [{ ...good, retry_count: 1.5 }, { ...good, id: 'b', total_calls_scheduled: 2 ** 60 }]);
    expect(rejected).toHaveLength(2);
  });
});

describe('unstorableString', () => {
  it('finds bad strings in nested values and keys', () => {
    expect(unstorableString({ a: [{ b: 'ok' }, { c: '\u0000' }] })).toBe('a[1].c: contains a NUL character, which Postgres cannot store');
    expect(unstorableString({ ['k\u0000']: 1 })).toMatch(/<key>/);
    expect(unstorableString({ a: "Robert'); DROP TABLE batch_calls;--" })).toBeUndefined();
  });
});

describe('what Postgres can store', () => {
  it('rejects a timestamp beyond timestamptz, or in milliseconds or microseconds, saying which', () => {
    const { valid, rejected } = validateItems(batchCalls, [
      { ...good, id: 'far', created_at_unix: 99_999_999_999_999 },
      { ...good, id: 'ms', last_updated_at_unix: 1_764_547_200_000 },
      { ...good, id: 'us', scheduled_time_unix: 1_764_547_200_000_000 },
      { ...good, id: 'edge', scheduled_time_unix: -210_866_803_200 },
    ]);
    expect(valid.map((v) => v.item.id)).toEqual(['edge']);
    expect(rejected.map((r) => r.reason)).toEqual([
      'created_at_unix: 99999999999999 is outside the timestamps Postgres can store (unix seconds -210866803200 to 9224318015999)',
      'last_updated_at_unix: 1764547200000 is not unix seconds; it looks like milliseconds (2025-12-01T00:00:00.000Z)',
      'scheduled_time_unix: 1764547200000000 is outside the timestamps Postgres can store (unix seconds -210866803200 to 9224318015999); it looks like microseconds (2025-12-01T00:00:00.000Z)',
    ]);
  });

  it('rejects ids and indexed fields longer than an index entry holds, keeping the rest', () => {
    const { valid, rejected } = validateItems(batchCalls, [
      { ...good, id: 'x'.repeat(257) },
      { ...good, id: 'ok', agent_id: 'a'.repeat(300) },
      { ...good, id: 'y'.repeat(256) },
    ]);
    expect(valid.map((v) => v.item.id)).toEqual(['y'.repeat(256)]);
    expect(rejected.map((r) => [r.itemId, r.reason])).toEqual([
      [null, 'id: 257 characters, longer than the 256 an indexed column takes'],
      ['ok', 'agent_id: 300 characters, longer than the 256 an indexed column takes'],
    ]);
  });
});
