// JCS (RFC 8785) canonical JSON, byte for byte as upstream's
// `nixfleet_canonicalize::canonicalize`: parse with serde_json's rules, print
// with serde_jcs (keys by UTF-16 code units, ECMAScript numbers, minimal escapes).
//
// Written here rather than taken from npm, on purpose:
// - `canonicalize@5.1.0` prints every vector right, but is ESM-only and needs
//   Node >= 22 (we run on 20); `json-canonicalize@3` prints Infinity as `null`
//   and escapes lone surrogates instead of refusing them.
// - Any canonicalizer fed by JSON.parse loses serde_json's exact 64-bit
//   integers: upstream signs `9007199254740993`, JSON.parse reads ...992.
// - The verifier needs serde_json's parse rules too (no BOM, no lone
//   surrogates, nesting below 128), which no canonicalizer package has.
import * as E from 'fp-ts/Either';

/** A parsed JSON value. Integers outside ±(2^53−1) but inside i64/u64 stay exact as bigint, as serde_json keeps them. */
export type JsonValue = null | boolean | number | bigint | string | JsonArray | JsonObject;
export type JsonArray = readonly JsonValue[];
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

export interface JsonSyntaxError {
  readonly kind: 'JsonSyntaxError';
  readonly reason: string;
  /** 1-based, counted in UTF-16 code units like serde_json counts bytes. */
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface JcsError {
  readonly kind: 'JcsError';
  /** JSON path of the value that is not canonicalizable, e.g. `$.a[2]`. */
  readonly path: string;
  readonly reason: string;
  readonly message: string;
}

/**
 * serde_json's recursion budget is 128 and the 128th open bracket exhausts
 * it, so 127 nested containers parse and 128 do not.
 */
export const MAX_NESTING = 127;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);

class Fail {
  constructor(
    readonly reason: string,
    readonly at: number,
  ) {}
}

