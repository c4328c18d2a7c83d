// `trust.json` (upstream `TrustConfig`): the public keys an agent trusts.
// Typed parse as serde does it: unknown members ignored, `ciReleaseKey` must be
// an object, absent lists default to []. The algorithm stays a free string so
// that an unknown one is skipped at verify time rather than failing the file.
import * as E from 'fp-ts/Either';
import * as t from 'io-ts';
import { decodeError, decodeWith, type DecodeError } from './decode';
import { decodeUtf8, parseJson, type JsonSyntaxError } from './jcs';
import { Text, U32 } from './scalars';
import { isPlainObject, opt, req, struct, withDefault } from './struct';
import { compareTimestamps, TimestampCodec, type Timestamp } from './timestamp';

/** `TrustConfig::CURRENT_SCHEMA_VERSION`. */
export const TRUST_SCHEMA_VERSION = 1;

export const TrustedPubkey = struct('TrustedPubkey', {
  algorithm: req(Text),
  public: req(Text),
});
export type TrustedPubkey = t.TypeOf<typeof TrustedPubkey>;

export const KeySlot = struct('KeySlot', {
  current: opt(TrustedPubkey),
  previous: opt(TrustedPubkey),
  rejectBefore: opt(TimestampCodec),
  successor: opt(TrustedPubkey),
  retireAt: opt(TimestampCodec),
});
export type KeySlot = t.TypeOf<typeof KeySlot>;

const TrustConfigFields = struct('TrustConfig', {
  schemaVersion: req(U32),
  ciReleaseKey: req(KeySlot),
  cacheKeys: withDefault(t.array(Text), []),
  orgRootKey: opt(KeySlot),
  rootCaPem: opt(Text),
  issuanceCaPems: withDefault(t.array(Text), []),
});
export type TrustConfig = t.TypeOf<typeof TrustConfigFields>;

// The Nix emitter writes `rootCAPem` / `issuanceCAPems` while the Rust struct
// reads `rootCaPem` / `issuanceCaPems` (so upstream silently drops them). Take
// either spelling when it is well-formed, and ignore it otherwise, so that a
// field no verifier reads can never fail the file.
const ALIASES: readonly (readonly [string, string, t.Mixed])[] = [
  ['rootCAPem', 'rootCaPem', Text],
  ['issuanceCAPems', 'issuanceCaPems', t.array(Text)],
];

export const TrustConfig = new t.Type<TrustConfig, unknown, unknown>(
  'TrustConfig',
  (u): u is TrustConfig => TrustConfigFields.is(u),
  (u, c) => {
    if (!isPlainObject(u)) return t.failure(u, c, 'expected an object');
    let input: Record<string, unknown> = u;
    for (const [alias, name, codec] of ALIASES) {
      const present = Object.prototype.hasOwnProperty.call(u, name) && u[name] !== null;
      if (!present && Object.prototype.hasOwnProperty.call(u, alias) && codec.is(u[alias])) input = { ...input, [name]: u[alias] };
    }
    return TrustConfigFields.validate(input, c);
  },
  (a) => TrustConfigFields.encode(a),
);

/** Keys to try, in upstream's order: current, previous (time-less view). */
export function activeKeys(slot: KeySlot): TrustedPubkey[] {
  const keys: TrustedPubkey[] = [];
  if (slot.current !== undefined) keys.push(slot.current);
  if (slot.previous !== undefined) keys.push(slot.previous);
  return keys;
}

/** `active_keys_at(now)`: current, previous, then successor while `now < retireAt` (strict). */
export function activeKeysAt(slot: KeySlot, now: Timestamp): TrustedPubkey[] {
  const keys = activeKeys(slot);
  if (slot.successor !== undefined && slot.retireAt !== undefined && compareTimestamps(now, slot.retireAt) < 0) keys.push(slot.successor);
  return keys;
}

export interface TrustSchemaVersionUnsupported {
  readonly kind: 'TrustSchemaVersionUnsupported';
  readonly version: number;
  readonly message: string;
}

export type TrustConfigError = JsonSyntaxError | DecodeError | TrustSchemaVersionUnsupported;

/**
 * Reads a trust file. Unlike upstream's bare serde parse, a schemaVersion other
 * than 1 is refused here, as upstream's offline verifier does (exit 2): a newer
 * file may carry key semantics this agent does not know.
 */
export function parseTrustConfig(input: Uint8Array | string): E.Either<TrustConfigError, TrustConfig> {
  const text = typeof input === 'string' ? E.right(input) : decodeUtf8(input);
  if (E.isLeft(text)) return text;
  const json = parseJson(text.right);
  if (E.isLeft(json)) return E.left(decodeError('TrustConfig', [{ path: '$', reason: json.left.message }]));
  const decoded = decodeWith(TrustConfig, json.right);
  if (E.isLeft(decoded)) return decoded;
  const version = decoded.right.schemaVersion;
  if (version !== TRUST_SCHEMA_VERSION) {
    return E.left({
      kind: 'TrustSchemaVersionUnsupported',
      version,
      message: `trust file schemaVersion ${version} is not supported (accepted: ${TRUST_SCHEMA_VERSION})`,
    });
  }
  return decoded;
}
