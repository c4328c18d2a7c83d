// Signed manifests as the graph sees them: fetched and verified behind the
// port (design §2 rule 9 — verify before decode happens in the adapter), so
// only verified values reach the reducer.
import type { Observable } from 'rxjs';
import type { Timestamp } from '../codecs/timestamp';
import type { ManifestSet } from '../reducer/manifest-set';

export type { ManifestSet, PolicySource } from '../reducer/manifest-set';

/** A dispatch checked against its signed rollout manifest. */
export interface VerifiedDispatch {
  readonly rolloutId: string;
  readonly targetClosure: string;
  readonly signedAt: Timestamp;
}

export interface ManifestPort {
  /** Fetch (or load from cache) and verify the fleet and every channel's rollout manifest. */
  refresh(): Observable<ManifestSet>;
  /**
   * Require a verified, fresh manifest for `rolloutId` whose host set binds
   * `hostname` to exactly `targetClosure`. Errors carry a readable reason.
   */
  ensureForDispatch(rolloutId: string, hostname: string, targetClosure: string): Observable<VerifiedDispatch>;
}
