// CI-signed artifacts (upstream nixfleet-proto): fleet.resolved, per-channel
// rollout manifests, revocations and bootstrap nonces. Typed parse as serde
// does it: unknown members ignored (they stay covered by the signature, which is
// checked over the received bytes, never over these types), `Option` fields
// read null as absent, `#[serde(default)]` fields default only when missing.
import * as t from 'io-ts';
import { HealthGate, RolloutPolicy, Selector } from './policy';
import { rolloutIdFor } from './protocol';
import { Text, U32 } from './scalars';
import { isPlainObject, opt, req, sortedRecord, struct, withDefault } from './struct';
import { TimestampCodec } from './timestamp';

// serde `Option<T>` without skip_serializing_if: absent or null reads as null
// and is written as null, so a typed round trip gives upstream's bytes. Fields
// upstream skips when unset (signatureAlgorithm, pin, expiresAt) use `opt`.
const nullable = <C extends t.Mixed>(codec: C) => withDefault(t.union([codec, t.null]), null);

/** `ACCEPTED_SCHEMA_VERSION`: the only top-level schemaVersion a verifier accepts. */
export const ARTIFACT_SCHEMA_VERSION = 1;

export const Meta = struct('Meta', {
  // Parsed but not checked: the top-level schemaVersion is the gate.
  schemaVersion: req(U32),
  signedAt: nullable(TimestampCodec),
  ciCommit: nullable(Text),
  // Informational only; the trust key's algorithm decides (an artifact must not pick its own).
  signatureAlgorithm: opt(Text),
});
export type Meta = t.TypeOf<typeof Meta>;

export const Pin = struct('Pin', {
  commit: req(Text),
  reason: req(Text),
  expiresAt: opt(TimestampCodec),
});
export type Pin = t.TypeOf<typeof Pin>;

export const Host = struct('Host', {
  system: req(Text),
  tags: req(t.array(Text)),
  channel: req(Text),
  closureHash: nullable(Text),
  pubkey: nullable(Text),
  pin: opt(Pin),
});
export type Host = t.TypeOf<typeof Host>;

export const Channel = struct('Channel', {
  rolloutPolicy: req(Text),
  reconcileIntervalMinutes: req(U32),
  /** Minutes, despite the name. */
  freshnessWindow: req(U32),
  signingIntervalMinutes: req(U32),
});
export type Channel = t.TypeOf<typeof Channel>;

export const Wave = struct('Wave', {
  hosts: req(t.array(Text)),
  soakMinutes: req(U32),
});
export type Wave = t.TypeOf<typeof Wave>;

/** Host edge. The pre-rename `before`/`after` keys are deliberately not accepted (upstream hard cutover). */
export const Edge = struct('Edge', {
  gated: req(Text),
  gates: req(Text),
  reason: nullable(Text),
});
export type Edge = t.TypeOf<typeof Edge>;

const ChannelEdgeFields = struct('ChannelEdge', {
  gates: req(Text),
  gated: req(Text),
  reason: nullable(Text),
});
export type ChannelEdge = t.TypeOf<typeof ChannelEdgeFields>;

// serde `#[serde(alias = "before")] gates`, `#[serde(alias = "after")] gated`:
// either spelling fills the field; both at once is serde's "duplicate field".
const CHANNEL_EDGE_ALIASES = [
  ['before', 'gates'],
  ['after', 'gated'],
] as const;

export const ChannelEdge = new t.Type<ChannelEdge, unknown, unknown>(
  'ChannelEdge',
  (u): u is ChannelEdge => ChannelEdgeFields.is(u),
  (u, c) => {
    if (!isPlainObject(u)) return t.failure(u, c, 'expected an object');
    let input: Record<string, unknown> = u;
    for (const [alias, name] of CHANNEL_EDGE_ALIASES) {
      if (!Object.prototype.hasOwnProperty.call(u, alias)) continue;
      if (Object.prototype.hasOwnProperty.call(u, name)) {
        return t.failures([{ value: u[alias], context: t.appendContext(c, alias, Text, u[alias]), message: `duplicate field \`${name}\`` }]);
      }
      input = { ...input, [name]: u[alias] };
    }
    return ChannelEdgeFields.validate(input, c);
  },
  (a) => ChannelEdgeFields.encode(a),
);

export const DisruptionBudget = struct('DisruptionBudget', {
  selector: req(Selector),
  maxInFlight: nullable(U32),
  maxInFlightPct: nullable(U32),
});
export type DisruptionBudget = t.TypeOf<typeof DisruptionBudget>;

