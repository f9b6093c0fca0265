import { describe, expect, it } from 'vitest';
import { itemSources, rememberSources, sourceOf } from '../../src/api/item-source.ts';

const KEY = 'batch_calls';

/** What the scanner must agree with: JSON.parse of each source equals the item JSON.parse made of the body. */
function expectFaithful(body: string, key = KEY): (string | undefined)[] {
  const parsed = (JSON.parse(body) as Record<string, unknown[]>)[key]!;
  const sources = itemSources(body, key);
  expect(sources).toBeDefined();
  expect(sources!.length).toBe(parsed.length);
  sources!.forEach((source, i) => expect(JSON.parse(source!), `item ${i}`).toEqual(parsed[i]));
  return sources!;
}

describe('itemSources', () => {
  it('returns each item exactly as written', () => {
    const items = ['{"id":"a","n":1}', '{"id":"b","nested":{"x":[1,{"y":null}]}}'];
    expect(itemSources(`{"batch_calls":[${items.join(',')}],"next_doc":null,"has_more":false}`, KEY)).toEqual(items);
  });

  it('keeps numbers JSON.parse would round or overflow, digit for digit', () => {
    const item = '{"id":"a","huge":1e400,"digits":123456789012345678901234567890,"float":0.1,"small":-2.5E-300}';
    expect(itemSources(`{"batch_calls":[${item}]}`, KEY)).toEqual([item]);
  });

  it('handles whitespace everywhere, including pretty-printed items', () => {
    const items = [{ id: 'a', list: [1, [2, [3]], {}], obj: { k: 'v' } }, { id: 'b' }];
    const body = ` \r\n\t{ \n "next_doc" :\tnull ,\n  "batch_calls"  :  [\n${items.map((i) => JSON.stringify(i, null, 4)).join(' \n , \t')}\n ] ,"has_more":true } \n`;
    const sources = expectFaithful(body);
    expect(sources[0]).toBe(JSON.stringify(items[0], null, 4));
  });

  it('is not fooled by the key inside strings, in nested objects or under other keys', () => {
    const body = JSON.stringify({
      decoy: { batch_calls: [{ id: 'nested' }] },
      note: '"batch_calls":[{"id":"in a string"}]',
      list: [{ batch_calls: [1, 2, 3] }],
      batch_calls: [{ id: 'a', text: 'x"batch_calls":["y"]' }, { id: 'b', batch_calls: [{ id: 'inner' }] }],
      after: { batch_calls: [] },
    });
    const sources = expectFaithful(body);
    expect(sources.map((s) => (JSON.parse(s!) as { id: string }).id)).toEqual(['a', 'b']);
  });

  it('follows escapes: quotes, backslashes before a closing quote, unicode escapes, brackets inside strings', () => {
    const items = [
      { id: 'a', s: 'ends with a backslash \\' },
      { id: 'b', s: '\\"', t: '\\\\"]}', u: '\u00e9\u{1F642}\n\t', v: '[{,:}]' },
      { id: 'c', 'key "with" quotes': '\\' },
    ];
    const body = `{"batch_calls":${JSON.stringify(items)}}`;
    expectFaithful(body);
    // Escaped as \uXXXX in the text itself.
    const escaped = '{"batch_calls":[{"id":"\\u0061\\"\\\\","\\u006b":"\\ud83d\\ude42"}]}';
    expect(itemSources(escaped, KEY)).toEqual(['{"id":"\\u0061\\"\\\\","\\u006b":"\\ud83d\\ude42"}']);
    expectFaithful(escaped);
  });

  it('matches the envelope key written with escapes, as JSON.parse does', () => {
    expect(itemSources('{"batch\\u005fcalls":[{"id":"a"}]}', KEY)).toEqual(['{"id":"a"}']);
    expect(itemSources('{"batch_calls\\n":[{"id":"a"}]}', KEY)).toBeUndefined();
  });

  it('takes the last of duplicate keys, as JSON.parse does', () => {
    const body = '{"batch_calls":[{"id":"first"}],"x":1,"batch_calls":[{"id":"second"},{"id":"third"}]}';
    expect(itemSources(body, KEY)).toEqual(['{"id":"second"}', '{"id":"third"}']);
    expectFaithful(body);
    // The last one is not an array: nothing to map (such a page is refused anyway).
    expect(itemSources('{"batch_calls":[{"id":"a"}],"batch_calls":{"id":"b"}}', KEY)).toBeUndefined();
    // Duplicate keys inside an item are the item's own text: jsonb keeps the last one too.
    expect(itemSources('{"batch_calls":[{"id":"a","id":"b"}]}', KEY)).toEqual(['{"id":"a","id":"b"}']);
  });

  it('reads an empty page, and items that are not objects', () => {
    expect(itemSources('{"batch_calls":[],"has_more":false}', KEY)).toEqual([]);
    expect(itemSources('{"batch_calls":[ ]}', KEY)).toEqual([]);
    expectFaithful('{"batch_calls":[1,"two",null,true,false,[3,[4]],{},-0.5e-3]}');
  });

  it('walks nesting as deep as JSON.parse takes without recursion', () => {
    const deep = `${'['.repeat(50_000)}"bottom"${']'.repeat(50_000)}`;
    const body = `{"batch_calls":[{"id":"a"},{"id":"deep","extra":${deep}},{"id":"b"}]}`;
    const sources = itemSources(body, KEY)!;
    expect(sources.length).toBe(3);
    expect(sources[1]).toBe(`{"id":"deep","extra":${deep}}`);
    expect(sources[2]).toBe('{"id":"b"}');
  });

  it('gives no source for an item with a number Postgres numeric might not take, and keeps its neighbours', () => {
    const body = `{"batch_calls":[{"id":"a","x":1e1000},{"id":"b","x":1e1001},{"id":"c","x":1E-1001},{"id":"d","x":${'9'.repeat(1001)}},{"id":"e","x":[0.1]}]}`;
    expect(itemSources(body, KEY)).toEqual(['{"id":"a","x":1e1000}', undefined, undefined, undefined, '{"id":"e","x":[0.1]}']);
  });

  it('is undefined for bodies it cannot map', () => {
    expect(itemSources('[{"id":"a"}]', KEY)).toBeUndefined();
    expect(itemSources('{"items":[{"id":"a"}]}', KEY)).toBeUndefined();
    expect(itemSources('{}', KEY)).toBeUndefined();
    expect(itemSources('{"batch_calls":null}', KEY)).toBeUndefined();
    expect(itemSources('', KEY)).toBeUndefined();
    // Not JSON (the client never asks: JSON.parse refused it first): no answer rather than a wrong one, and no throw.
    for (const broken of ['{"batch_calls":[{"id":"a"}]', '{"batch_calls":[{"id":"a}]}', '{"batch_calls":[1 2]}', '{"batch_calls":[1]} x', '{"batch_calls" [1]}']) {
      expect(itemSources(broken, KEY), broken).toBeUndefined();
    }
  });

  it('agrees with JSON.parse on generated pages', () => {
    // A fixed pseudo-random sequence (no Math.random: a failure must reproduce).
    let seed = 11;
    const next = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const space = () => [' ', '\n', '\t', '\r\n', ''][next(5)]!;
    const strings = ['', 'batch_calls', '"batch_calls":[', '\\', '"', ']}', 'é🙂', '\u2028', 'a\\"b'];
    const value = (depth: number): string => {
      switch (next(depth > 3 ? 4 : 6)) {
        case 0:
          return JSON.stringify(strings[next(strings.length)]);
        case 1:
          return ['0', '-1', '1.5', '1e400', '123456789012345678901234567890', '-0.0e-5', '2E+3'][next(7)]!;
        case 2:
          return ['true', 'false', 'null'][next(3)]!;
        case 3:
          return `"\\u00${next(2) ? '41' : '5c'}\\\\\\""`;
        case 4:
          return `[${space()}${Array.from({ length: next(4) }, () => value(depth + 1)).join(`${space()},${space()}`)}${space()}]`;
        default:
          return `{${space()}${Array.from({ length: next(4) }, () => `${JSON.stringify(strings[next(strings.length)])}${space()}:${space()}${value(depth + 1)}`).join(`${space()},${space()}`)}${space()}}`;
      }
    };
    for (let round = 0; round < 300; round++) {
      const items = Array.from({ length: next(6) }, () => `{${space()}"id"${space()}:${space()}"x",${space()}"v":${value(1)}${space()}}`);
      const members = [`"batch_calls"${space()}:${space()}[${space()}${items.join(`${space()},${space()}`)}${space()}]`, `"next_doc":${value(2)}`, `"decoy":${value(1)}`];
      const body = `${space()}{${space()}${members.sort(() => next(3) - 1).join(`${space()},${space()}`)}${space()}}${space()}`;
      const sources = expectFaithful(body);
      expect(sources).toEqual(items);
    }
  });
});

