// Trust: JCS canonical JSON, trust.json, and verification of CI-signed
// artifacts with upstream's verdicts (docs/trust.md).
export {
  canonicalize,
  canonicalizeBytes,
  canonicalizeText,
  decodeUtf8,
  parseJson,
  tryCanonicalize,
  MAX_NESTING,
  type JcsError,
  type JsonArray,
  type JsonObject,
  type JsonSyntaxError,
  type JsonValue,
} from '../codecs/jcs';
export {
  activeKeys,
  activeKeysAt,
  KeySlot,
  parseTrustConfig,
  TRUST_SCHEMA_VERSION,
  TrustConfig,
  TrustedPubkey,
  type TrustConfigError,
  type TrustSchemaVersionUnsupported,
} from '../codecs/trust-config';
export {
  ARTIFACT_SCHEMA_VERSION,
  BootstrapNonce,
  BootstrapNonces,
  Channel,
  ChannelEdge,
  DisruptionBudget,
  Edge,
  FleetResolved,
  Host,
  HostWave,
  Meta,
  normalizeRolloutPolicies,
  Pin,
  RevocationEntry,
  Revocations,
  RolloutBudget,
  rolloutIdOf,
  RolloutManifest,
  STRATEGY_ALL_AT_ONCE,
  Wave,
} from '../codecs/artifacts';
export { CLOCK_SKEW_SLACK_SECS, type VerifyError, type VerifyErrorKind } from './errors';
export { decodeBase64Strict, isSmallOrderEncoding, SUPPORTED_ALGORITHMS, type SupportedAlgorithm } from './keys';
export {
  canonicalHashFromBytes,
  verifyBootstrapNonces,
  verifyFleetResolved,
  verifyRevocations,
  verifyRolloutManifest,
  type TrustedKey,
  type Verified,
  type VerifiedBootstrapNonces,
  type VerifiedFleet,
  type VerifiedRevocations,
  type VerifiedRolloutManifest,
  type VerifyOptions,
} from './verify';
export {
  assertFleetAnchor,
  assertMembership,
  assertRolloutIdMatches,
  assertTargetClosure,
  manifestError,
  validateRolloutIdForPath,
  type ManifestError,
  type ManifestErrorKind,
} from './rollout-binding';
export { checkSignedAt, DEFAULT_FRESHNESS_WINDOW_SECS, type StaleTarget } from './freshness';
export {
  createManifestCache,
  FLEET_PATHS,
  rolloutPaths,
  type ArtifactSource,
  type CacheLog,
  type ManifestCache,
  type ManifestCacheDeps,
  type ManifestCacheStore,
  type SignedArtifact,
  type VerifiedFleetSnapshot,
} from './manifest-cache';
