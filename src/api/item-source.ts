/**
 * Each item's own text, as the API sent it, so that `raw` can be stored from it: JSON.parse turns 1e400 into
 * Infinity (stored as null) and rounds integers past 2^53, while Postgres' jsonb numeric holds both exactly.
 *
 * The client records the text of the items it parsed (`rememberSources`); the page write asks for it by the item
 * object (`sourceOf`), so nothing in between (walker, validation, run loop) carries it. Kept in a WeakMap: an item's
 * text goes when the item does.
 */
const sources = new WeakMap<object, string>();

/** The text an item was parsed from, when the client kept it. */
export function sourceOf(item: unknown): string | undefined {
  return typeof item === 'object' && item !== null ? sources.get(item) : undefined;
}

/**
 * Records `texts[i]` as the source of `items[i]`. Nothing is recorded unless the two lists line up, and an item
 * whose text does not open like its value (an object with `{`, an array with `[`) is skipped. Each text is copied:
 * a slice would keep the whole body alive until the item goes, twice its bytes in the heap for a UTF-16 body.
 */
export function rememberSources(items: readonly unknown[], texts: readonly (string | undefined)[] | undefined): void {
  if (!texts || texts.length !== items.length) return;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const text = texts[i];
    if (text === undefined || typeof item !== 'object' || item === null) continue;
    if (text.charCodeAt(0) !== (Array.isArray(item) ? BRACKET_OPEN : BRACE_OPEN)) continue;
    sources.set(item, Buffer.from(text, 'utf8').toString('utf8'));
  }
}

export interface ScanOptions {
  /**
   * Only the elements that JSON.parse changed: one holding a number whose text JSON.stringify would not write back
   * (1e400, 30 digits, 1.50, -0). For any other, JSON.stringify of the parsed value is the same jsonb, key order,
   * whitespace and escapes being what jsonb normalises anyway; so the client keeps no text for it.
   */
  lossyOnly?: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const BRACE_OPEN = 0x7b;
const BRACE_CLOSE = 0x7d;
const BRACKET_OPEN = 0x5b;
const BRACKET_CLOSE = 0x5d;

/**
 * Numbers Postgres' numeric is sure to take: at most this many characters, and an exponent within ±this. Its real
 * limits (131072 digits before the point, 16383 after) are far above; an item holding a number past these gets no
 * source and is stored as before, rather than refused by Postgres.
 */
const MAX_NUMBER = 1000;

/**
 * The source text of each element of the array under `key` in the top-level object of `text`, which JSON.parse
 * has accepted (the scan relies on that: it finds where values end, it does not check them). Like JSON.parse, the
 * last of duplicate keys wins. An element holding a number Postgres could not take is undefined, and so is one
 * JSON.parse kept whole when `lossyOnly`. Undefined as a whole when the body is not such an object.
 */
export function itemSources(text: string, key: string, options: ScanOptions = {}): (string | undefined)[] | undefined {
  const numbers: NumberState = { ok: true, exact: true };
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== BRACE_OPEN) return undefined;
  i = skipSpace(text, i + 1);
  let found: (string | undefined)[] | undefined;
  if (text.charCodeAt(i) === BRACE_CLOSE) return undefined;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0) return undefined;
    const name = keyOf(text, i, keyEnd);
    i = skipSpace(text, keyEnd);
    if (text.charCodeAt(i) !== COLON) return undefined;
    i = skipSpace(text, i + 1);
    if (name === key) {
      if (text.charCodeAt(i) !== BRACKET_OPEN) {
        found = undefined;
        const end = valueEnd(text, i, numbers);
        if (end < 0) return undefined;
        i = end;
      } else {
        const elements: (string | undefined)[] = [];
        i = skipSpace(text, i + 1);
        if (text.charCodeAt(i) === BRACKET_CLOSE) {
          i++;
        } else {
          for (;;) {
            numbers.ok = true;
            numbers.exact = true;
            const end = valueEnd(text, i, numbers);
            if (end < 0) return undefined;
            elements.push(numbers.ok && !(options.lossyOnly && numbers.exact) ? text.slice(i, end) : undefined);
            i = skipSpace(text, end);
            const c = text.charCodeAt(i);
            if (c === COMMA) {
              i = skipSpace(text, i + 1);
            } else if (c === BRACKET_CLOSE) {
              i++;
              break;
            } else {
              return undefined;
            }
          }
        }
        found = elements;
      }
    } else {
      const end = valueEnd(text, i, numbers);
      if (end < 0) return undefined;
      i = end;
    }
    i = skipSpace(text, i);
    const c = text.charCodeAt(i);
    if (c === COMMA) {
      i = skipSpace(text, i + 1);
    } else if (c === BRACE_CLOSE) {
      i = skipSpace(text, i + 1);
      break;
    } else {
      return undefined;
    }
  }
  return i === text.length ? found : undefined;
}

