// The agent's manifest cache (upstream manifest_cache.rs): verified
// artifacts are kept with their signatures under the state dir and verified
// again on every load, so a restarted agent without network keeps working
// while they are fresh. A cached copy that no longer verifies (stale, tampered)
// falls through to a fetch instead of failing, or the agent would stay stuck
// on it. Every call is a cold Observable that emits one Either and completes;
// port failures become typed Lefts, never stream errors.
import * as E from 'fp-ts/Either';
import { concat, defer, EMPTY, first, ignoreElements, map, of, switchMap, catchError, type Observable } from 'rxjs';
import { activeKeysAt, type TrustConfig } from '../codecs/trust-config';
import { compareTimestamps, type Timestamp } from '../codecs/timestamp';
import { errorMessage } from '../ports/error-text';
import {
  assertFleetAnchor,
  assertMembership,
  assertRolloutIdMatches,
  assertTargetClosure,
  manifestError,
  validateRolloutIdForPath,
  type ManifestError,
} from './rollout-binding';
import { verifyFleetResolved, verifyRolloutManifest, type VerifiedFleet, type VerifiedRolloutManifest, type VerifyOptions } from './verify';

export interface SignedArtifact {
  readonly artifact: Uint8Array;
  readonly signature: Uint8Array;
}

/** Files under the agent state dir; paths are relative to it. */
export interface ManifestCacheStore {
  /** The file's bytes, or null when it does not exist. */
  read(relPath: string): Observable<Uint8Array | null>;
  write(relPath: string, bytes: Uint8Array): Observable<void>;
}

/** The CP's `GET /v1/rollouts/{id}` and `GET /v1/fleet.resolved` with their `/sig` twins. Any error or empty answer means "missing". */
export interface ArtifactSource {
  rollout(rolloutId: string): Observable<SignedArtifact>;
  fleet(): Observable<SignedArtifact>;
}

export type CacheLog = (level: 'info' | 'warn', message: string, fields: Readonly<Record<string, unknown>>) => void;

export interface ManifestCacheDeps {
  readonly store: ManifestCacheStore;
  readonly source: ArtifactSource;
  /** Trust roots, read again for every verification as upstream does. */
  readonly trust: () => Observable<TrustConfig>;
  /** Injected clock (the scheduler's now), used for key activity and freshness. */
  readonly now: () => Timestamp;
  /** Honoured for every artifact (upstream's manifest_poll hard-codes 3600 s). */
  readonly freshnessWindowSecs: number;
  readonly log?: CacheLog;
}

export interface VerifiedFleetSnapshot {
  readonly fleet: VerifiedFleet;
  /** `canonical_hash_from_bytes` of the fleet bytes: the anchor each manifest's `fleetResolvedHash` must equal. */
  readonly hash: string;
}

type Result<A> = Observable<E.Either<ManifestError, A>>;

export interface ManifestCache {
  fetchOrLoad(rolloutId: string): Result<VerifiedRolloutManifest>;
  /** fetchOrLoad, then `(hostname, waveIndex)` must be in the host set. */
  ensure(rolloutId: string, hostname: string, waveIndex: number): Result<VerifiedRolloutManifest>;
  /**
   * fetchOrLoad, then the dispatched closure must be the manifest's for this
   * host, and the manifest must be projected from the current fleet.resolved
   * (its `fleetResolvedHash` equal to the anchor of `refreshFleet`, as the
   * poll checks). Upstream skips the anchor here, so an older manifest, still
   * fresh and signed, could be dispatched again: a downgrade inside the window.
   */
  ensureForDispatch(rolloutId: string, hostname: string, targetClosure: string): Result<VerifiedRolloutManifest>;
  fetchOrLoadFleet(): Result<VerifiedFleetSnapshot>;
  /**
   * Network first, cache as fallback. Upstream's poll uses fetchOrLoadFleet,
   * so a newer fleet is only seen once the cached one goes stale, and the
   * manifests projected from it fail the anchor check until then (reference
   * agent-runtime §18 item 8); a poller that wants new fleets at once uses this.
   */
  refreshFleet(): Result<VerifiedFleetSnapshot>;
}

export const rolloutPaths = (id: string) => ({ artifact: `rollouts/${id}.json`, signature: `rollouts/${id}.json.sig` });
export const FLEET_PATHS = { artifact: 'fleet/fleet.resolved.json', signature: 'fleet/fleet.resolved.json.sig' } as const;

type Paths = { readonly artifact: string; readonly signature: string };

