// What the dev CP plays CI for: the fleet declaration (hosts, their SSH host
// keys and closures, one rollout policy per channel) and its projection into
// CI-signed artifacts, as upstream's `nixfleet-release` writes them
// (reference trust-and-signing.md §5.2, §5.3, §5.8; wire-protocol.md §11,
// §12.1 item 7): JCS bytes, a raw ed25519 signature over them, one manifest
// per channel that has a host with a closure, rollout id
// `<channel>@<meta.ciCommit>`, `fleetResolvedHash` = sha256 hex of the
// fleet's JCS bytes.
import * as crypto from 'node:crypto';
import * as t from 'io-ts';
import { canonicalize } from '../codecs/jcs';
import { RolloutPolicy } from '../codecs/policy';
import { rolloutIdFor } from '../codecs/protocol';
import { OnHealthFailure, Text } from '../codecs/scalars';
import { req, sortedRecord, struct, withDefault } from '../codecs/struct';
import type { Timestamp } from '../codecs/timestamp';
import { signBytes, type SigningKey } from './keys';
import { parseSshEd25519PublicLine } from './pki';

export const DEFAULT_CHANNEL = 'stable';
export const DEFAULT_SYSTEM = 'x86_64-linux';

/** A host as an operator declares it to the dev CP. */
export interface HostDecl {
  readonly name: string;
  /** OpenSSH public key line, `ssh-ed25519 AAAA… comment` (fleet.resolved `hosts.*.pubkey`). */
  readonly pubkey: string;
  /** Default `stable`. */
  readonly channel?: string;
  readonly tags?: readonly string[];
  /** Default `x86_64-linux`. */
  readonly system?: string;
}

const FleetHost = struct('DevCpFleetHost', {
  pubkey: req(Text),
  channel: req(Text),
  tags: withDefault(t.array(Text), []),
  system: withDefault(Text, DEFAULT_SYSTEM),
  closureHash: withDefault(t.union([Text, t.null]), null),
});
export type FleetHost = t.TypeOf<typeof FleetHost>;

export const NonNegative = new t.Type<number, number, unknown>(
  'non-negative number',
  (u): u is number => typeof u === 'number' && Number.isFinite(u) && u >= 0,
  (u, c) => (typeof u === 'number' && Number.isFinite(u) && u >= 0 ? t.success(u) : t.failure(u, c, 'expected a finite number >= 0')),
  (a) => a,
);

const ChannelDecl = struct('DevCpChannel', {
  policy: req(RolloutPolicy),
  /** Exact soak (may be fractional) for the CP's deadlines; the signed fleet carries it rounded up. */
  soakMinutes: req(NonNegative),
});
export type ChannelDecl = t.TypeOf<typeof ChannelDecl>;

/** The declaration the artifacts are projected from (persisted as the "CI side" of the state dir). */
export const FleetDecl = struct('DevCpFleet', {
  ciCommit: withDefault(t.union([Text, t.null]), null),
  hosts: req(sortedRecord('DevCpHosts', FleetHost)),
  channels: req(sortedRecord('DevCpChannels', ChannelDecl)),
});
export type FleetDecl = t.TypeOf<typeof FleetDecl>;

export const DEFAULT_SOAK_MINUTES = 1;

/** One wave over every host of the channel. */
export function defaultPolicy(onHealthFailure: OnHealthFailure = 'rollback-and-halt', soakMinutes = DEFAULT_SOAK_MINUTES): RolloutPolicy {
  return { strategy: 'canary', waves: [{ selector: { tags: [], tagsAny: [], hosts: [], channel: null, all: true }, soakMinutes: Math.ceil(soakMinutes) }], healthGate: {}, onHealthFailure };
}

/** Why `d` cannot be declared (not a plain host name, not an ssh-ed25519 key), or undefined. */
export function hostDeclProblem(d: HostDecl): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(d.name)) return `host name ${JSON.stringify(d.name)} is not a plain host name`;
  if (parseSshEd25519PublicLine(d.pubkey) === undefined) return `host ${d.name}: pubkey is not an "ssh-ed25519 AAAA…" line`;
  return undefined;
}

export function declareHosts(base: FleetDecl, hosts: readonly HostDecl[]): FleetDecl {
  const next: Record<string, FleetHost> = { ...base.hosts };
  const channels: Record<string, ChannelDecl> = { ...base.channels };
  for (const h of hosts) {
    const channel = h.channel ?? DEFAULT_CHANNEL;
    const previous = Object.prototype.hasOwnProperty.call(next, h.name) ? next[h.name] : undefined;
    next[h.name] = { pubkey: h.pubkey, channel, tags: [...(h.tags ?? [])], system: h.system ?? DEFAULT_SYSTEM, closureHash: previous?.closureHash ?? null };
    if (!Object.prototype.hasOwnProperty.call(channels, channel)) channels[channel] = { policy: defaultPolicy(), soakMinutes: DEFAULT_SOAK_MINUTES };
  }
  return { ...base, hosts: next, channels };
}

export const emptyFleet = (): FleetDecl => ({ ciCommit: null, hosts: {}, channels: {} });

/** A fresh 40-hex commit id (stands in for the release's git SHA). */
export const newCiCommit = (): string => crypto.randomBytes(20).toString('hex');

/** Upstream's route validator: channel `[a-z0-9_-]+`, ref lowercase hex, exactly one `@`. */
export function looksLikeRolloutId(s: string): boolean {
  return /^[a-z0-9_-]+@[0-9a-f]+$/.test(s);
}

const hostsOf = (decl: FleetDecl, channel: string): string[] =>
  Object.keys(decl.hosts)
    .filter((n) => decl.hosts[n]?.channel === channel)
    .sort(byteOrder);

