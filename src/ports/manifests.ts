// Signed manifests as the graph sees them: fetched and verified behind the
// port (design §2 rule 9 — verify before decode happens in the adapter), so
// only verified values reach the reducer.
import type { Observable } from 'rxjs';
import type { ManifestSet } from '../codecs/policy';
import type { Timestamp } from '../codecs/timestamp';

export type { ManifestSet, PolicySource } from '../codecs/policy';

/** A dispatch checked against its signed rollout manifest. */
export interface VerifiedDispatch {
  readonly rolloutId: string;
  readonly targetClosure: string;
  readonly signedAt: Timestamp;
}

/** Upstream's three manifest error classes, and the dispatch-time freshness re-check's refusal. */
export type ManifestRefusalKind = 'Missing' | 'VerifyFailed' | 'Mismatch' | 'StaleTarget';

export interface ManifestRefusalCause {
  /** The verifier's verdict when a check of the signed artifact refused it ('BadSignature', 'Stale', …: src/trust/errors.ts). */
  readonly verdict?: string | undefined;
  /** Set when a wrong host clock would explain the refusal too (a Stale or FutureDated verdict). */
  readonly clockHint?: string | undefined;
}

/** What `refresh` and `ensureForDispatch` fail with: the refusal's kind and cause are fields, never parsed from the message. */
export class ManifestPortError extends Error {
  override readonly name = 'ManifestPortError';
  readonly verdict?: string;
  readonly clockHint?: string;
  constructor(
    readonly reason: string,
    readonly kind: ManifestRefusalKind,
    cause: ManifestRefusalCause = {},
  ) {
    super(reason);
    if (cause.verdict !== undefined) this.verdict = cause.verdict;
    if (cause.clockHint !== undefined) this.clockHint = cause.clockHint;
  }
}

/** The clock hint a manifest refusal carries, if any. */
export const clockHint = (err: unknown): string | undefined => (err instanceof ManifestPortError ? err.clockHint : undefined);

export interface ManifestPort {
  /** Fetch (or load from cache) and verify the fleet and every channel's rollout manifest. Errors are ManifestPortErrors. */
  refresh(): Observable<ManifestSet>;
  /**
   * Require a verified, fresh manifest for `rolloutId` whose host set binds
   * `hostname` to exactly `targetClosure`. Errors are ManifestPortErrors
   * with a readable reason.
   */
  ensureForDispatch(rolloutId: string, hostname: string, targetClosure: string): Observable<VerifiedDispatch>;
}
