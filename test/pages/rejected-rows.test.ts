import { describe, expect, it } from 'vitest';
import { rawText, rejectedRows } from '../../src/pages/rejected-rows.ts';

describe('rejectedRows', () => {
  it('makes each reason one line of at most 300 characters', () => {
    const [row] = rejectedRows([{ raw: { id: 'a' }, itemId: 'a', reason: `line one\n  line two ${'x'.repeat(400)}` }]);
    expect(row!.reason).toHaveLength(300);
    expect(row!.reason).toMatch(/^line one line two x+\.\.\.$/);
  });

  it('collapses an item met twice for the same reason, the later occurrence winning; without an id, by its raw text', () => {
    const rows = rejectedRows([
      { raw: { id: 'a', n: 1 }, itemId: 'a', reason: 'bad' },
      { raw: { n: 2 }, itemId: null, reason: 'bad' },
      { raw: { id: 'a', n: 3 }, itemId: 'a', reason: 'bad' },
      { raw: { n: 2 }, itemId: null, reason: 'bad' },
      { raw: { id: 'a', n: 3 }, itemId: 'a', reason: 'worse' },
    ]);
    expect(rows).toEqual([
      { item_id: 'a', reason: 'bad', raw: '{"id":"a","n":3}' },
      { item_id: null, reason: 'bad', raw: '{"n":2}' },
      { item_id: 'a', reason: 'worse', raw: '{"id":"a","n":3}' },
    ]);
  });
});

describe('rawText', () => {
  it('cuts nesting JSON.stringify could not write', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(rawText(deep)).toContain('"[cut: nested too deep]"');
    expect(rawText(undefined)).toBe('undefined');
  });
});