function byteOrder(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

const metaOf = (decl: FleetDecl, signedAt: Timestamp) => ({ schemaVersion: 1, signedAt, ciCommit: decl.ciCommit, signatureAlgorithm: 'ed25519' });

/** The fleet.resolved object (camelCase, optionals as explicit null, as the Nix evaluator writes them). */
export function fleetResolvedOf(decl: FleetDecl, signedAt: Timestamp): Record<string, unknown> {
  const channelNames = Object.keys(decl.channels).sort(byteOrder);
  return {
    schemaVersion: 1,
    hosts: Object.fromEntries(
      Object.entries(decl.hosts).map(([name, h]) => [
        name,
        // Both `system` and `platform` (revision drift, reference §9.1).
        { system: h.system, platform: h.system, tags: h.tags, channel: h.channel, closureHash: h.closureHash, pubkey: h.pubkey },
      ]),
    ),
    channels: Object.fromEntries(
      channelNames.map((c) => [
        c,
        // freshnessWindow (minutes) >= 2 × signingIntervalMinutes, as mkFleet requires.
        { rolloutPolicy: c, reconcileIntervalMinutes: 5, freshnessWindow: 180, signingIntervalMinutes: 60, compliance: { strict: false, frameworks: [] } },
      ]),
    ),
    rolloutPolicies: Object.fromEntries(channelNames.map((c) => [c, RolloutPolicy.encode((decl.channels[c] as ChannelDecl).policy)])),
    waves: Object.fromEntries(channelNames.map((c) => [c, [{ hosts: hostsOf(decl, c), soakMinutes: Math.ceil((decl.channels[c] as ChannelDecl).soakMinutes) }]])),
    edges: [],
    channelEdges: [],
    disruptionBudgets: [],
    meta: metaOf(decl, signedAt),
  };
}

/** Channels that get a manifest: at least one host with a closure, and a commit to name the rollout. */
export function manifestChannels(decl: FleetDecl): string[] {
  if (decl.ciCommit === null) return [];
  return Object.keys(decl.channels)
    .filter((c) => Object.values(decl.hosts).some((h) => h.channel === c && h.closureHash !== null))
    .sort(byteOrder);
}

/** The per-channel rollout manifest projected from the fleet whose JCS bytes hash to `fleetHash`. */
export function manifestOf(decl: FleetDecl, channel: string, fleetHash: string, signedAt: Timestamp): Record<string, unknown> {
  const commit = decl.ciCommit ?? '';
  const policy = decl.channels[channel]?.policy;
  return {
    schemaVersion: 1,
    displayName: `${channel}@${commit === '' ? 'unknown' : commit.slice(0, 8)}`,
    channel,
    channelRef: commit,
    fleetResolvedHash: fleetHash,
    hostSet: hostsOf(decl, channel)
      .filter((n) => decl.hosts[n]?.closureHash !== null)
      .map((hostname) => ({ hostname, waveIndex: 0, targetClosure: decl.hosts[hostname]?.closureHash as string })),
    healthGate: policy?.healthGate ?? {},
    disruptionBudgets: [],
    complianceFrameworks: [],
    meta: metaOf(decl, signedAt),
  };
}

/** Canonical bytes and the raw signature over them. */
export interface SignedBytes {
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
}

export interface SignedRelease {
  readonly signedAt: Timestamp;
  readonly fleet: SignedBytes;
  /** sha256 hex of the fleet's canonical bytes. */
  readonly fleetHash: string;
  /** rollout id → manifest, for every channel in `manifestChannels`. */
  readonly manifests: Readonly<Record<string, SignedBytes>>;
}

const utf8 = new TextEncoder();

export function signCanonical(key: SigningKey, value: unknown): SignedBytes {
  const bytes = utf8.encode(canonicalize(value));
  return { bytes, signature: signBytes(key, bytes) };
}

/** Sign the fleet, then every channel's manifest anchored to it (one `signedAt` for all, as a release run). */
export function signRelease(decl: FleetDecl, key: SigningKey, signedAt: Timestamp): SignedRelease {
  const fleet = signCanonical(key, fleetResolvedOf(decl, signedAt));
  const fleetHash = crypto.createHash('sha256').update(fleet.bytes).digest('hex');
  const manifests: Record<string, SignedBytes> = {};
  for (const channel of manifestChannels(decl)) manifests[rolloutIdFor(channel, decl.ciCommit as string)] = signCanonical(key, manifestOf(decl, channel, fleetHash, signedAt));
  return { signedAt, fleet, fleetHash, manifests };
}

/** Policy a release asks for: an onHealthFailure keeps the channel's policy otherwise; a full policy replaces it. */
export type ReleasePolicy = OnHealthFailure | RolloutPolicy;

/** The channel's policy for a release: `asked` over `current` (default one wave), every wave soaking `soakMinutes` rounded up. */
export function policyForRelease(current: RolloutPolicy | undefined, asked: ReleasePolicy | undefined, soakMinutes: number): RolloutPolicy {
  const base = asked === undefined ? (current ?? defaultPolicy()) : typeof asked === 'string' ? { ...(current ?? defaultPolicy()), onHealthFailure: asked } : asked;
  const waves = base.waves.length === 0 ? defaultPolicy(base.onHealthFailure, soakMinutes).waves : base.waves;
  return { ...base, waves: waves.map((w) => ({ ...w, soakMinutes: Math.ceil(soakMinutes) })) };
}

export const isOnHealthFailure = (u: unknown): u is OnHealthFailure => OnHealthFailure.is(u);
