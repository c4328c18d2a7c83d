// Signed-artifact verification in upstream's exact order (verify_signed_sidecar):
// no trust roots, UTF-8, JSON, canonicalize, each key over the canonical
// bytes, typed parse, schemaVersion, signedAt, rejectBefore, stale, future.
// The first failure wins; every outcome is a value, nothing throws.
// One step is ours: before UTF-8, the raw bytes must fit the bounds in
// artifact-limits.ts (size, containers, keys, elements). The signature is
// over canonical bytes, which need a parse, so it cannot be checked first;
// the bounds keep what a forged body costs to parse near a genuine fleet's.
import * as crypto from 'node:crypto';
import * as E from 'fp-ts/Either';
import type * as t from 'io-ts';
import {
  ARTIFACT_SCHEMA_VERSION,
  BootstrapNonces,
  FleetResolved,
  normalizeRolloutPolicies,
  Revocations,
  RolloutManifest,
} from '../codecs/artifacts';
import { decodeWith } from '../codecs/decode';
import { decodeUtf8, parseCanonical } from '../codecs/jcs';
import { compareInstants, formatInstant, parseInstant, type Instant, type Timestamp } from '../codecs/timestamp';
import { checkArtifactLimits, DEFAULT_ARTIFACT_LIMITS, type ArtifactLimits } from './artifact-limits';
import * as err from './errors';
import { CLOCK_SKEW_SLACK_SECS, type VerifyError } from './errors';
import { isSupportedAlgorithm, verifyWithKey } from './keys';

/** A trust root as written in trust.json (`public` is standard base64). */
export interface TrustedKey {
  readonly algorithm: string;
  readonly public: string;
}

export interface VerifyOptions {
  /** RFC 3339; compared at nanosecond precision. */
  readonly now: string;
  /** Seconds an artifact stays fresh after `meta.signedAt` (plus 60 s of clock slack). */
  readonly freshnessWindowSecs: number;
  /** Compromise cut-off: artifacts signed strictly before it are refused. */
  readonly rejectBefore?: string | undefined;
  /** Pre-parse bounds; DEFAULT_ARTIFACT_LIMITS (8 MiB, …) when absent. */
  readonly limits?: ArtifactLimits | undefined;
}

declare const verifiedBrand: unique symbol;

/**
 * A payload that passed signature, schema, rejectBefore and freshness checks.
 * Only the verify functions below produce one (the brand is type-only, so the
 * value itself stays plain JSON data).
 */
export interface Verified<T> {
  readonly payload: T;
  readonly signedAt: Timestamp;
  readonly [verifiedBrand]: true;
}

/** A verified fleet also carries its anchor, so the manifests projected from it can be checked. */
export interface VerifiedFleet extends Verified<FleetResolved> {
  /** `canonical_hash_from_bytes`: SHA-256 (lowercase hex) of the canonical bytes that were verified. */
  readonly canonicalSha256: string;
}
export type VerifiedRolloutManifest = Verified<RolloutManifest>;
export type VerifiedRevocations = Verified<Revocations>;
export type VerifiedBootstrapNonces = Verified<BootstrapNonces>;

interface Signed {
  readonly schemaVersion: number;
  readonly meta: { readonly signedAt: Timestamp | null };
}

interface Checked {
  readonly now: Instant;
  readonly windowSecs: number;
  readonly rejectBefore: Instant | undefined;
}

function checkOptions(trustedKeys: unknown, artifact: unknown, signature: unknown, opts: VerifyOptions): E.Either<VerifyError, Checked> {
  if (!Array.isArray(trustedKeys)) return E.left(err.invalidArgument('trustedKeys must be an array'));
  if (!(artifact instanceof Uint8Array) || !(signature instanceof Uint8Array)) return E.left(err.invalidArgument('artifact and signature must be byte arrays'));
  const now = typeof opts.now === 'string' ? parseInstant(opts.now) : E.left('not a string');
  if (E.isLeft(now)) return E.left(err.invalidArgument(`now: ${now.left}`));
  const w = opts.freshnessWindowSecs;
  if (typeof w !== 'number' || !Number.isSafeInteger(w) || w < 0) return E.left(err.invalidArgument('freshnessWindowSecs must be a non-negative integer'));
  if (opts.rejectBefore === undefined) return E.right({ now: now.right, windowSecs: w, rejectBefore: undefined });
  const rb = typeof opts.rejectBefore === 'string' ? parseInstant(opts.rejectBefore) : E.left('not a string');
  if (E.isLeft(rb)) return E.left(err.invalidArgument(`rejectBefore: ${rb.left}`));
  return E.right({ now: now.right, windowSecs: w, rejectBefore: rb.right });
}

// Buffer.from(string) is several times slower than TextEncoder on Node 20 for large strings.
const UTF8_ENCODER = new TextEncoder();

const plus = (i: Instant, secs: number): Instant => ({ seconds: i.seconds + secs, nanos: i.nanos });

