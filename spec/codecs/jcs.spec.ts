import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import { canonicalize, canonicalizeBytes, canonicalizeText, MAX_NESTING, parseCanonical, parseJson, referenceCanonicalize, tryCanonicalize } from '../../src/codecs/jcs';

const VECTORS = path.resolve(__dirname, '../vectors');
const read = (rel: string): string => fs.readFileSync(path.join(VECTORS, rel), 'utf8');
const stripNl = (s: string): string => s.replace(/\n$/, '');

function ok(text: string): string {
  const r = canonicalizeText(text);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

interface Case {
  readonly name: string;
  readonly input: string;
  readonly expected?: string;
  readonly expectError?: boolean;
}

describe('JCS vectors', () => {
  const corpus = fs.readdirSync(path.join(VECTORS, 'upstream/cyberphone-corpus/input'));

  it('has the six cyberphone files', () => {
    expect(corpus.sort()).toEqual(['arrays.json', 'french.json', 'structures.json', 'unicode.json', 'values.json', 'weird.json']);
  });

  it.each(corpus)('cyberphone corpus %s', (file) => {
    const out = stripNl(read(`upstream/cyberphone-corpus/output/${file}`));
    expect(ok(read(`upstream/cyberphone-corpus/input/${file}`))).toBe(out);
    expect(ok(out)).toBe(out);
  });

  const appendixE = JSON.parse(read('upstream/extracted-inline/rfc8785_appendix_e.cases.json')) as Case[];
  it.each(appendixE.map((c) => [c.name, c] as const))('RFC 8785 appendix E: %s', (_name, c) => {
    expect(ok(c.input)).toBe(c.expected);
    expect(ok(c.expected ?? '')).toBe(c.expected);
  });

  const edge = JSON.parse(read('upstream/extracted-inline/jcs-edge-cases.cases.json')) as Case[];
  it.each(edge.map((c) => [c.name, c] as const))('edge case: %s', (_name, c) => {
    const r = canonicalizeText(c.input);
    if (c.expectError === true) {
      expect(E.isLeft(r)).toBe(true);
    } else {
      expect(r).toEqual(E.right(c.expected));
    }
  });

  it('JCS golden files (upstream nixfleet-canonicalize)', () => {
    const golden = read('upstream/nixfleet-canonicalize/jcs-golden.canonical');
    expect(ok(read('upstream/nixfleet-canonicalize/jcs-golden.json'))).toBe(golden);
    const streamB = read('upstream/nixfleet-canonicalize/stream-b/jcs-golden.json');
    expect(ok(streamB)).toBe(streamB);
  });

  it('signed-artifact.json canonicalizes to signed-artifact.canonical', () => {
    const canonical = read('upstream/nixfleet-proto/signed-artifact.canonical');
    expect(ok(read('upstream/nixfleet-proto/signed-artifact.json'))).toBe(canonical);
    expect(ok(canonical)).toBe(canonical);
  });

  it('every-nullable.canonical is raw JCS after dropping compliance and adding channelEdges', () => {
    const doc = JSON.parse(read('upstream/nixfleet-proto/every-nullable.json'));
    delete doc.channels.stable.compliance;
    doc.channelEdges = [];
    expect(canonicalize(doc)).toBe(read('upstream/nixfleet-proto/every-nullable.canonical'));
  });
});

describe('JCS number formatting', () => {
  it.each([
    ['1.0', '1'],
    ['-0', '0'],
    ['-0.0', '0'],
    ['1e21', '1e+21'],
    ['1e-7', '1e-7'],
    ['123456789012345680000', '123456789012345680000'],
    ['0.000001', '0.000001'],
    ['1E400', null],
    ['-1e400', null],
    ['1e-400', '0'],
    ['4.35', '4.35'],
    ['333333333.33333329', '333333333.3333333'],
  ])('%s -> %s', (input, expected) => {
    const r = canonicalizeText(input);
    if (expected === null) expect(E.isLeft(r)).toBe(true);
    else expect(r).toEqual(E.right(expected));
  });

  it('keeps integers that serde_json keeps exactly (u64 / i64)', () => {
    expect(ok('9007199254740993')).toBe('9007199254740993');
    // 2^60 is a double, but ES would print it as 1152921504606847000.
    expect(ok('1152921504606846976')).toBe('1152921504606846976');
    expect(parseJson('9007199254740992')).toEqual(E.right(9007199254740992));
    expect(ok('18446744073709551615')).toBe('18446744073709551615');
    expect(ok('-9223372036854775808')).toBe('-9223372036854775808');
    // Beyond u64 / i64 serde_json falls back to f64.
    expect(ok('18446744073709551616')).toBe('18446744073709552000');
    expect(ok('-9223372036854775809')).toBe('-9223372036854776000');
    // A fraction makes it a float even when integral.
    expect(ok('9007199254740993.0')).toBe('9007199254740992');
    expect(canonicalize({ n: 9007199254740993n })).toBe('{"n":9007199254740993}');
  });
});

describe('JCS refuses what serde_json refuses', () => {
  it.each([
    ['lone high surrogate escape', '"\\ud800"'],
    ['lone low surrogate escape', '"\\udc00"'],
    ['high surrogate followed by a non-surrogate escape', '"\\ud800\\u0041"'],
    ['high surrogate then plain text', '"\\ud800x"'],
    ['raw lone surrogate in the text', '"\ud800"'],
    ['BOM', '\ufeff{}'],
    ['NaN', '{"n":NaN}'],
    ['trailing comma', '[1,]'],
    ['trailing comma in object', '{"a":1,}'],
    ['leading zero', '01'],
    ['bare fraction', '1.'],
    ['bare exponent', '1e'],
    ['leading plus', '+1'],
    ['single quotes', "'a'"],
    ['raw control character in a string', '"a\u0001"'],
    ['bad escape', '"\\x"'],
    ['short unicode escape', '"\\u12"'],
    ['trailing characters', '{} x'],
    ['empty input', ''],
    ['comment', '{} // c'],
    ['unquoted key', '{a:1}'],
  ])('%s', (_name, text) => {
    const r = canonicalizeText(text);
    expect(E.isLeft(r)).toBe(true);
    if (E.isLeft(r)) expect(r.left.message).toMatch(/\S/);
  });

  it('refuses bytes that are not UTF-8 and a UTF-8 BOM', () => {
    expect(E.isLeft(canonicalizeBytes(Uint8Array.from([0x22, 0xc3, 0x28, 0x22])))).toBe(true);
    expect(E.isLeft(canonicalizeBytes(Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22])))).toBe(true); // CESU surrogate
    expect(E.isLeft(canonicalizeBytes(Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])))).toBe(true);
    expect(canonicalizeBytes(Uint8Array.from(Buffer.from(' {"é": 1} ')))).toEqual(E.right('{"é":1}'));
  });

  it(`accepts ${MAX_NESTING} nested containers and refuses ${MAX_NESTING + 1}`, () => {
    expect(E.isRight(parseJson('['.repeat(MAX_NESTING) + ']'.repeat(MAX_NESTING)))).toBe(true);
    expect(E.isLeft(parseJson('['.repeat(MAX_NESTING + 1) + ']'.repeat(MAX_NESTING + 1)))).toBe(true);
    expect(E.isLeft(parseJson('{"a":'.repeat(MAX_NESTING + 1) + '1' + '}'.repeat(MAX_NESTING + 1)))).toBe(true);
    // Deep input never overflows the stack.
    expect(E.isLeft(parseJson('['.repeat(100000)))).toBe(true);
  });

  it('refuses non-JSON values when canonicalizing a value', () => {
    for (const bad of [NaN, Infinity, -Infinity, undefined, () => 1, Symbol('s'), new Date(0), new Map(), '\udc00', { k: '\ud800' }, [1, undefined]]) {
      expect(E.isLeft(tryCanonicalize(bad))).toBe(true);
      expect(() => canonicalize(bad)).toThrow(TypeError);
    }
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(E.isLeft(tryCanonicalize(cyclic))).toBe(true);
  });

  it('reports the line and column of a syntax error', () => {
    const r = parseJson('{\n  "a": tru\n}');
    expect(E.isLeft(r) && [r.left.line, r.left.column]).toEqual([2, 8]);
  });
});

