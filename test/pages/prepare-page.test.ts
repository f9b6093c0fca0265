import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { preparePage } from '../../src/pages/prepare-page.ts';
import { batchCalls } from '../../src/resources/batch-calls.ts';
import type { ListResource } from '../../src/resources/resource.ts';

function job(id: unknown, extra: Record<string, unknown> = {}) {
  return {
    id,
    name: `job ${String(id)}`,
    agent_id: 'ag_1',
    agent_name: 'Priya',
    created_at_unix: 1_700_000_000,
    scheduled_time_unix: 1_700_000_100,
    last_updated_at_unix: 1_700_000_200,
    status: 'completed',
    ...extra,
  };
}

function nested(levels: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe('preparePage: listed and valid ids', () => {
  it('lists valid ids and the usable ids of rejected items; only valid ids are valid', () => {
    const { status: _status, ...noStatus } = job('schema');
    const items = [
      job('a'),
      noStatus,
      job('unstorable', { name: 'a\u0000b' }),
      job(undefined),
      job(42),
      job('x'.repeat(257)),
      job('nul\u0000id'),
      job('lone\ud800'),
      null,
      job('b'),
    ];
    const page = preparePage(batchCalls, items);
    expect(page.validIds).toEqual(['a', 'b']);
    expect(page.listedIds).toEqual(['a', 'b', 'schema', 'unstorable']);
    expect(page.rejected.map((r) => r.itemId)).toEqual(['schema', 'unstorable', null, null, null, null, null, null]);
    expect(page.rows.map((r) => r.id)).toEqual(['a', 'b']);
    expect(page.orderKeys).toHaveLength(2);
  });

  it('keeps a repeated id in the valid ids and order keys, one row per (id, version), the later occurrence winning', () => {
    const first = job('a', { last_updated_at_unix: 1_700_000_300, name: 'first' });
    const again = job('a', { last_updated_at_unix: 1_700_000_300, name: 'again' });
    const older = job('a', { last_updated_at_unix: 1_700_000_100 });
    const page = preparePage(batchCalls, [first, older, again]);
    expect(page.validIds).toEqual(['a', 'a', 'a']);
    expect(page.listedIds).toEqual(['a', 'a', 'a']);
    expect(page.orderKeys.map((k) => k.updated)).toEqual([1_700_000_300, 1_700_000_100, 1_700_000_300]);
    expect(page.rows.map((r) => [r.last_updated_at_unix, r.name])).toEqual([
      [1_700_000_300, 'again'],
      [1_700_000_100, 'job a'],
    ]);
    expect(page.rows[0]!.raw).toBe(again);
  });

  it('is empty for an empty page', () => {
    expect(preparePage(batchCalls, [])).toEqual({ rows: [], rejected: [], listedIds: [], validIds: [], drift: [], orderKeys: [] });
  });
});

describe('preparePage: each reason an item is rejected for', () => {
  const cases: [string, unknown, RegExp, string | null][] = [
    ['a schema violation', job('r', { created_at_unix: 'yesterday' }), /^created_at_unix: Invalid input: expected number, received string$/, 'r'],
    ['a non-integer count', job('r', { retry_count: 1.5 }), /^retry_count: /, 'r'],
    ['an unsafe integer', job('r', { total_calls_scheduled: 2 ** 60 }), /^total_calls_scheduled: .*must be a safe integer$/, 'r'],
    ['not an object', 'bc_1', /^item: Invalid input: expected object, received string$/, null],
    ['a NUL in a value', job('r', { agent_name: 'x\u0000' }), /^agent_name: contains a NUL character, which Postgres cannot store$/, 'r'],
    ['an unpaired surrogate', job('r', { name: 'x\udc00' }), /^name: contains an unpaired surrogate, which Postgres cannot store$/, 'r'],
    ['a NUL in an unknown field\'s key', job('r', { extra: { ['k\u0000']: 1 } }), /^extra\.<key>: contains a NUL character/, 'r'],
    ['nesting deeper than 64 levels', job('r', { extra: nested(70) }), /: nested deeper than 64 levels$/, 'r'],
    ['an indexed field too long', job('r', { agent_id: 'a'.repeat(257) }), /^agent_id: 257 characters, longer than the 256 an indexed column takes$/, 'r'],
    ['an id too long to index', job('i'.repeat(257)), /^id: 257 characters, longer than the 256/, null],
    ['a timestamp beyond timestamptz', job('r', { created_at_unix: 99_999_999_999_999 }), /^created_at_unix: 99999999999999 is outside the timestamps Postgres can store/, 'r'],
    ['a timestamp in milliseconds', job('r', { last_updated_at_unix: 1_764_547_200_000 }), /^last_updated_at_unix: 1764547200000 is not unix seconds; it looks like milliseconds/, 'r'],
    ['a timestamp in microseconds', job('r', { scheduled_time_unix: 1_764_547_200_000_000 }), /^scheduled_time_unix: .* is outside .*; it looks like microseconds/, 'r'],
  ];

  it.each(cases)('%s: rejected with one line, listed only by a usable id, never a row or an order key', (_label, bad, reason, itemId) => {
    const page = preparePage(batchCalls, [job('ok'), bad]);
    expect(page.rejected).toHaveLength(1);
    expect(page.rejected[0]!.raw).toBe(bad);
    expect(page.rejected[0]!.reason).toMatch(reason);
    expect(page.rejected[0]!.reason).not.toMatch(/\n/);
    expect(page.rejected[0]!.itemId).toBe(itemId);
    expect(page.validIds).toEqual(['ok']);
    expect(page.listedIds).toEqual(itemId === null ? ['ok'] : ['ok', itemId]);
    expect(page.rows.map((r) => r.id)).toEqual(['ok']);
    expect(page.orderKeys).toHaveLength(1);
    expect(page.drift).toEqual([]);
  });

  it('stores what only just fits: a 256-character id, the earliest timestamptz, 64 levels of nesting', () => {
    const fits = [job('y'.repeat(256)), job('edge', { scheduled_time_unix: -210_866_803_200 }), job('deep', { extra: nested(63) })];
    const page = preparePage(batchCalls, fits);
    expect(page.rejected).toEqual([]);
    expect(page.validIds).toEqual(['y'.repeat(256), 'edge', 'deep']);
  });

  it('stores a value outside the known enums and notes the drift', () => {
    const page = preparePage(batchCalls, [job('a', { status: 'paused', phone_provider: 'plivo' })]);
    expect(page.rejected).toEqual([]);
    expect(page.validIds).toEqual(['a']);
    expect(page.rows[0]).toMatchObject({ status: 'paused', phone_provider: 'plivo' });
    expect(page.drift).toEqual([
      { field: 'status', value: 'paused' },
      { field: 'phone_provider', value: 'plivo' },
    ]);
  });
});

describe('preparePage: rows and order keys', () => {
  it('shapes rows as the resource columns (spec defaults applied, absent optionals null) plus raw as received', () => {
    const raw = job('a', { priority: 'high' });
    const [row] = preparePage(batchCalls, [raw]).rows;
    expect(Object.keys(row!)).toEqual(['raw', ...batchCalls.columns.map(([name]) => name)]);
    expect(row).toMatchObject({ id: 'a', retry_count: 0, total_calls_finished: 0, phone_provider: null, whatsapp_params: null });
    expect(row!.raw).toBe(raw);
  });

  it("takes the order keys from the resource's created and version fields, as numbers, in the order served", () => {
    const resource: ListResource<{ key: string; born: number; rev: number }> = {
      ...(batchCalls as unknown as ListResource<{ key: string; born: number; rev: number }>),
      itemSchema: z.looseObject({ key: z.string(), born: z.number(), rev: z.number() }),
      idField: 'key',
      versionField: 'rev',
      createdField: 'born',
      columns: [['key', 'text'], ['born', 'bigint'], ['rev', 'bigint']],
      keyFields: ['key'],
      unixSecondsFields: ['born', 'rev'],
      knownValues: {},
    };
    const page = preparePage(resource, [{ key: 'p', born: 10, rev: 30 }, { key: 'q', born: 20 }, { key: 'r', born: 5, rev: 25 }]);
    expect(page.validIds).toEqual(['p', 'r']);
    expect(page.listedIds).toEqual(['p', 'r', 'q']);
    expect(page.orderKeys).toEqual([
      { created: 10, updated: 30 },
      { created: 5, updated: 25 },
    ]);
  });
});
