// The dev CP's state and every operation on it, without HTTP. The state is
// the CI side (ci.ts) with its signatures, the database side (database.ts)
// and the dispatch queue (dispatch-queue.ts); enrollment.ts works on both
// sides, views.ts reads them. Single-threaded by construction (Node's event
// loop): each operation reads and replaces the state in one synchronous
// step, so requests never see a half-applied change. `onChange` is called
// after every mutation (persistence).
import type { AgentEventEnvelope } from '../codecs/events';
import type { HostRolloutState } from '../codecs/host-state';
import { addSeconds, type Timestamp } from '../codecs/timestamp';
import type { BootstrapToken, EnrollRequest, IssuedCert } from '../codecs/wire';
import type { Dispatch } from '../ports/control-plane';
import type { Logger } from '../ports/logger';
import { allowlisted, allowNonce, currentRolloutIds, declareHostsIn, fleetHost, planRelease, servedManifest, signCi, type ReleaseOptions, type ReleaseResult } from './ci';
import { burnNonce, ingestEnvelope, nonceBurnt, openCurrentRollout, owedDispatches, recordHeartbeat, recordOf, type HeartbeatInput, type HeartbeatResult } from './database';
import { createDispatchQueue } from './dispatch-queue';
import type { Verdict } from './enroll-checks';
import { createEnrollment, type EnrollmentConfig, type TokenOptions } from './enrollment';
import { signRelease, type HostDecl, type SignedBytes } from './fleet';
import type { SigningKey } from './keys';
import { emptyDb, type CiState, type CurrentRollout, type DbState, type EventRow } from './persist';
import { eventRows, hostViews, rolloutViews, type HostView, type RolloutView } from './views';

export interface CoreDeps extends EnrollmentConfig {
  readonly now: () => Timestamp;
  readonly ciKey: SigningKey;
  /** Event log capacity; the oldest entries are dropped beyond it. */
  readonly maxEventLog: number;
  /** Earlier manifests kept servable; the oldest are dropped beyond it. */
  readonly maxArchivedManifests: number;
  /** Allowlist capacity; expired entries go first, then the oldest. */
  readonly maxAllowedNonces: number;
  /** Burnt nonces kept; the oldest are forgotten beyond it (their tokens are long expired by then). */
  readonly maxUsedNonces: number;
  /** Rollouts kept with their records; the oldest superseded ones (and their records) go beyond it. */
  readonly maxRollouts: number;
  readonly onChange: () => void;
  /** A dispatch was queued for `host` (wake its parked long-polls). */
  readonly onEnqueue: (host: string) => void;
  readonly logger: Logger;
}

export interface CoreStats {
  readonly queuedDispatches: number;
  readonly eventLogLength: number;
  readonly eventLogDropped: number;
  readonly records: number;
}

export interface DevCpCore {
  /** Open a rollout: new signed fleet and manifests, mirror records Pending, dispatches queued. Throws a readable reason. */
  release(options: ReleaseOptions): ReleaseResult;
  /** Add or update hosts (re-signs). Throws on a host that cannot be declared. */
  declareHosts(decls: readonly HostDecl[]): void;
  /** Fresh signatures over everything served. */
  resign(): void;
  mintToken(hostname: string, options?: TokenOptions): BootstrapToken;
  enroll(req: EnrollRequest): Promise<Verdict<IssuedCert>>;
  renew(machineId: string, csrPem: string): Promise<Verdict<IssuedCert>>;
  heartbeat(hostname: string, hb: HeartbeatInput): HeartbeatResult;
  /** An agent's event through the mirror; its event log entry, if logged. */
  ingest(envelope: AgentEventEnvelope): EventRow | undefined;
  /** The oldest queued dispatch still owed to the host (stale ones are dropped). */
  takeDispatch(hostname: string): Dispatch | undefined;
  /** Upstream's planner tick: re-queue every owed dispatch (at-least-once until DispatchAck); returns how many. */
  replan(): number;
  /** Forget the database (records, rollouts, burnt nonces, event log); re-open each channel's current rollout as Pending. */
  wipeDatabase(): void;
  manifest(rolloutId: string): SignedBytes | undefined;
  readonly fleetArtifact: SignedBytes;
  hosts(): HostView[];
  rollouts(): RolloutView[];
  events(rolloutId?: string, limit?: number): EventRow[];
  record(rolloutId: string, hostname: string): HostRolloutState | undefined;
  /** The two documents persisted (ci.json, db.json). */
  readonly ci: CiState;
  readonly db: DbState;
  stats(): CoreStats;
}