function syntaxError(text: string, f: Fail): JsonSyntaxError {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < f.at && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = f.at - lineStart + 1;
  return { kind: 'JsonSyntaxError', reason: f.reason, line, column, message: `${f.reason} at line ${line} column ${column}` };
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

/** Parses JSON text with serde_json's rules; never throws. */
export function parseJson(text: string): E.Either<JsonSyntaxError, JsonValue> {
  let pos = 0;
  const len = text.length;

  const skipWs = (): void => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else return;
    }
  };

  const hex4 = (at: number): number => {
    let n = 0;
    for (let k = 0; k < 4; k++) {
      const c = text.charCodeAt(at + k);
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (d < 0) throw new Fail(at + k >= len ? 'EOF while parsing a string' : 'invalid escape', at + k);
      n = n * 16 + d;
    }
    return n;
  };

  const parseString = (): string => {
    let i = pos + 1; // past the opening quote
    let start = i;
    let out = '';
    for (;;) {
      if (i >= len) throw new Fail('EOF while parsing a string', i);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        pos = i + 1;
        return out + text.slice(start, i);
      }
      if (c < 0x20) throw new Fail('control character (\\u0000-\\u001F) found while parsing a string', i);
      if (c >= 0xd800 && c <= 0xdfff) {
        // Text that did not come from UTF-8 may hold lone surrogates; Rust strings cannot.
        const next = text.charCodeAt(i + 1);
        if (c >= 0xdc00 || !(next >= 0xdc00 && next <= 0xdfff)) throw new Fail('lone surrogate in string (not valid UTF-8)', i);
        i += 2;
        continue;
      }
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(start, i);
      const e = text.charCodeAt(i + 1);
      i += 2;
      switch (e) {
        case 0x22: out += '"'; break;
        case 0x5c: out += '\\'; break;
        case 0x2f: out += '/'; break;
        case 0x62: out += '\b'; break;
        case 0x66: out += '\f'; break;
        case 0x6e: out += '\n'; break;
        case 0x72: out += '\r'; break;
        case 0x74: out += '\t'; break;
        case 0x75: {
          const n = hex4(i);
          i += 4;
          if (n >= 0xdc00 && n <= 0xdfff) throw new Fail('lone leading surrogate in hex escape', i - 6);
          if (n >= 0xd800 && n <= 0xdbff) {
            if (text.charCodeAt(i) !== 0x5c || text.charCodeAt(i + 1) !== 0x75) throw new Fail('unexpected end of hex escape', i);
            const lo = hex4(i + 2);
            if (lo < 0xdc00 || lo > 0xdfff) throw new Fail('lone leading surrogate in hex escape', i);
            i += 6;
            out += String.fromCharCode(n, lo);
          } else {
            out += String.fromCharCode(n);
          }
          break;
        }
        default:
          throw new Fail(Number.isNaN(e) ? 'EOF while parsing a string' : 'invalid escape', i - 1);
      }
      start = i;
    }
  };

  const parseNumber = (): number | bigint => {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (m === null) throw new Fail('invalid number', pos);
    const lexeme = m[0];
    const at = pos;
    pos += lexeme.length;
    const next = text.charCodeAt(pos);
    // `01`, `1.`, `1e` are not JSON; the regex stopped short of them.
    if ((next >= 0x30 && next <= 0x39) || next === 0x2e || next === 0x65 || next === 0x45) throw new Fail('invalid number', pos);
    const n = Number(lexeme);
    if (m[1] === undefined && m[2] === undefined && lexeme.length > 15 && String(n) !== lexeme) {
      // serde_json keeps u64 / i64 exactly (and falls back to f64 beyond them);
      // a double would print other digits (2^60 prints as ...847000), so keep a bigint.
      const big = BigInt(lexeme);
      if (big <= U64_MAX && big >= I64_MIN) return big;
    }
    if (!Number.isFinite(n)) throw new Fail('number out of range', at);
    return n === 0 ? 0 : n; // `-0` prints as `0` in JCS; keep one zero
  };

  const literal = (word: string, value: JsonValue): JsonValue => {
    if (text.startsWith(word, pos)) {
      pos += word.length;
      return value;
    }
    throw new Fail('expected value', pos);
  };

  const parseValue = (depth: number): JsonValue => {
    skipWs();
    if (pos >= len) throw new Fail('EOF while parsing a value', pos);
    const c = text.charCodeAt(pos);
    switch (c) {
      case 0x22:
        return parseString();
      case 0x7b:
        return parseObject(depth + 1);
      case 0x5b:
        return parseArray(depth + 1);
      case 0x74:
        return literal('true', true);
      case 0x66:
        return literal('false', false);
      case 0x6e:
        return literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return parseNumber();
        throw new Fail('expected value', pos);
    }
  };

  const parseArray = (depth: number): JsonValue[] => {
    if (depth > MAX_NESTING) throw new Fail('recursion limit exceeded', pos);
    pos++;
    const out: JsonValue[] = [];
    skipWs();
    if (text.charCodeAt(pos) === 0x5d) {
      pos++;
      return out;
    }
    for (;;) {
      out.push(parseValue(depth));
      skipWs();
      const c = text.charCodeAt(pos);
      pos++;
      if (c === 0x5d) return out;
      if (c !== 0x2c) throw new Fail(pos > len ? 'EOF while parsing a list' : 'expected `,` or `]`', pos - 1);
    }
  };

  const parseObject = (depth: number): JsonObject => {
    if (depth > MAX_NESTING) throw new Fail('recursion limit exceeded', pos);
    pos++;
    const out: Record<string, JsonValue> = {};
    skipWs();
    if (text.charCodeAt(pos) === 0x7d) {
      pos++;
      return out;
    }
    for (;;) {
      skipWs();
      if (text.charCodeAt(pos) !== 0x22) throw new Fail(pos >= len ? 'EOF while parsing an object' : 'key must be a string', pos);
      const key = parseString();
      skipWs();
      if (text.charCodeAt(pos) !== 0x3a) throw new Fail(pos >= len ? 'EOF while parsing an object' : 'expected `:`', pos);
      pos++;
      const value = parseValue(depth);
      // Later duplicates win, as in serde_json's map; `__proto__` stays an own key.
      if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      else out[key] = value;
      skipWs();
      const c = text.charCodeAt(pos);
      pos++;
      if (c === 0x7d) return out;
      if (c !== 0x2c) throw new Fail(pos > len ? 'EOF while parsing an object' : 'expected `,` or `}`', pos - 1);
    }
  };

  try {
    const value = parseValue(0);
    skipWs();
    if (pos < len) throw new Fail('trailing characters', pos);
    return E.right(value);
  } catch (err) {
    if (err instanceof Fail) return E.left(syntaxError(text, err));
    // A RangeError from an engine limit must not escape either.
    return E.left(syntaxError(text, new Fail(`parser failed: ${String(err)}`, pos)));
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strict UTF-8 (no overlongs, no surrogates); a BOM is kept so that JSON parsing refuses it, as serde_json does. */
export function decodeUtf8(bytes: Uint8Array): E.Either<JsonSyntaxError, string> {
  try {
    return E.right(UTF8.decode(bytes));
  } catch {
    return E.left({ kind: 'JsonSyntaxError', reason: 'invalid UTF-8', line: 1, column: 1, message: 'input is not valid UTF-8' });
  }
}

function jcsError(path: string, reason: string): JcsError {
  return { kind: 'JcsError', path, reason, message: `cannot canonicalize ${path}: ${reason}` };
}

class NotJson {
  constructor(readonly error: JcsError) {}
}

function isPlain(o: object): boolean {
  const proto: unknown = Object.getPrototypeOf(o);
  return proto === Object.prototype || proto === null;
}

function emitString(s: string, path: string): string {
  if (LONE_SURROGATE.test(s)) throw new NotJson(jcsError(path, 'string contains a lone UTF-16 surrogate'));
  // For well-formed strings JSON.stringify escapes exactly JCS's set:
  // `"`, `\`, and U+0000..U+001F (short forms, else \u00xx in lowercase).
  return JSON.stringify(s);
}

function emit(v: unknown, path: string, depth: number): string {
  switch (typeof v) {
    case 'string':
      return emitString(v, path);
    case 'number':
      if (!Number.isFinite(v)) throw new NotJson(jcsError(path, `${String(v)} is not a JSON number`));
      return v === 0 ? '0' : String(v); // Number.prototype.toString is RFC 8785's number format
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (depth >= MAX_NESTING) throw new NotJson(jcsError(path, `nesting deeper than ${MAX_NESTING} (or a cycle)`));
      if (Array.isArray(v)) {
        const parts: string[] = [];
        for (let i = 0; i < v.length; i++) parts.push(emit(v[i], `${path}[${i}]`, depth + 1));
        return `[${parts.join(',')}]`;
      }
      if (!isPlain(v)) throw new NotJson(jcsError(path, 'only plain objects and arrays are JSON containers'));
      const o = v as Record<string, unknown>;
      // Default sort compares UTF-16 code units: RFC 8785 §3.2.3.
      const keys = Object.keys(o).sort();
      const parts: string[] = [];
      for (const k of keys) parts.push(`${emitString(k, path)}:${emit(o[k], `${path}[${JSON.stringify(k)}]`, depth + 1)}`);
      return `{${parts.join(',')}}`;
    }
    default:
      throw new NotJson(jcsError(path, `${typeof v} is not a JSON value`));
  }
}