describe('sourceOf', () => {
  it('gives back the text remembered for each parsed item', () => {
    const body = '{"batch_calls":[{"id":"a","n":1e400},[1],{"id":"c"}]}';
    const items = (JSON.parse(body) as { batch_calls: unknown[] }).batch_calls;
    rememberSources(items, itemSources(body, KEY));
    expect(items.map(sourceOf)).toEqual(['{"id":"a","n":1e400}', '[1]', '{"id":"c"}']);
    expect(sourceOf({ id: 'a', n: 1e400 })).toBeUndefined();
    expect(sourceOf(null)).toBeUndefined();
    expect(sourceOf('text')).toBeUndefined();
  });

  it('remembers nothing when the lists do not line up, or a text does not open like its item', () => {
    const items = [{ id: 'a' }, { id: 'b' }];
    rememberSources(items, ['{"id":"a"}']);
    rememberSources(items, undefined);
    expect(items.map(sourceOf)).toEqual([undefined, undefined]);
    rememberSources(items, ['[1]', undefined]);
    expect(items.map(sourceOf)).toEqual([undefined, undefined]);
  });
});

describe('itemSources, lossyOnly', () => {
  it('keeps only the items holding a number JSON.stringify would not write back as received', () => {
    const kept = ['{"x":1e400}', '{"x":123456789012345678901234567890}', '{"x":1.50}', '{"x":-0}', '{"x":2E2}', '{"x":9007199254740993}', '{"x":1.0e-7}'];
    const whole = ['{"x":0}', '{"x":-12}', '{"x":123456789012345}', '{"x":0.1}', '{"x":-1.5}', '{"x":1e-7}', '{"x":1e+21}', '{"s":"1e400","k":"\\u00e9"}', '{ "a" : [ 1 , 2 ] }'];
    const body = `{"batch_calls":[${[...kept, ...whole].join(',')}]}`;
    expect(itemSources(body, KEY, { lossyOnly: true })).toEqual([...kept, ...whole.map(() => undefined)]);
    // What the client relies on: for every item left out, JSON.stringify of the parsed item reads back as its source.
    for (const text of whole) expect(JSON.parse(JSON.stringify(JSON.parse(text)))).toEqual(JSON.parse(text));
  });
});
