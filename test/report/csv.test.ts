import { describe, expect, it } from 'vitest';
import { csvField, toCsv } from '../../src/report/csv.ts';

describe('CSV (RFC 4180)', () => {
  it('quotes a field holding a comma, a double quote, CR or LF, doubling its quotes, and leaves others bare', () => {
    expect(csvField('acme')).toBe('acme');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField(' <b> ')).toBe(' <b> ');
  });

  it('writes a header row, then one record per row, each ended by CRLF', () => {
    expect(toCsv(['workspace', 'jobs'], [['a,b', '3'], ['c', '']])).toBe('workspace,jobs\r\n"a,b",3\r\nc,\r\n');
  });
});
