// Decoding at the edge: every external value becomes either a typed value or a
// DecodeError listing (path, reason) pairs a person can read. Never an exception.
import * as E from 'fp-ts/Either';
import * as t from 'io-ts';

export interface DecodeIssue {
  /** JSON path of the offending value, e.g. `$.event.receivedAt`. */
  readonly path: string;
  readonly reason: string;
}

export interface DecodeError {
  readonly kind: 'DecodeError';
  /** Name of the codec that rejected the input. */
  readonly type: string;
  readonly issues: readonly DecodeIssue[];
  readonly message: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function pathOf(context: t.Context): string {
  let path = '$';
  // context[0] is the root (key ''); every further entry names a key or an index.
  for (const entry of context.slice(1)) {
    if (entry.key === '') continue;
    path += /^\d+$/.test(entry.key) ? `[${entry.key}]` : IDENTIFIER.test(entry.key) ? `.${entry.key}` : `[${JSON.stringify(entry.key)}]`;
  }
  return path;
}

/** The value as short JSON, for "got …" in a decode issue. */
function shortJson(value: unknown): string {
  if (value === undefined) return 'nothing';
  try {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return typeof value;
  }
}

export function toIssues(errors: t.Errors): DecodeIssue[] {
  return errors.map((e) => {
    const last = e.context[e.context.length - 1];
    const reason = e.message ?? `expected ${last?.type.name ?? 'a value'}, got ${shortJson(e.value)}`;
    return { path: pathOf(e.context), reason };
  });
}

export function decodeError(type: string, issues: readonly DecodeIssue[]): DecodeError {
  const message = `invalid ${type}: ${issues.map((i) => `${i.path}: ${i.reason}`).join('; ')}`;
  return { kind: 'DecodeError', type, issues, message };
}

/** Decode `u` with `codec`; Left is a readable DecodeError. Never throws. */
export function decodeWith<A, O>(codec: t.Type<A, O, unknown>, u: unknown): E.Either<DecodeError, A> {
  let r: t.Validation<A>;
  try {
    r = codec.decode(u);
  } catch (err) {
    // A codec bug must not crash the daemon; report it as bad input instead.
    return E.left(decodeError(codec.name, [{ path: '$', reason: `decoder failed: ${String(err)}` }]));
  }
  return E.isRight(r) ? r : E.left(decodeError(codec.name, toIssues(r.left)));
}

/** Parse JSON text and decode it; malformed JSON is a DecodeError too. */
export function decodeJson<A, O>(codec: t.Type<A, O, unknown>, text: string): E.Either<DecodeError, A> {
  let u: unknown;
  try {
    u = JSON.parse(text);
  } catch (err) {
    return E.left(decodeError(codec.name, [{ path: '$', reason: `malformed JSON: ${(err as Error).message}` }]));
  }
  return decodeWith(codec, u);
}

/** Compact JSON of `value` encoded by `codec` (upstream's key order, omitted absents). */
export function encodeJson<A, O>(codec: t.Type<A, O, unknown>, value: A): string {
  return JSON.stringify(codec.encode(value));
}