/**
 * The reference emitter above, on its own: exact for every input, slow
 * (a call per string). Exported so tests can hold the fast path to it.
 */
export function referenceCanonicalize(value: unknown): E.Either<JcsError, string> {
  try {
    return E.right(emit(value, '$', 0));
  } catch (err) {
    if (err instanceof NotJson) return E.left(err.error);
    return E.left(jcsError('$', `canonicalization failed: ${String(err)}`));
  }
}

// Fast path: a value whose objects already enumerate their keys in RFC 8785
// order can be printed by the native JSON.stringify, which escapes strings and
// formats numbers exactly as JCS does. `sortTree` returns the value itself
// when it is already in order (the normal case: producers publish canonical
// bytes), a re-keyed copy otherwise, or BAIL for anything the native printer
// would get wrong; the reference emitter then takes over.
const BAIL: unique symbol = Symbol('bail');

// Array-index keys ("0".."4294967294") enumerate first, in numeric order, so
// no object can hold them in lexicographic order.
function isIndexKey(k: string): boolean {
  const c = k.charCodeAt(0);
  return c >= 0x30 && c <= 0x39 && /^(?:0|[1-9][0-9]{0,9})$/.test(k) && Number(k) < 4294967295;
}

interface Mode {
  /** Strings came from our own pre-scanned text and cannot hold lone surrogates. */
  readonly stringsChecked: boolean;
  /** Integers beyond 2^53 came from text and may have lost digits: let the exact parser redo them. */
  readonly exactIntegers: boolean;
}