export function createManifestCache(deps: ManifestCacheDeps): ManifestCache {
  const log: CacheLog = deps.log ?? (() => undefined);

  const readFile = (rel: string): Observable<Uint8Array | null> =>
    defer(() => deps.store.read(rel)).pipe(
      first(null, null),
      catchError((e: unknown) => {
        log('warn', 'manifest cache: read failed, treating as absent', { path: rel, error: errorMessage(e) });
        return of(null);
      }),
    );

  const readPair = (paths: Paths): Observable<SignedArtifact | null> =>
    readFile(paths.artifact).pipe(
      switchMap((artifact) =>
        artifact === null ? of(null) : readFile(paths.signature).pipe(map((signature) => (signature === null ? null : { artifact, signature }))),
      ),
    );

  // Write-through failures only log: the verified value is still good.
  const writePair = (paths: Paths, pair: SignedArtifact): Observable<never> =>
    concat(deps.store.write(paths.artifact, pair.artifact), deps.store.write(paths.signature, pair.signature)).pipe(
      ignoreElements(),
      catchError((e: unknown) => {
        log('warn', 'manifest cache: write-through failed (will refetch next time)', { path: paths.artifact, error: errorMessage(e) });
        return EMPTY;
      }),
    );

  // Trust roots and `now` are taken at verification time, every time.
  const withTrust = <A>(verify: (trust: TrustConfig, now: Timestamp) => E.Either<ManifestError, A>): Result<A> =>
    defer(() => deps.trust()).pipe(
      first(),
      map((trust) => verify(trust, deps.now())),
      catchError((e: unknown) => of(E.left(manifestError('VerifyFailed', `load trust roots: ${errorMessage(e)}`)))),
    );

  const options = (trust: TrustConfig, now: Timestamp): VerifyOptions => ({
    now,
    freshnessWindowSecs: deps.freshnessWindowSecs,
    rejectBefore: trust.ciReleaseKey.rejectBefore,
  });

  // Fetch, verify, and write through only what verified.
  const fetchVerified = <A>(what: string, paths: Paths, fetch: () => Observable<SignedArtifact>, verify: (pair: SignedArtifact) => Result<A>): Result<A> =>
    defer(fetch).pipe(
      first(),
      map((pair) => E.right(pair)),
      catchError((e: unknown) => of(E.left(manifestError('Missing', `fetch ${what}: ${errorMessage(e)}`)))),
      switchMap((got) =>
        E.isLeft(got) ? of(got) : verify(got.right).pipe(switchMap((r) => (E.isRight(r) ? concat(writePair(paths, got.right), of(r)) : of(r)))),
      ),
    );

  const loadOrFetch = <A>(what: string, paths: Paths, fetch: () => Observable<SignedArtifact>, verify: (pair: SignedArtifact) => Result<A>): Result<A> => {
    const fetched = fetchVerified(what, paths, fetch, verify);
    return readPair(paths).pipe(
      switchMap((cached) =>
        cached === null
          ? fetched
          : verify(cached).pipe(
              switchMap((r) => {
                if (E.isRight(r)) return of(r);
                log('info', 'cached artifact failed verification; falling through to fetch', { what, reason: r.left.reason });
                return fetched;
              }),
            ),
      ),
    );
  };

  const networkFirst = <A>(what: string, paths: Paths, fetch: () => Observable<SignedArtifact>, verify: (pair: SignedArtifact) => Result<A>): Result<A> =>
    fetchVerified(what, paths, fetch, verify).pipe(
      switchMap((fresh) => {
        if (E.isRight(fresh)) return of(fresh);
        log('info', 'fetch failed; falling back to the cached copy', { what, reason: fresh.left.reason });
        // The cached copy must still verify; if it does not, the fetch failure is the answer.
        return readPair(paths).pipe(
          switchMap((cached) => (cached === null ? of(fresh) : verify(cached).pipe(map((r) => (E.isRight(r) ? r : fresh))))),
        );
      }),
    );

  const verifyRollout = (rolloutId: string) => (pair: SignedArtifact): Result<VerifiedRolloutManifest> =>
    withTrust((trust, now) => {
      const keys = activeKeysAt(trust.ciReleaseKey, now);
      const r = verifyRolloutManifest(pair.artifact, pair.signature, keys, options(trust, now));
      if (E.isLeft(r)) return E.left(manifestError('VerifyFailed', r.left.message, r.left));
      return E.map(() => r.right)(assertRolloutIdMatches(r.right.payload, rolloutId));
    });

  // The newest fleet.resolved verified so far (`meta.signedAt`). An older one,
  // however fresh and well signed, is refused: the anchor binds a manifest to
  // the fleet the CP chose to serve, so without this floor a CP could serve
  // an earlier release's fleet and manifest together inside the freshness
  // window (review L7). CI re-signs with a newer signedAt, so an honest CP
  // never trips it. Seeded from the cached copy before the first fetch.
  let fleetFloor: Timestamp | undefined;
  const verifyFleet = (pair: SignedArtifact): Result<VerifiedFleetSnapshot> =>
    withTrust((trust, now) => {
      const keys = activeKeysAt(trust.ciReleaseKey, now);
      const r = verifyFleetResolved(pair.artifact, pair.signature, keys, options(trust, now));
      if (E.isLeft(r)) return E.left(manifestError('VerifyFailed', r.left.message, r.left));
      if (fleetFloor !== undefined && compareTimestamps(r.right.signedAt, fleetFloor) < 0) {
        return E.left(manifestError('VerifyFailed', `fleet.resolved signed at ${r.right.signedAt} is older than one already verified (signed at ${fleetFloor}); refusing a rollback`));
      }
      fleetFloor = r.right.signedAt;
      return E.right({ fleet: r.right, hash: r.right.canonicalSha256 });
    });
  let seeded = false;
  const seedFleetFloor: Observable<never> = defer(() => {
    if (seeded) return EMPTY;
    seeded = true;
    return readPair(FLEET_PATHS).pipe(switchMap((cached) => (cached === null ? EMPTY : verifyFleet(cached))), ignoreElements());
  });

  const fetchOrLoad = (rolloutId: string): Result<VerifiedRolloutManifest> =>
    defer(() => {
      const valid = validateRolloutIdForPath(rolloutId);
      if (E.isLeft(valid)) return of(valid);
      return loadOrFetch(`rollout ${rolloutId}`, rolloutPaths(rolloutId), () => deps.source.rollout(rolloutId), verifyRollout(rolloutId));
    });

  const then =
    (check: (v: VerifiedRolloutManifest) => E.Either<ManifestError, unknown>) =>
    (r: E.Either<ManifestError, VerifiedRolloutManifest>): E.Either<ManifestError, VerifiedRolloutManifest> =>
      E.isLeft(r) ? r : E.map(() => r.right)(check(r.right));

  const fetchOrLoadFleet = (): Result<VerifiedFleetSnapshot> => loadOrFetch('fleet.resolved', FLEET_PATHS, () => deps.source.fleet(), verifyFleet);
  const refreshFleet = (): Result<VerifiedFleetSnapshot> => concat(seedFleetFloor, networkFirst('fleet.resolved', FLEET_PATHS, () => deps.source.fleet(), verifyFleet));

  // The fleet the poll would use right now (network first, verified cache as
  // fallback): a dispatch is held to the same anchor as a poll tick. A cached
  // manifest may predate a re-signing of the fleet (the CP re-projects the
  // current manifest with the new anchor), so on a mismatch the manifest is
  // fetched again, network first, before the dispatch is refused.
  const anchored = (id: string, hostname: string, closure: string, cached: VerifiedRolloutManifest): Result<VerifiedRolloutManifest> =>
    refreshFleet().pipe(
      switchMap((fleet): Result<VerifiedRolloutManifest> => {
        if (E.isLeft(fleet)) {
          return of(E.left(manifestError(fleet.left.kind, `no verified fleet.resolved to anchor the manifest: ${fleet.left.reason}`, fleet.left.cause)));
        }
        const hash = fleet.right.hash;
        const bind = (m: VerifiedRolloutManifest): E.Either<ManifestError, VerifiedRolloutManifest> => {
          const bound = assertFleetAnchor(m.payload, hash);
          return E.isLeft(bound) ? E.left(manifestError('Mismatch', `manifest was projected from another fleet.resolved: ${bound.left.reason}`)) : E.right(m);
        };
        const held = bind(cached);
        if (E.isRight(held)) return of(held);
        const paths = rolloutPaths(id);
        return networkFirst(`rollout ${id}`, paths, () => deps.source.rollout(id), verifyRollout(id)).pipe(
          map((again) => (E.isLeft(again) ? held : E.chain(bind)(then((v) => assertTargetClosure(v.payload, hostname, closure))(again)))),
        );
      }),
    );

  return {
    fetchOrLoad,
    ensure: (id, hostname, waveIndex) => fetchOrLoad(id).pipe(map(then((v) => assertMembership(v.payload, hostname, waveIndex)))),
    ensureForDispatch: (id, hostname, closure) =>
      fetchOrLoad(id).pipe(
        map(then((v) => assertTargetClosure(v.payload, hostname, closure))),
        switchMap((r) => (E.isLeft(r) ? of(r) : anchored(id, hostname, closure, r.right))),
      ),
    fetchOrLoadFleet,
    refreshFleet,
  };
}
