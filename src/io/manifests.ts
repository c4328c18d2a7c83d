// ManifestPort over the CP's signed artifacts (reference agent-runtime.md
// §8.2, §8.3, §12): fetch or load from the state-dir cache, verify with the
// trust roots (src/trust), and only then hand values to the graph. Unlike
// upstream, the trust file and the freshness window are the configured ones
// for both the poll and the dispatch re-check (reference §18 items 6, 7),
// and a dispatch is held to the poll's fleet anchor too: its manifest's
// `fleetResolvedHash` must be the current fleet.resolved's (upstream skips
// that check on dispatch, which lets an older signed manifest back in).
import * as E from 'fp-ts/Either';
import { catchError, concatMap, defer, first, from, map, of, reduce, throwError, type Observable, type SchedulerLike } from 'rxjs';
import type { FleetResolved } from '../codecs/artifacts';
import { rolloutIdFor } from '../codecs/protocol';
import { fromEpochMillis } from '../codecs/timestamp';
import type { TrustConfig } from '../codecs/trust-config';
import { silentLogger, type Logger } from '../ports/logger';
import { ManifestPortError, type ManifestPort, type ManifestRefusalCause, type ManifestSet, type VerifiedDispatch } from '../ports/manifests';
import { freshnessClockHint } from '../trust/errors';
import { checkSignedAt, DEFAULT_FRESHNESS_WINDOW_SECS } from '../trust/freshness';
import { createManifestCache, type ArtifactSource, type ManifestCacheStore, type VerifiedFleetSnapshot } from '../trust/manifest-cache';
import type { ManifestError } from '../trust/rollout-binding';
import { cpFailureText } from './http/failure-text';
import { fsManifestCacheStore, readTrustFile } from './manifest-files';

export interface ManifestPortConfig {
  /** The CP's artifact endpoints (`CpClient.artifacts`). */
  readonly source: ArtifactSource;
  /** `--state-dir`; the cache lives under `rollouts/` and `fleet/`. Ignored when `store` is given. */
  readonly stateDir?: string;
  readonly store?: ManifestCacheStore;
  /** `--trust-file`; read again for every verification. Ignored when `trust` is given. */
  readonly trustFile?: string;
  readonly trust?: () => Observable<TrustConfig>;
  /** `now` for key activity and freshness. */
  readonly scheduler: SchedulerLike;
  /** `--manifest-freshness-window-secs`. Default 3600. */
  readonly freshnessWindowSecs?: number;
  readonly logger?: Logger;
}

/** The verifier's verdict behind a refusal, and the clock hint it calls for, as the port's error carries them. */
const causeOf = (e: ManifestError): ManifestRefusalCause => (e.cause === undefined ? {} : { verdict: e.cause.kind, clockHint: freshnessClockHint(e.cause.kind) });

/**
 * The rollout id the CP advertises for `channel` (upstream
 * `compute_rollout_id_for_channel`): `channel@meta.ciCommit`, or none when
 * no host of the channel declares a closure. A missing policy or commit is
 * an error for that channel only.
 */
export function rolloutIdForChannel(fleet: FleetResolved, channel: string): E.Either<string, string | undefined> {
  const def = fleet.channels[channel];
  if (def === undefined) return E.left(`channel ${channel} missing from fleet.channels`);
  if (!Object.prototype.hasOwnProperty.call(fleet.rolloutPolicies, def.rolloutPolicy)) {
    return E.left(`rollout policy ${def.rolloutPolicy} for channel ${channel} not found in fleet.rolloutPolicies`);
  }
  const declared = Object.values(fleet.hosts).some((h) => h.channel === channel && typeof h.closureHash === 'string');
  if (!declared) return E.right(undefined);
  const commit = fleet.meta.ciCommit;
  if (typeof commit !== 'string' || commit.length === 0) return E.left(`fleet.meta.ciCommit is absent; cannot name the rollout of channel ${channel}`);
  return E.right(rolloutIdFor(channel, commit));
}

// The cache reports a fetch failure through `Error.message`; a CpError is a plain object.
const asError = (e: unknown): Error => new Error(cpFailureText(e));
const readableErrors = (source: ArtifactSource): ArtifactSource => ({
  fleet: () => source.fleet().pipe(catchError((e: unknown) => throwError(() => asError(e)))),
  rollout: (id) => source.rollout(id).pipe(catchError((e: unknown) => throwError(() => asError(e)))),
});