function sortTree(v: unknown, depth: number, mode: Mode): unknown {
  switch (typeof v) {
    case 'string':
      return mode.stringsChecked || !LONE_SURROGATE.test(v) ? v : BAIL;
    case 'number':
      if (!Number.isFinite(v) || (v === 0 && 1 / v < 0)) return BAIL;
      return mode.exactIntegers && Number.isInteger(v) && !Number.isSafeInteger(v) ? BAIL : v;
    case 'boolean':
      return v;
    case 'object':
      break;
    default:
      return BAIL;
  }
  if (v === null) return v;
  if (depth >= MAX_NESTING) return BAIL;
  if (Array.isArray(v)) {
    let out: unknown[] = v;
    for (let i = 0; i < v.length; i++) {
      const c = sortTree(v[i], depth + 1, mode);
      if (c === BAIL) return BAIL;
      if (c !== v[i]) {
        if (out === v) out = v.slice();
        out[i] = c;
      }
    }
    return out;
  }
  if (!isPlain(v)) return BAIL;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  let sorted = true;
  let replaced: Map<number, unknown> | undefined; // children that had to be re-keyed
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (isIndexKey(k)) return BAIL;
    if (i > 0 && (keys[i - 1] as string) > k) sorted = false;
    const child = o[k];
    const c = sortTree(child, depth + 1, mode);
    if (c === BAIL) return BAIL;
    if (c !== child) (replaced ??= new Map()).set(i, c);
  }
  if (sorted && replaced === undefined) return o;
  const order = keys.map((_, i) => i);
  if (!sorted) order.sort((a, b) => ((keys[a] as string) < (keys[b] as string) ? -1 : 1));
  const out: Record<string, unknown> = {};
  for (const i of order) {
    const value = replaced?.has(i) === true ? replaced.get(i) : o[keys[i] as string];
    Object.defineProperty(out, keys[i] as string, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function fastCanonical(value: unknown, mode: Mode): string | undefined {
  const tree = sortTree(value, 0, mode);
  return tree === BAIL ? undefined : JSON.stringify(tree);
}

/** Canonical JSON of a JSON-shaped value, or why it has none. Never throws. */
export function tryCanonicalize(value: unknown): E.Either<JcsError, string> {
  const fast = fastCanonical(value, { stringsChecked: false, exactIntegers: false });
  return fast !== undefined ? E.right(fast) : referenceCanonicalize(value);
}

/**
 * RFC 8785 canonical JSON of `value`. Throws a TypeError (like JSON.stringify
 * on a BigInt) for values upstream would refuse: non-finite numbers, lone
 * surrogates, undefined, functions, class instances, nesting beyond 127.
 */
export function canonicalize(value: unknown): string {
  const r = tryCanonicalize(value);
  if (E.isLeft(r)) throw new TypeError(r.left.message);
  return r.right;
}

// Any surrogate code unit, or a \u escape that could spell one.
const MAY_HOLD_SURROGATE = /[\uD800-\uDFFF]|\\u[dD][89a-fA-F]/;

export interface ParsedCanonical {
  readonly value: JsonValue;
  readonly canonical: string;
}

/**
 * Parse and canonicalize in one go, with serde_json's verdicts. Native
 * JSON.parse does the work when the text cannot differ from serde_json on it
 * (no surrogates, no integer beyond 2^53, no -0, nesting within bounds);
 * otherwise, and for every error, the exact parser above decides.
 */
export function parseCanonical(text: string): E.Either<JsonSyntaxError | JcsError, ParsedCanonical> {
  if (!MAY_HOLD_SURROGATE.test(text)) {
    let value: JsonValue | undefined;
    try {
      value = JSON.parse(text) as JsonValue;
    } catch {
      value = undefined; // the exact parser reports the error with serde_json's reason
    }
    if (value !== undefined) {
      const canonical = fastCanonical(value, { stringsChecked: true, exactIntegers: true });
      if (canonical !== undefined) return E.right({ value, canonical });
    }
  }
  const parsed = parseJson(text);
  if (E.isLeft(parsed)) return parsed;
  const canonical = referenceCanonicalize(parsed.right);
  return E.isLeft(canonical) ? canonical : E.right({ value: parsed.right, canonical: canonical.right });
}

/** Upstream's `canonicalize(&str)`: parse then print. */
export function canonicalizeText(text: string): E.Either<JsonSyntaxError | JcsError, string> {
  return E.map((p: ParsedCanonical) => p.canonical)(parseCanonical(text));
}

/** Canonical text of raw bytes (strict UTF-8, then JSON). */
export function canonicalizeBytes(bytes: Uint8Array): E.Either<JsonSyntaxError | JcsError, string> {
  const text = decodeUtf8(bytes);
  return E.isLeft(text) ? text : canonicalizeText(text.right);
}
