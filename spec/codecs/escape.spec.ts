// The one escaping rule shared by the logger, `status` and CP error texts.
import { escapeControl, escapeJsonControl, hasControl } from '../../src/codecs/escape';
import { bodyExcerpt, MAX_ERROR_TEXT } from '../../src/io/http/decode';

// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;

describe('escapeControl', () => {
  it.each([
    ['\n', '\\n'],
    ['\r', '\\r'],
    ['\t', '\\t'],
    ['\x00', '\\x00'],
    ['\x07', '\\x07'],
    ['\x1b', '\\x1b'],
    ['\x7f', '\\x7f'],
    ['\u0085', '\\x85'],
    ['\u009b', '\\x9b'],
    ['\u2028', '\\u2028'],
    ['\u2029', '\\u2029'],
    ['\u202e', '\\u202e'],
    ['\u2066', '\\u2066'],
  ])('%j -> %s', (raw, shown) => {
    expect(escapeControl(raw)).toBe(shown);
    expect(hasControl(raw)).toBe(true);
  });

  it('leaves printable text alone: spaces, quotes, backslashes, non-ASCII', () => {
    const plain = 'a b "c" \\x1b é → 🚀 \u00a0';
    expect(escapeControl(plain)).toBe(plain);
    expect(hasControl(plain)).toBe(false);
  });

  it('an OSC title sequence comes out inert', () => {
    expect(escapeControl('\x1b]0;owned\x07')).toBe('\\x1b]0;owned\\x07');
  });

  it('every code point below U+0100 and the separators: the output never holds a raw control', () => {
    let all = '';
    for (let c = 0; c < 0x100; c++) all += String.fromCharCode(c);
    all += '\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c';
    expect(escapeControl(all)).not.toMatch(RAW);
  });
});

describe('escapeJsonControl', () => {
  it('keeps the JSON value, writing what JSON.stringify leaves raw as \\uNNNN', () => {
    const value = { s: 'a\u009bb\u2028c\u202ed\x7fe\x1bf', n: [1, '\u0085'] };
    const json = escapeJsonControl(JSON.stringify(value));
    expect(json).not.toMatch(RAW);
    expect(json).toContain('\\u009b');
    expect(JSON.parse(json)).toEqual(value);
  });

  it('keeps pretty-printing newlines (they are structure, not data)', () => {
    expect(escapeJsonControl(JSON.stringify({ a: '\u2028' }, null, 2))).toBe('{\n  "a": "\\u2028"\n}');
  });
});

describe('CP error text (src/io/http/decode.ts)', () => {
  const res = (body: string | Uint8Array, status = 500) => ({
    status,
    headers: {},
    body: typeof body === 'string' ? new Uint8Array(Buffer.from(body, 'utf8')) : body,
    bodyTooLarge: false,
  });

  it('LF, C1 and U+2028 in the body are escaped, so one error stays one line', () => {
    const text = bodyExcerpt(res('boom\nINFO  forged line\u009b31m\u2028more\x1b]0;x\x07'));
    expect(text).toBe('boom\\nINFO  forged line\\x9b31m\\u2028more\\x1b]0;x\\x07');
    expect(text).not.toMatch(RAW);
  });

  it('surrounding whitespace is trimmed before escaping; an empty body says so', () => {
    expect(bodyExcerpt(res('\n  nope \r\n'))).toBe('nope');
    expect(bodyExcerpt(res(' \n'))).toBe('(empty body)');
  });

  it('a long body is cut and marked', () => {
    const text = bodyExcerpt(res('x'.repeat(MAX_ERROR_TEXT + 10)));
    expect(text).toBe(`${'x'.repeat(MAX_ERROR_TEXT)}…`);
  });
});