function verifySidecar<T extends Signed>(
  codec: t.Type<T, unknown, unknown>,
  artifactName: string,
  artifact: Uint8Array,
  signature: Uint8Array,
  trustedKeys: readonly TrustedKey[],
  opts: VerifyOptions,
): E.Either<VerifyError, { readonly verified: Verified<T>; readonly canonicalBytes: Uint8Array }> {
  const checked = checkOptions(trustedKeys, artifact, signature, opts);
  if (E.isLeft(checked)) return checked;
  const first = trustedKeys[0];
  if (first === undefined) return E.left(err.noTrustRoots());

  // Before any decoding: a forged body must not cost seconds to refuse.
  const bounded = checkArtifactLimits(artifact, opts.limits ?? DEFAULT_ARTIFACT_LIMITS);
  if (E.isLeft(bounded)) return E.left(err.tooLarge(artifactName, bounded.left));

  const text = decodeUtf8(artifact);
  if (E.isLeft(text)) return E.left(err.parseError(artifactName, text.left.message));
  const parsed = parseCanonical(text.right);
  if (E.isLeft(parsed)) {
    // Not reachable for text that parsed; kept apart as upstream keeps the classes apart.
    if (parsed.left.kind === 'JcsError') return E.left(err.canonicalizeError(parsed.left.message));
    return E.left(err.parseError(artifactName, parsed.left.message));
  }
  const json = parsed.right.value;
  // Producers publish canonical bytes, so usually the received bytes are the message.
  const canonicalBytes = parsed.right.canonical === text.right ? artifact : UTF8_ENCODER.encode(parsed.right.canonical);

  let supported = false;
  let matched = false;
  for (const key of trustedKeys) {
    const algorithm: unknown = key?.algorithm;
    if (!isSupportedAlgorithm(algorithm)) continue; // forward compatibility: skip, do not fail
    supported = true;
    if (typeof key.public === 'string' && verifyWithKey(algorithm, key.public, canonicalBytes, signature)) {
      matched = true;
      break;
    }
  }
  if (!supported) return E.left(err.unsupportedAlgorithm(String(first?.algorithm)));
  if (!matched) return E.left(err.badSignature());

  // The parsed value equals a re-parse of the canonical text (numbers print
  // and re-read exactly), which is what upstream's typed parse reads.
  const typed = decodeWith(codec, json);
  if (E.isLeft(typed)) return E.left(err.parseError(artifactName, typed.left.message, typed.left.issues));
  const payload = typed.right;

  if (payload.schemaVersion !== ARTIFACT_SCHEMA_VERSION) return E.left(err.schemaVersionUnsupported(payload.schemaVersion));
  const signedAtText = payload.meta.signedAt;
  if (signedAtText === null) return E.left(err.notSigned());
  const signedAt = parseInstant(signedAtText);
  if (E.isLeft(signedAt)) return E.left(err.parseError(artifactName, `meta.signedAt: ${signedAt.left}`));

  const { now, windowSecs, rejectBefore } = checked.right;
  // Before freshness on purpose: a compromise must be reported as such, not as staleness.
  if (rejectBefore !== undefined && compareInstants(signedAt.right, rejectBefore) < 0) {
    return E.left(err.rejectedBefore(signedAtText, formatInstant(rejectBefore)));
  }
  if (compareInstants(now, plus(signedAt.right, windowSecs + CLOCK_SKEW_SLACK_SECS)) > 0) {
    return E.left(err.stale(signedAtText, formatInstant(now), windowSecs));
  }
  if (compareInstants(signedAt.right, plus(now, CLOCK_SKEW_SLACK_SECS)) > 0) {
    return E.left(err.futureDated(signedAtText, formatInstant(now)));
  }

  return E.right({ verified: { payload, signedAt: signedAtText } as Verified<T>, canonicalBytes });
}

type Verify<V> = (artifact: Uint8Array, signature: Uint8Array, trustedKeys: readonly TrustedKey[], opts: VerifyOptions) => E.Either<VerifyError, V>;

const plain =
  <T extends Signed>(codec: t.Type<T, unknown, unknown>, name: string): Verify<Verified<T>> =>
  (artifact, signature, keys, opts) =>
    E.map((r: { readonly verified: Verified<T> }) => r.verified)(verifySidecar(codec, name, artifact, signature, keys, opts));

/** `verify_artifact`: fleet.resolved; `all-at-once` policies without waves get their implicit wave. */
export const verifyFleetResolved: Verify<VerifiedFleet> = (artifact, signature, keys, opts) =>
  E.map(({ verified, canonicalBytes }: { readonly verified: Verified<FleetResolved>; readonly canonicalBytes: Uint8Array }) => ({
    ...verified,
    payload: normalizeRolloutPolicies(verified.payload),
    canonicalSha256: crypto.createHash('sha256').update(canonicalBytes).digest('hex'),
  }))(verifySidecar(FleetResolved, 'fleet.resolved', artifact, signature, keys, opts));

/** `verify_rollout_manifest`. Callers must still bind the id (see rollout-binding). */
export const verifyRolloutManifest: Verify<VerifiedRolloutManifest> = plain(RolloutManifest, 'rollout manifest');

export const verifyRevocations: Verify<VerifiedRevocations> = plain(Revocations, 'revocations');

export const verifyBootstrapNonces: Verify<VerifiedBootstrapNonces> = plain(BootstrapNonces, 'bootstrap nonces');

/**
 * `canonical_hash_from_bytes`: SHA-256 hex of the JCS form of the received
 * bytes (never of a re-serialised struct, which would drop unknown fields).
 */
export function canonicalHashFromBytes(bytes: Uint8Array): E.Either<VerifyError, string> {
  const text = decodeUtf8(bytes);
  if (E.isLeft(text)) return E.left(err.canonicalizeError(text.left.message));
  const parsed = parseCanonical(text.right);
  if (E.isLeft(parsed)) return E.left(err.canonicalizeError(parsed.left.message));
  return E.right(crypto.createHash('sha256').update(UTF8_ENCODER.encode(parsed.right.canonical)).digest('hex'));
}
