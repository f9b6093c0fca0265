import { describe, expect, it } from 'vitest';
import { CursorGuard, MAX_CURSOR_LENGTH } from '../../src/api/cursor-guard.ts';
import { CursorError } from '../../src/errors/CursorError.ts';

describe('CursorGuard', () => {
  it('follows fresh cursors and ends when has_more is false', () => {
    const guard = new CursorGuard();
    expect(guard.next({ has_more: true, next_doc: 'a' })).toBe('a');
    expect(guard.next({ has_more: true, next_doc: 'b' })).toBe('b');
    expect(guard.next({ has_more: false, next_doc: 'ignored' })).toBeNull();
  });

  it('refuses a cursor seen earlier in the walk, not only the last one', () => {
    const guard = new CursorGuard();
    guard.next({ has_more: true, next_doc: 'a' });
    guard.next({ has_more: true, next_doc: 'b' });
    guard.next({ has_more: true, next_doc: 'c' });
    expect(() => guard.next({ has_more: true, next_doc: 'a' })).toThrow(CursorError);
    expect(() => new CursorGuard().next({ has_more: true, next_doc: 'x' })).not.toThrow();
  });

  it('refuses the cursor the walk started from', () => {
    const guard = new CursorGuard('start');
    expect(() => guard.next({ has_more: true, next_doc: 'start' })).toThrow(/already followed/);
  });

  it('refuses an empty cursor and has_more without a cursor, naming the page', () => {
    const guard = new CursorGuard();
    guard.next({ has_more: true, next_doc: 'a' });
    expect(() => guard.next({ has_more: true, next_doc: '' })).toThrow('API sent an empty next_doc with has_more=true; following it would restart from the top (after page 2)');
    expect(() => new CursorGuard().next({ has_more: true, next_doc: null })).toThrow(/has_more=true but sent no next_doc/);
    expect(() => new CursorGuard().next({ has_more: true })).toThrow(/has_more=true but sent no next_doc/);
  });
});

describe('CursorGuard bounds', () => {
  it('refuses a next_doc sent without has_more instead of taking it as the end', () => {
    expect(() => new CursorGuard().next({ next_doc: 'more-here' })).toThrow('API sent a next_doc without has_more; stopping rather than guessing whether more pages follow (after page 1)');
    // Without a cursor, a missing has_more is the spec's default: the last page.
    expect(new CursorGuard().next({ next_doc: null })).toBeNull();
    expect(new CursorGuard().next({})).toBeNull();
  });

  it('refuses a next_doc longer than MAX_CURSOR_LENGTH', () => {
    const guard = new CursorGuard();
    expect(guard.next({ has_more: true, next_doc: 'x'.repeat(MAX_CURSOR_LENGTH) })).toHaveLength(MAX_CURSOR_LENGTH);
    expect(() => guard.next({ has_more: true, next_doc: 'y'.repeat(MAX_CURSOR_LENGTH + 1) })).toThrow(/next_doc of 4097 characters/);
  });
});