/** JSON's four whitespace characters, no others (JSON.parse and Postgres agree on these). */
function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

/** Index after the closing quote of the string opening at `i`; -1 if there is none. */
function stringEnd(text: string, i: number): number {
  let from = i + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** A key's value: escapes (`"batch\u005fcalls"`) are decoded, as JSON.parse does before comparing. */
function keyOf(text: string, start: number, end: number): string | undefined {
  const inner = text.slice(start + 1, end - 1);
  if (!inner.includes('\\')) return inner;
  try {
    return JSON.parse(text.slice(start, end)) as string;
  } catch {
    return undefined;
  }
}

/** Index after the value starting at `i`, or -1. Iterative, so nesting as deep as JSON.parse takes is fine. */
function valueEnd(text: string, i: number, numbers: NumberState): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return stringEnd(text, i);
  if (c === MINUS || (c >= 0x30 && c <= 0x39)) return numberEnd(text, i, numbers);
  if (c === BRACE_OPEN || c === BRACKET_OPEN) {
    let depth = 0;
    let j = i;
    while (j < text.length) {
      const d = text.charCodeAt(j);
      if (d === QUOTE) {
        j = stringEnd(text, j);
        if (j < 0) return -1;
      } else if (d === BRACE_OPEN || d === BRACKET_OPEN) {
        depth++;
        j++;
      } else if (d === BRACE_CLOSE || d === BRACKET_CLOSE) {
        depth--;
        j++;
        if (depth === 0) return j;
      } else if (d === MINUS || (d >= 0x30 && d <= 0x39)) {
        j = numberEnd(text, j, numbers);
      } else {
        j++;
      }
    }
    return -1;
  }
  for (const literal of ['true', 'false', 'null']) {
    if (text.startsWith(literal, i)) return i + literal.length;
  }
  return -1;
}

/** What the numbers of the element being scanned are like. */
interface NumberState {
  /** Postgres' numeric takes every one (MAX_NUMBER). */
  ok: boolean;
  /** JSON.stringify writes every one back as received. */
  exact: boolean;
}

/** Index after the number starting at `i`, noting in `numbers` what it is like. */
function numberEnd(text: string, i: number, numbers: NumberState): number {
  let j = i;
  let exponentAt = -1;
  let integer = true;
  for (;;) {
    const c = text.charCodeAt(j);
    if ((c >= 0x30 && c <= 0x39) || c === MINUS) {
      j++;
    } else if (c === 0x2e || c === 0x2b) {
      integer = false;
      j++;
    } else if (c === 0x65 || c === 0x45) {
      integer = false;
      exponentAt = j;
      j++;
    } else {
      break;
    }
  }
  if (j - i > MAX_NUMBER) numbers.ok = false;
  else if (exponentAt >= 0 && Math.abs(Number(text.slice(exponentAt + 1, j))) > MAX_NUMBER) numbers.ok = false;
  const negative = text.charCodeAt(i) === MINUS;
  // Up to 15 digits, with no leading zero (JSON has none) and not -0: exact as a double, and written back the same.
  const plain = integer && j - i - (negative ? 1 : 0) <= 15 && !(negative && text.charCodeAt(i + 1) === 0x30);
  if (!plain && numbers.exact) {
    const token = text.slice(i, j);
    if (String(Number(token)) !== token) numbers.exact = false;
  }
  return j;
}