export function createManifestPort(config: ManifestPortConfig): ManifestPort {
  const logger = config.logger ?? silentLogger;
  const window = config.freshnessWindowSecs ?? DEFAULT_FRESHNESS_WINDOW_SECS;
  const store = config.store ?? (config.stateDir === undefined ? undefined : fsManifestCacheStore(config.stateDir));
  if (store === undefined) throw new Error('createManifestPort: give stateDir or store');
  const trustFile = config.trustFile;
  const trust = config.trust ?? (trustFile === undefined ? undefined : () => readTrustFile(trustFile));
  if (trust === undefined) throw new Error('createManifestPort: give trustFile or trust');
  const now = () => fromEpochMillis(config.scheduler.now());

  const cache = createManifestCache({
    store,
    source: readableErrors(config.source),
    trust,
    now,
    freshnessWindowSecs: window,
    log: (level, message, fields) => logger[level](message, fields),
  });

  // One channel of a poll tick: its manifest must verify and be projected from this very fleet.
  const channelRollout = (snapshot: VerifiedFleetSnapshot, channel: string): Observable<[string, string] | undefined> => {
    const id = rolloutIdForChannel(snapshot.fleet.payload, channel);
    if (E.isLeft(id)) {
      logger.warn('manifest poll: cannot derive rollout id; skipping channel', { channel, reason: id.left });
      return of(undefined);
    }
    const rolloutId = id.right;
    if (rolloutId === undefined) return of(undefined);
    return cache.fetchOrLoad(rolloutId).pipe(
      first(),
      map((r): [string, string] | undefined => {
        if (E.isLeft(r)) {
          logger.warn('manifest poll: rollout manifest unavailable; skipping channel', { channel, rolloutId, reason: r.left.reason });
          return undefined;
        }
        if (r.right.payload.fleetResolvedHash !== snapshot.hash) {
          logger.warn('manifest poll: manifest was projected from another fleet.resolved; skipping channel', {
            channel,
            rolloutId,
            manifestFleetHash: r.right.payload.fleetResolvedHash,
            fleetHash: snapshot.hash,
          });
          return undefined;
        }
        return [channel, rolloutId];
      }),
    );
  };

  const refresh = (): Observable<ManifestSet> =>
    // Network first (cache as fallback): upstream reuses a cached fleet until it goes
    // stale, so a newer fleet.resolved is missed for up to an hour (§18 item 8).
    defer(() => cache.refreshFleet()).pipe(
      first(),
      concatMap((r) => {
        if (E.isLeft(r)) return throwError(() => new ManifestPortError(`fleet.resolved: ${r.left.reason}`, r.left.kind, causeOf(r.left)));
        const snapshot = r.right;
        const fleet = snapshot.fleet.payload;
        const channels = Object.keys(fleet.channels).sort();
        return from(channels).pipe(
          concatMap((channel) => channelRollout(snapshot, channel)),
          reduce((acc: [string, string][], entry) => (entry === undefined ? acc : [...acc, entry]), []),
          map(
            (entries): ManifestSet => ({
              fleet: {
                channels: Object.fromEntries(Object.entries(fleet.channels).map(([name, c]) => [name, { rolloutPolicy: c.rolloutPolicy }])),
                rolloutPolicies: fleet.rolloutPolicies,
              },
              rollouts: Object.fromEntries(entries),
            }),
          ),
        );
      }),
    );

  const ensureForDispatch = (rolloutId: string, hostname: string, targetClosure: string): Observable<VerifiedDispatch> =>
    defer(() => cache.ensureForDispatch(rolloutId, hostname, targetClosure)).pipe(
      first(),
      concatMap((r) => {
        if (E.isLeft(r)) return throwError(() => new ManifestPortError(`manifest verify (rollout=${rolloutId}): ${r.left.reason}`, r.left.kind, causeOf(r.left)));
        const fresh = checkSignedAt(r.right.signedAt, window, now());
        if (E.isLeft(fresh)) {
          return throwError(() => new ManifestPortError(`dispatch refused: rollout ${rolloutId} manifest stale at dispatch time: ${fresh.left.message}`, 'StaleTarget'));
        }
        return of({ rolloutId, targetClosure, signedAt: r.right.signedAt });
      }),
    );

  return { refresh, ensureForDispatch };
}