describe('JCS details', () => {
  it('sorts keys by UTF-16 code units, not code points or UTF-8', () => {
    expect(canonicalize({ '\uffa5': 1, '\ud842\udfb7': 2, a: 0, '\n': 3, '': 4 })).toBe('{"":4,"\\n":3,"a":0,"\ud842\udfb7":2,"\uffa5":1}');
  });

  it('keeps a __proto__ key as data and takes the last duplicate', () => {
    expect(ok('{"__proto__":{"x":1},"b":2,"b":3}')).toBe('{"__proto__":{"x":1},"b":3}');
  });

  it('escapes only quote, backslash and C0 controls', () => {
    expect(ok('"\\u0000\\u001f\\u007f\\/\\"\\\\\\b\\f\\n\\r\\t\\u00e9\\u2028"')).toBe('"\\u0000\\u001f\u007f/\\"\\\\\\b\\f\\n\\r\\té\u2028"');
  });
});

// JCS has one zero: -0 canonicalizes to 0, so the round trip is equality in
// the JSON data model, where -0 and 0 are the same number.
function zeroNormalized(v: unknown): unknown {
  if (typeof v === 'number') return v === 0 ? 0 : v;
  if (Array.isArray(v)) return v.map(zeroNormalized);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: zeroNormalized(x), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

describe('JCS properties', () => {
  const json = fc.jsonValue({ stringUnit: 'binary', maxDepth: 6 });

  it('canonicalize is idempotent', () => {
    fc.assert(
      fc.property(json, (x) => {
        const once = canonicalize(x);
        expect(canonicalize(JSON.parse(once))).toBe(once);
        expect(ok(once)).toBe(once);
      }),
      { numRuns: 1000 },
    );
  });

  it('JSON.parse(canonicalize(x)) deep-equals x', () => {
    fc.assert(
      fc.property(json, (x) => {
        expect(JSON.parse(canonicalize(x))).toStrictEqual(zeroNormalized(x));
      }),
      { numRuns: 1000 },
    );
  });

  it('parseJson agrees with JSON.parse on any JSON text, however it is laid out', () => {
    fc.assert(
      fc.property(json, fc.constantFrom(undefined, 1, '\t'), (x, indent) => {
        const text = JSON.stringify(x, null, indent);
        const r = parseJson(text);
        expect(E.isRight(r) && r.right).toStrictEqual(zeroNormalized(JSON.parse(text)));
        expect(ok(text)).toBe(canonicalize(x));
      }),
      { numRuns: 1000 },
    );
  });

  it('canonical text never depends on key insertion order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.integer()), (d) => {
        const reversed = Object.fromEntries(Object.entries(d).reverse());
        expect(canonicalize(reversed)).toBe(canonicalize(d));
      }),
      { numRuns: 1000 },
    );
  });

  it('the native fast path prints exactly what the reference emitter prints', () => {
    const keyed = fc.dictionary(fc.constantFrom('1', '10', '2', '__proto__', 'a', 'B', '\u00e9', '\ud83d\ude02', '\uffa5', '-1', '01'), json);
    fc.assert(
      fc.property(fc.oneof(json, keyed), (x) => {
        expect(tryCanonicalize(x)).toEqual(referenceCanonicalize(x));
      }),
      { numRuns: 1000 },
    );
  });

  it('parseCanonical (native JSON.parse when safe) agrees with the exact parser on any text', () => {
    const bigInts = fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => `{"n":${n},"m":[${n}]}`);
    const texts = fc.oneof(
      json.map((x) => JSON.stringify(x)),
      json.map((x) => JSON.stringify(x, null, 2)),
      bigInts,
      fc.constantFrom('{"a":-0}', '[-0.0]', '{"\\ud83d\\ude02":1}', '"\\ud800"', '{"b":1,"a":2,"b":3}', '\ufeff{}', '[1e400]'),
      fc.string({ unit: 'binary' }),
    );
    fc.assert(
      fc.property(texts, (text) => {
        const fast = parseCanonical(text);
        const exact = parseJson(text);
        if (E.isLeft(exact)) {
          expect(E.isLeft(fast)).toBe(true);
          return;
        }
        const canonical = referenceCanonicalize(exact.right);
        expect(E.map((p: { canonical: string }) => p.canonical)(fast)).toEqual(canonical);
      }),
      { numRuns: 1000 },
    );
  });

  it('bad input never throws from the text API', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(() => canonicalizeText(s)).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });
});
