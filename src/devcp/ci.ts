// The CI side of the dev CP's state (ci.json): the fleet declaration, each
// channel's current rollout, the bootstrap-nonce allowlist and earlier
// manifests, and the signatures over them. Pure: every operation takes the
// state and returns the next one; core.ts keeps it.
import type { RolloutPolicy } from '../codecs/policy';
import { rolloutIdFor } from '../codecs/protocol';
import { compareTimestamps, type Timestamp } from '../codecs/timestamp';
import type { Logger } from '../ports/logger';
import {
  declareHosts,
  hostDeclProblem,
  newCiCommit,
  policyForRelease,
  signCanonical,
  signRelease,
  type FleetDecl,
  type FleetHost,
  type HostDecl,
  type ReleasePolicy,
  type SignedBytes,
  type SignedRelease,
} from './fleet';
import type { SigningKey } from './keys';
import type { QuarantineEntry } from './mirror';
import type { AllowedNonce, CiState, CurrentRollout } from './persist';

export interface ReleaseOptions {
  readonly channel?: string;
  /** host → closure (store path basename). Hosts of the channel not named keep their closure. */
  readonly closures: Readonly<Record<string, string>>;
  /** `halt` / `rollback-and-halt`, or a whole rollout policy. Default: the channel's current policy. */
  readonly policy?: ReleasePolicy;
  /** Soak after the rollout opens; fractions allowed for the CP's deadlines (the signed fleet rounds up). Default: the channel's. */
  readonly soakMinutes?: number;
  /** Lowercase hex; default a fresh random 40-hex commit. */
  readonly ciCommit?: string;
}

export interface ReleaseResult {
  readonly rolloutId: string;
  readonly ciCommit: string;
  readonly channel: string;
  readonly hosts: readonly { readonly hostname: string; readonly targetClosure: string }[];
  readonly soakDueAt: Timestamp;
}

/** A release accepted: the next CI state (not yet signed) and the channel's new current rollout. */
export interface ReleasePlan {
  readonly ci: CiState;
  readonly channel: string;
  readonly current: CurrentRollout;
  readonly ciCommit: string;
  readonly policy: RolloutPolicy;
}

const own = <V>(record: Readonly<Record<string, V>>, key: string): V | undefined => (Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined);

export const fleetHost = (ci: CiState, name: string): FleetHost | undefined => own(ci.fleet.hosts, name);

/** Ids of every channel's current rollout: the ones the CP dispatches and snapshots. */
export const currentRolloutIds = (ci: CiState): Set<string> => new Set(Object.values(ci.current).map((c) => c.rolloutId));

/**
 * Sign with a fresh `signedAt`: the fleet and its manifests, and the
 * manifests of current rollouts projected from an earlier commit (kept
 * with their original anchor, so a long-open rollout stays dispatchable).
 */
export function signCi(ci: CiState, key: SigningKey, now: Timestamp, logger: Logger): { readonly ci: CiState; readonly signed: SignedRelease } {
  const signed = signRelease(ci.fleet, key, now);
  const archive = { ...ci.archive };
  for (const c of Object.values(ci.current)) {
    if (signed.manifests[c.rolloutId] !== undefined) continue;
    const old = archive[c.rolloutId];
    if (old === undefined) continue;
    let manifest: { meta?: Record<string, unknown> };
    try {
      manifest = JSON.parse(Buffer.from(old.bytes).toString('utf8')) as { meta?: Record<string, unknown> };
    } catch {
      logger.warn('dev-cp: archived manifest is not JSON; serving it unchanged', { rolloutId: c.rolloutId });
      continue;
    }
    archive[c.rolloutId] = signCanonical(key, { ...manifest, meta: { ...manifest.meta, signedAt: now } });
  }
  return { ci: { ...ci, archive }, signed };
}

/** Keep the manifests being served servable after the next release; beyond `max`, the oldest go, never a current rollout's. */
function archiveManifests(ci: CiState, signed: SignedRelease, max: number): CiState {
  const archive = { ...ci.archive };
  for (const [id, m] of Object.entries(signed.manifests)) archive[id] = { bytes: m.bytes, signature: m.signature };
  const keep = currentRolloutIds(ci);
  // Oldest first is insertion order.
  for (const id of Object.keys(archive)) {
    if (Object.keys(archive).length <= max) break;
    if (!keep.has(id)) delete archive[id];
  }
  return { ...ci, archive };
}