export const FleetResolved = struct('FleetResolved', {
  schemaVersion: req(U32),
  hosts: req(sortedRecord('Hosts', Host)),
  channels: req(sortedRecord('Channels', Channel)),
  rolloutPolicies: withDefault(sortedRecord('RolloutPolicies', RolloutPolicy), {}),
  waves: req(sortedRecord('Waves', t.array(Wave))),
  edges: withDefault(t.array(Edge), []),
  channelEdges: withDefault(t.array(ChannelEdge), []),
  disruptionBudgets: withDefault(t.array(DisruptionBudget), []),
  meta: req(Meta),
});
export type FleetResolved = t.TypeOf<typeof FleetResolved>;

const HostWaveFields = struct('HostWave', {
  hostname: req(Text),
  waveIndex: req(U32),
  targetClosure: req(Text),
});
export type HostWave = t.TypeOf<typeof HostWaveFields>;

const own = (o: Record<string, unknown>, k: string): unknown => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);

// A manifest holds one of these per host, so the well-formed case skips the
// generic field loop (its per-field contexts dominate decoding large
// manifests); anything else goes through it for the path-and-reason errors.
export const HostWave = new t.Type<HostWave, unknown, unknown>(
  'HostWave',
  (u): u is HostWave => HostWaveFields.is(u),
  (u, c) => {
    if (isPlainObject(u)) {
      const hostname = own(u, 'hostname');
      const waveIndex = own(u, 'waveIndex');
      const targetClosure = own(u, 'targetClosure');
      if (Text.is(hostname) && U32.is(waveIndex) && Text.is(targetClosure)) return t.success({ hostname, waveIndex, targetClosure });
    }
    return HostWaveFields.validate(u, c);
  },
  (a) => HostWaveFields.encode(a),
);

export const RolloutBudget = struct('RolloutBudget', {
  selector: req(Selector),
  hosts: req(t.array(Text)),
  maxInFlight: nullable(U32),
  maxInFlightPct: nullable(U32),
});
export type RolloutBudget = t.TypeOf<typeof RolloutBudget>;

export const RolloutManifest = struct('RolloutManifest', {
  schemaVersion: req(U32),
  displayName: req(Text),
  channel: req(Text),
  channelRef: req(Text),
  fleetResolvedHash: req(Text),
  hostSet: req(t.array(HostWave)),
  // Required here (no serde default), unlike in RolloutPolicy.
  healthGate: req(HealthGate),
  disruptionBudgets: withDefault(t.array(RolloutBudget), []),
  meta: req(Meta),
});
export type RolloutManifest = t.TypeOf<typeof RolloutManifest>;

export const RevocationEntry = struct('RevocationEntry', {
  hostname: req(Text),
  notBefore: req(TimestampCodec),
  reason: nullable(Text),
  revokedBy: nullable(Text),
});
export type RevocationEntry = t.TypeOf<typeof RevocationEntry>;

export const Revocations = struct('Revocations', {
  schemaVersion: req(U32),
  revocations: req(t.array(RevocationEntry)),
  meta: req(Meta),
});
export type Revocations = t.TypeOf<typeof Revocations>;

export const BootstrapNonce = struct('BootstrapNonce', {
  nonce: req(Text),
  hostname: req(Text),
  expiresAt: req(TimestampCodec),
  mintedAt: opt(TimestampCodec),
  mintedBy: opt(Text),
});
export type BootstrapNonce = t.TypeOf<typeof BootstrapNonce>;

export const BootstrapNonces = struct('BootstrapNonces', {
  schemaVersion: req(U32),
  bootstrapNonces: req(t.array(BootstrapNonce)),
  meta: req(Meta),
});
export type BootstrapNonces = t.TypeOf<typeof BootstrapNonces>;

/**
 * `"{channel}@{channelRef}"`, upstream's `RolloutId::new`. Upstream only
 * debug-asserts that the channel has no `@`; release builds concatenate, and
 * so do we (mkFleet never emits such a channel).
 */
export function rolloutIdOf(manifest: Pick<RolloutManifest, 'channel' | 'channelRef'>): string {
  return rolloutIdFor(manifest.channel, manifest.channelRef);
}

export const STRATEGY_ALL_AT_ONCE = 'all-at-once';

/**
 * Upstream's post-verification normalisation: an `all-at-once` policy with no
 * waves gets one match-all wave with zero soak. Returns a new value; the signed
 * bytes are untouched.
 */
export function normalizeRolloutPolicies(fleet: FleetResolved): FleetResolved {
  let changed = false;
  // Entries, not assignment: a policy named `__proto__` must stay an own key.
  const entries = Object.entries(fleet.rolloutPolicies).map(([name, policy]): [string, RolloutPolicy] => {
    if (policy.strategy !== STRATEGY_ALL_AT_ONCE || policy.waves.length > 0) return [name, policy];
    changed = true;
    const selector: Selector = { tags: [], tagsAny: [], hosts: [], channel: null, all: true };
    return [name, { ...policy, waves: [{ selector, soakMinutes: 0 }] }];
  });
  return changed ? { ...fleet, rolloutPolicies: Object.fromEntries(entries) } : fleet;
}
