// Checks a caller makes after a manifest verifies (upstream manifest_cache):
// the id recomputed from the parsed manifest must be the id asked for, the
// id must be safe to put in a path, the host must be in the host set with the
// dispatched closure, and the manifest must be projected from the fleet held.
import * as E from 'fp-ts/Either';
import { rolloutIdOf, type RolloutManifest } from '../codecs/artifacts';
import { isPathSafeRolloutId } from '../codecs/wire-ids';
import type { VerifyError } from './errors';

/** Upstream's three manifest error classes (agent `ManifestError`). */
export type ManifestErrorKind = 'Missing' | 'VerifyFailed' | 'Mismatch';

export interface ManifestError {
  readonly kind: ManifestErrorKind;
  readonly reason: string;
  /** The verifier's verdict when `kind` is `VerifyFailed` because of one. */
  readonly cause?: VerifyError;
  readonly message: string;
}

export function manifestError(kind: ManifestErrorKind, reason: string, cause?: VerifyError): ManifestError {
  const base = { kind, reason, message: `manifest ${kind}: ${reason}` };
  return cause === undefined ? base : { ...base, cause };
}

/** Refuses ids that could leave the cache directory (codecs/wire-ids.ts isPathSafeRolloutId) before any path is built. */
export function validateRolloutIdForPath(rolloutId: string): E.Either<ManifestError, string> {
  if (!isPathSafeRolloutId(rolloutId)) {
    return E.left(manifestError('Mismatch', `rollout_id ${JSON.stringify(rolloutId)} contains path-traversal characters`));
  }
  return E.right(rolloutId);
}

/** The parsed manifest's `{channel}@{channelRef}` must equal the advertised id. */
export function assertRolloutIdMatches(manifest: RolloutManifest, advertised: string): E.Either<ManifestError, RolloutManifest> {
  const parsed = rolloutIdOf(manifest);
  return parsed === advertised
    ? E.right(manifest)
    : E.left(manifestError('Mismatch', `advertised rolloutId ${advertised} != parsed RolloutId ${parsed}`));
}

/** `(hostname, waveIndex)` must be in the host set (upstream `ensure`). */
export function assertMembership(manifest: RolloutManifest, hostname: string, waveIndex: number): E.Either<ManifestError, RolloutManifest> {
  return manifest.hostSet.some((h) => h.hostname === hostname && h.waveIndex === waveIndex)
    ? E.right(manifest)
    : E.left(manifestError('Mismatch', `(hostname=${hostname}, wave_index=${waveIndex}) not in manifest.host_set`));
}

/** The dispatched closure must be the one the manifest declares for this host (`ensure_for_dispatch`). */
export function assertTargetClosure(manifest: RolloutManifest, hostname: string, targetClosure: string): E.Either<ManifestError, RolloutManifest> {
  const host = manifest.hostSet.find((h) => h.hostname === hostname);
  if (host === undefined) return E.left(manifestError('Mismatch', `hostname ${JSON.stringify(hostname)} not in manifest.host_set`));
  if (host.targetClosure !== targetClosure) {
    return E.left(
      manifestError(
        'Mismatch',
        `dispatch target_closure ${JSON.stringify(targetClosure)} != manifest target_closure ${JSON.stringify(host.targetClosure)} for hostname ${JSON.stringify(hostname)}`,
      ),
    );
  }
  return E.right(manifest);
}

/** `fleetResolvedHash` must be the canonical hash of the fleet snapshot currently held. */
export function assertFleetAnchor(manifest: RolloutManifest, fleetCanonicalSha256: string): E.Either<ManifestError, RolloutManifest> {
  return manifest.fleetResolvedHash === fleetCanonicalSha256
    ? E.right(manifest)
    : E.left(manifestError('Mismatch', `fleetResolvedHash ${manifest.fleetResolvedHash} != held fleet ${fleetCanonicalSha256}`));
}