/** Check a release against the declaration and the quarantine; throws a readable reason when it cannot open. */
export function planRelease(ci: CiState, signed: SignedRelease, quarantine: readonly QuarantineEntry[], opts: ReleaseOptions, maxArchivedManifests: number): ReleasePlan {
  const channel = opts.channel ?? Object.keys(ci.fleet.channels).sort()[0];
  const chan = channel === undefined ? undefined : ci.fleet.channels[channel];
  if (channel === undefined || chan === undefined) throw new Error(`release: unknown channel ${String(channel)}`);
  for (const [h, closure] of Object.entries(opts.closures)) {
    const decl = fleetHost(ci, h);
    if (decl === undefined) throw new Error(`release: host ${h} is not declared`);
    if (decl.channel !== channel) throw new Error(`release: host ${h} is on channel ${decl.channel}, not ${channel}`);
    if (typeof closure !== 'string' || closure.length === 0 || closure.includes('/')) throw new Error(`release: closure for ${h} must be a store path basename`);
    // It would never be dispatched (pendingDispatches skips it): say so and why, rather than open a rollout that hangs.
    const q = quarantine.find((x) => x.channel === channel && x.closure === closure);
    if (q !== undefined) {
      throw new Error(`release: closure ${closure} is quarantined on channel ${channel}: ${q.reason ?? 'a host failed with it and rolled back'} (a wipe of the database lifts it)`);
    }
  }
  const ciCommit = opts.ciCommit ?? newCiCommit();
  if (!/^[0-9a-f]+$/.test(ciCommit)) throw new Error('release: ciCommit must be lowercase hex');
  const soakMinutes = opts.soakMinutes ?? chan.soakMinutes;
  if (!Number.isFinite(soakMinutes) || soakMinutes < 0) throw new Error('release: soakMinutes must be a finite number >= 0');
  const policy = policyForRelease(chan.policy, opts.policy, soakMinutes);

  const hosts: Record<string, FleetHost> = { ...ci.fleet.hosts };
  for (const [h, closure] of Object.entries(opts.closures)) hosts[h] = { ...(hosts[h] as FleetHost), closureHash: closure };
  const targets = Object.keys(hosts)
    .filter((h) => hosts[h]?.channel === channel && hosts[h]?.closureHash !== null)
    .sort()
    .map((hostname) => ({ hostname, targetClosure: hosts[hostname]?.closureHash as string }));
  if (targets.length === 0) throw new Error(`release: no host of channel ${channel} has a closure`);

  const current: CurrentRollout = { rolloutId: rolloutIdFor(channel, ciCommit), soakMinutes, hosts: targets };
  const fleet: FleetDecl = { ciCommit, hosts, channels: { ...ci.fleet.channels, [channel]: { policy, soakMinutes } } };
  const archived = archiveManifests(ci, signed, maxArchivedManifests);
  return { ci: { ...archived, fleet, current: { ...ci.current, [channel]: current } }, channel, current, ciCommit, policy };
}

/** Add or update hosts; throws on the first that cannot be declared. */
export function declareHostsIn(ci: CiState, decls: readonly HostDecl[]): CiState {
  for (const d of decls) {
    const problem = hostDeclProblem(d);
    if (problem !== undefined) throw new Error(problem);
  }
  return { ...ci, fleet: declareHosts(ci.fleet, decls) };
}

export const allowlisted = (ci: CiState, nonce: string): AllowedNonce | undefined => own(ci.allowedNonces, nonce);

/** A minted token's nonce joins the allowlist (as CI would sign it into bootstrap-nonces.json); expired entries go first, then the oldest beyond `max`. */
export function allowNonce(ci: CiState, nonce: string, entry: AllowedNonce, now: Timestamp, max: number): CiState {
  const unexpired = Object.entries(ci.allowedNonces).filter(([, e]) => compareTimestamps(now, e.expiresAt) < 0);
  const kept = unexpired.slice(Math.max(0, unexpired.length - max + 1));
  return { ...ci, allowedNonces: { ...Object.fromEntries(kept), [nonce]: entry } };
}

/** The manifest served for `rolloutId`: this signing's, else an earlier one kept in the archive. */
export const servedManifest = (ci: CiState, signed: SignedRelease, rolloutId: string): SignedBytes | undefined => own(signed.manifests, rolloutId) ?? own(ci.archive, rolloutId);