export function createCore(deps: CoreDeps, initialCi: CiState, initialDb: DbState): DevCpCore {
  let { ci, signed } = signCi(initialCi, deps.ciKey, deps.now(), deps.logger);
  let db = initialDb;
  const queue = createDispatchQueue(deps.onEnqueue);
  const changed = () => deps.onChange();
  const owed = (hostname: string, now: Timestamp) => owedDispatches(db, hostname, currentRolloutIds(ci), now);

  function openCurrent(channel: string, current: CurrentRollout, now: Timestamp): void {
    const policy = ci.fleet.channels[channel]?.policy;
    if (policy === undefined) return;
    db = openCurrentRollout(db, channel, policy, current, now, deps);
    queue.enqueue(current.hosts.flatMap((h) => owed(h.hostname, now)).filter((d) => d.rolloutId === current.rolloutId));
  }

  function resign(): void {
    ({ ci, signed } = signCi(ci, deps.ciKey, deps.now(), deps.logger));
    changed();
  }

  const enrollment = createEnrollment({
    ...deps,
    host: (name) => fleetHost(ci, name),
    allowlisted: (nonce) => allowlisted(ci, nonce),
    allowNonce(nonce, entry, now) {
      ci = allowNonce(ci, nonce, entry, now, deps.maxAllowedNonces);
      changed();
    },
    nonceBurnt: (nonce) => nonceBurnt(db, nonce),
    burnNonce(nonce, hostname, now) {
      db = burnNonce(db, nonce, hostname, now, deps.maxUsedNonces);
      changed();
    },
  });

  return {
    release(options) {
      const plan = planRelease(ci, signed, db.quarantine, options, deps.maxArchivedManifests);
      const { channel, current } = plan;
      ci = plan.ci;
      const now = deps.now();
      // The fleet and this release's manifests; other channels' current manifests stay as archived.
      signed = signRelease(ci.fleet, deps.ciKey, now);
      openCurrent(channel, current, now);
      deps.logger.info('dev-cp: rollout opened', { rolloutId: current.rolloutId, hosts: current.hosts.map((t) => t.hostname), soakMinutes: current.soakMinutes, onHealthFailure: plan.policy.onHealthFailure });
      changed();
      return { rolloutId: current.rolloutId, ciCommit: plan.ciCommit, channel, hosts: current.hosts, soakDueAt: addSeconds(now, current.soakMinutes * 60) };
    },
    declareHosts(decls) {
      ci = declareHostsIn(ci, decls);
      resign();
    },
    resign,
    mintToken: enrollment.mintToken,
    enroll: enrollment.enroll,
    renew: enrollment.renew,
    heartbeat(hostname, hb) {
      const r = recordHeartbeat(db, hostname, hb, currentRolloutIds(ci), deps.now(), deps.maxEventLog);
      db = r.db;
      changed();
      return r.result;
    },
    ingest(envelope) {
      const r = ingestEnvelope(db, envelope, deps.now(), deps.maxEventLog);
      db = r.db;
      changed();
      return r.row;
    },
    takeDispatch: (hostname) => queue.take(hostname, () => new Set(owed(hostname, deps.now()).map((d) => d.rolloutId))),
    replan() {
      const now = deps.now();
      const all = Object.keys(ci.fleet.hosts).flatMap((h) => owed(h, now));
      queue.enqueue(all);
      return all.length;
    },
    wipeDatabase() {
      db = emptyDb();
      queue.clear();
      const now = deps.now();
      for (const [channel, current] of Object.entries(ci.current)) openCurrent(channel, current, now);
      deps.logger.warn('dev-cp: database wiped; current rollouts re-opened as Pending', { rollouts: Object.values(ci.current).map((c) => c.rolloutId) });
      changed();
    },
    manifest: (rolloutId) => servedManifest(ci, signed, rolloutId),
    get fleetArtifact() {
      return signed.fleet;
    },
    hosts: () => hostViews(ci, db),
    rollouts: () => rolloutViews(db),
    events: (rolloutId, limit) => eventRows(db, rolloutId, limit),
    record: (rolloutId, hostname) => recordOf(db, rolloutId, hostname),
    get ci() {
      return ci;
    },
    get db() {
      return db;
    },
    stats: () => ({ queuedDispatches: queue.size, eventLogLength: db.eventLog.length, eventLogDropped: db.eventLogDropped, records: Object.keys(db.records).length }),
  };
}
