// The dev CP's state and every operation on it, without HTTP: releases
// (sign, open a rollout in the mirror, queue dispatches), enrollment and
// renewal, heartbeats (recovery synthesis, snapshots, Replay-From), event
// ingestion through the mirror's step(), the dispatch queue, and read views.
// Single-threaded by construction (Node's event loop): each operation reads
// and replaces the state in one synchronous step, so requests never see a
// half-applied change. `onChange` is called after every mutation (persistence).
import { activeKeys, type TrustConfig } from '../codecs/trust-config';
import type { AgentEventEnvelope } from '../codecs/events';
import { rolloutIdFor } from '../codecs/protocol';
import type { HostRolloutSnapshot, HostRolloutState } from '../codecs/host-state';
import { addSeconds, compareTimestamps, fromEpochMillis, toEpochMillis, type Timestamp } from '../codecs/timestamp';
import type { BootstrapToken, EnrollRequest, IssuedCert } from '../codecs/wire';
import type { Dispatch } from '../ports/control-plane';
import type { Logger } from '../ports/logger';
import { checkEnroll, checkRenew, type Verdict } from './enroll';
import {
  declareHosts as declareInFleet,
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
import { heartbeatRecovery, ingestEvent, openRollout, pendingDispatches, record as mirrorRecord, snapshots, type MirrorState } from './mirror';
import type { CiState, CurrentRollout, DbState, EventRow, RolloutRow } from './persist';
import { emptyDb } from './persist';
import { issueFromCsr, parseSshEd25519PublicLine, type FleetCa } from './pki';
import { DEFAULT_TOKEN_TTL_SECS, mintToken } from './tokens';
import { fingerprint } from './enroll';

export interface CoreDeps {
  readonly now: () => Timestamp;
  readonly ca: FleetCa;
  readonly ciKey: SigningKey;
  readonly orgRootKey: SigningKey;
  /** The trust roots the CP itself verifies bootstrap tokens with (its `orgRootKey`). */
  readonly trust: TrustConfig;
  /** `agent-<id>.<suffix>` CNs; bare CNs when undefined. */
  readonly cnSuffix: string | undefined;
  readonly certValiditySecs: number;
  readonly requireNonceAllowlist: boolean;
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

export interface HeartbeatInput {
  readonly rolloutId?: string;
  readonly currentClosure?: string;
  readonly at: Timestamp;
}

export interface HeartbeatResult {
  readonly receivedAt: Timestamp;
  readonly bootstrapRollouts: readonly HostRolloutSnapshot[];
  readonly replayFrom?: number;
}

/** `/v1/hosts` entry: upstream's HostStatusEntry fields we can fill, plus every record of the host. */
export interface HostView {
  readonly hostname: string;
  readonly channel: string;
  readonly declaredClosureHash: string | null;
  readonly currentClosureHash: string | null;
  readonly lastCheckinAt: Timestamp | null;
  readonly lastRolloutId: string | null;
  readonly rolloutState: HostRolloutState['state'] | null;
  readonly converged: boolean;
  readonly quarantinedClosure: string | null;
  readonly verifiedEventCount: number;
  /** Every mirror record of the host (state, lastEventSeq, probes, timestamps), oldest dispatch first. */
  readonly records: readonly HostRolloutState[];
}

export interface RolloutView {
  readonly rolloutId: string;
  readonly channel: string;
  readonly currentWave: number;
  readonly createdAt: Timestamp;
  readonly supersededAt: Timestamp | null;
  readonly hostStates: Readonly<Record<string, HostRolloutState['state']>>;
}

export interface CoreStats {
  readonly queuedDispatches: number;
  readonly eventLogLength: number;
  readonly eventLogDropped: number;
  readonly records: number;
}

const key = (rolloutId: string, host: string) => `${rolloutId}\u0000${host}`;

export function createCore(deps: CoreDeps, initialCi: CiState, initialDb: DbState) {
  let ci = initialCi;
  let db = initialDb;
  let signed: SignedRelease;
  /** host → rolloutId → dispatch, oldest first (Map keeps insertion order). Bounded by hosts × open rollouts. */
  const queue = new Map<string, Map<string, Dispatch>>();

  const changed = () => deps.onChange();
  const activeIds = (): Set<string> => new Set(Object.values(ci.current).map((c) => c.rolloutId));
  const host = (name: string): FleetHost | undefined => (Object.prototype.hasOwnProperty.call(ci.fleet.hosts, name) ? ci.fleet.hosts[name] : undefined);

  const mirrorOf = (d: DbState): MirrorState => ({ records: d.records, policies: d.policies, quarantine: d.quarantine, log: [] });

  /** Apply a mirror operation; its log entries join the CP's bounded event log. */
  function withMirror(op: (m: MirrorState) => MirrorState): void {
    const m = op(mirrorOf(db));
    const now = deps.now();
    let seq = db.eventSeq;
    const rows: EventRow[] = m.log.map((l) => ({
      seq: ++seq,
      ts: now,
      host: l.host,
      rolloutId: l.rolloutId,
      event: l.event,
      outcome: l.outcome,
      ...(l.reason !== undefined ? { reason: l.reason } : {}),
    }));
    let eventLog = rows.length === 0 ? db.eventLog : [...db.eventLog, ...rows];
    let dropped = db.eventLogDropped;
    if (eventLog.length > deps.maxEventLog) {
      dropped += eventLog.length - deps.maxEventLog;
      eventLog = eventLog.slice(eventLog.length - deps.maxEventLog);
    }
    db = { ...db, records: m.records, policies: m.policies, quarantine: [...m.quarantine], eventLog, eventSeq: seq, eventLogDropped: dropped };
  }

  function enqueue(dispatches: readonly Dispatch[]): void {
    const hosts = new Set<string>();
    for (const d of dispatches) {
      let forHost = queue.get(d.hostname);
      if (forHost === undefined) queue.set(d.hostname, (forHost = new Map()));
      forHost.delete(d.rolloutId); // re-queueing overwrites and moves to the back, as an upsert
      forHost.set(d.rolloutId, d);
      hosts.add(d.hostname);
    }
    for (const h of hosts) deps.onEnqueue(h);
  }

  /** What the planner owes `hostname` now: Pending records of current rollouts, not quarantined. */
  const owed = (hostname: string, now: Timestamp): Dispatch[] => {
    const active = activeIds();
    return pendingDispatches(mirrorOf(db), hostname, now).filter((d) => active.has(d.rolloutId));
  };

  function archiveCurrentManifests(): void {
    const archive = { ...ci.archive };
    for (const [id, m] of Object.entries(signed.manifests)) archive[id] = { bytes: m.bytes, signature: m.signature };
    const ids = Object.keys(archive);
    const keep = new Set([...activeIds()]);
    // Oldest first is insertion order; never drop a current rollout's manifest.
    for (const id of ids) {
      if (Object.keys(archive).length <= deps.maxArchivedManifests) break;
      if (!keep.has(id)) delete archive[id];
    }
    ci = { ...ci, archive };
  }

  /**
   * Re-sign with a fresh `signedAt`: the fleet and its manifests, and the
   * manifests of current rollouts projected from an earlier commit (kept
   * with their original anchor, so a long-open rollout stays dispatchable).
   */
  function signAll(): void {
    const now = deps.now();
    signed = signRelease(ci.fleet, deps.ciKey, now);
    const archive = { ...ci.archive };
    for (const c of Object.values(ci.current)) {
      if (signed.manifests[c.rolloutId] !== undefined) continue;
      const old = archive[c.rolloutId];
      if (old === undefined) continue;
      let manifest: { meta?: Record<string, unknown> };
      try {
        manifest = JSON.parse(Buffer.from(old.bytes).toString('utf8')) as { meta?: Record<string, unknown> };
      } catch {
        deps.logger.warn('dev-cp: archived manifest is not JSON; serving it unchanged', { rolloutId: c.rolloutId });
        continue;
      }
      archive[c.rolloutId] = signCanonical(deps.ciKey, { ...manifest, meta: { ...manifest.meta, signedAt: now } });
    }
    ci = { ...ci, archive };
  }
  signAll();

  function resign(): void {
    signAll();
    changed();
  }

  /** Beyond `maxRollouts`, the oldest superseded rollouts leave the table with their records and policies. */
  function pruneRollouts(rows: RolloutRow[]): RolloutRow[] {
    let excess = rows.length - deps.maxRollouts;
    if (excess <= 0) return rows;
    const drop = new Set<string>();
    for (const r of rows) {
      if (excess <= 0) break;
      if (r.supersededAt === undefined) continue;
      drop.add(r.rolloutId);
      excess -= 1;
    }
    if (drop.size === 0) return rows;
    db = {
      ...db,
      records: Object.fromEntries(Object.entries(db.records).filter(([, rec]) => !drop.has(rec.rolloutId))),
      policies: Object.fromEntries(Object.entries(db.policies).filter(([id]) => !drop.has(id))),
    };
    return rows.filter((r) => !drop.has(r.rolloutId));
  }

  function openCurrent(channel: string, current: CurrentRollout, now: Timestamp): void {
    const policy = ci.fleet.channels[channel]?.policy;
    if (policy === undefined) return;
    const rows = [...db.rollouts.map((r): RolloutRow => (r.channel === channel && r.supersededAt === undefined ? { ...r, supersededAt: now } : r)), { rolloutId: current.rolloutId, channel, openedAt: now }];
    const kept = pruneRollouts(rows); // (replaces db: evaluate before spreading it)
    db = { ...db, rollouts: kept };
    withMirror((m) => openRollout(m, current.rolloutId, channel, policy, current.hosts.map((h) => ({ ...h, soakMinutes: current.soakMinutes })), now));
    enqueue(current.hosts.flatMap((h) => owed(h.hostname, now)).filter((d) => d.rolloutId === current.rolloutId));
  }

  function release(opts: ReleaseOptions): ReleaseResult {
    const channel = opts.channel ?? Object.keys(ci.fleet.channels).sort()[0];
    if (channel === undefined || ci.fleet.channels[channel] === undefined) throw new Error(`release: unknown channel ${String(channel)}`);
    const chan = ci.fleet.channels[channel];
    for (const [h, closure] of Object.entries(opts.closures)) {
      const decl = host(h);
      if (decl === undefined) throw new Error(`release: host ${h} is not declared`);
      if (decl.channel !== channel) throw new Error(`release: host ${h} is on channel ${decl.channel}, not ${channel}`);
      if (typeof closure !== 'string' || closure.length === 0 || closure.includes('/')) throw new Error(`release: closure for ${h} must be a store path basename`);
      // It would never be dispatched (pendingDispatches skips it): say so and why, rather than open a rollout that hangs.
      const q = db.quarantine.find((x) => x.channel === channel && x.closure === closure);
      if (q !== undefined) {
        throw new Error(`release: closure ${closure} is quarantined on channel ${channel}: ${q.reason ?? 'a host failed with it and rolled back'} (a wipe of the database lifts it)`);
      }
    }
    const commit = opts.ciCommit ?? newCiCommit();
    if (!/^[0-9a-f]+$/.test(commit)) throw new Error('release: ciCommit must be lowercase hex');
    const soakMinutes = opts.soakMinutes ?? chan.soakMinutes;
    if (!Number.isFinite(soakMinutes) || soakMinutes < 0) throw new Error('release: soakMinutes must be a finite number >= 0');
    const policy = policyForRelease(chan.policy, opts.policy, soakMinutes);

    archiveCurrentManifests();
    const hosts: Record<string, FleetHost> = { ...ci.fleet.hosts };
    for (const [h, closure] of Object.entries(opts.closures)) hosts[h] = { ...(hosts[h] as FleetHost), closureHash: closure };
    const fleet: FleetDecl = { ciCommit: commit, hosts, channels: { ...ci.fleet.channels, [channel]: { policy, soakMinutes } } };
    const rolloutId = rolloutIdFor(channel, commit);
    const targets = Object.keys(hosts)
      .filter((h) => hosts[h]?.channel === channel && hosts[h]?.closureHash !== null)
      .sort()
      .map((hostname) => ({ hostname, targetClosure: hosts[hostname]?.closureHash as string }));
    if (targets.length === 0) throw new Error(`release: no host of channel ${channel} has a closure`);
    const current: CurrentRollout = { rolloutId, soakMinutes, hosts: targets };
    ci = { ...ci, fleet, current: { ...ci.current, [channel]: current } };
    const now = deps.now();
    signed = signRelease(ci.fleet, deps.ciKey, now);
    openCurrent(channel, current, now);
    deps.logger.info('dev-cp: rollout opened', { rolloutId, hosts: targets.map((t) => t.hostname), soakMinutes, onHealthFailure: policy.onHealthFailure });
    changed();
    return { rolloutId, ciCommit: commit, channel, hosts: targets, soakDueAt: addSeconds(now, soakMinutes * 60) };
  }

  function declareHosts(decls: readonly HostDecl[]): void {
    for (const d of decls) {
      const problem = hostDeclProblem(d);
      if (problem !== undefined) throw new Error(problem);
    }
    ci = { ...ci, fleet: declareInFleet(ci.fleet, decls) };
    resign();
  }

  function pruneAllowlist(now: Timestamp): void {
    const entries = Object.entries(ci.allowedNonces).filter(([, e]) => compareTimestamps(now, e.expiresAt) < 0);
    const kept = entries.slice(Math.max(0, entries.length - deps.maxAllowedNonces + 1));
    ci = { ...ci, allowedNonces: Object.fromEntries(kept) };
  }

  /** A token for a declared host, its nonce in the allowlist (as CI would sign it into bootstrap-nonces.json). */
  function mintTokenFor(hostname: string, opts: { readonly ttlSecs?: number; readonly issuedAt?: Timestamp; readonly expiresAt?: Timestamp; readonly nonce?: string } = {}): BootstrapToken {
    const decl = host(hostname);
    if (decl === undefined) throw new Error(`mint token: host ${hostname} is not declared`);
    const raw = parseSshEd25519PublicLine(decl.pubkey);
    if (raw === undefined) throw new Error(`mint token: host ${hostname} has no ssh-ed25519 pubkey`);
    const now = deps.now();
    // Whole seconds: chrono re-emits a fraction differently (reference §1.3).
    const issuedAt = opts.issuedAt ?? fromEpochMillis(Math.floor(toEpochMillis(now) / 1000) * 1000);
    const expiresAt = opts.expiresAt ?? addSeconds(issuedAt, opts.ttlSecs ?? DEFAULT_TOKEN_TTL_SECS);
    const token = mintToken(deps.orgRootKey, { hostname, expectedPubkeyFingerprint: fingerprint(raw), issuedAt, expiresAt, ...(opts.nonce !== undefined ? { nonce: opts.nonce } : {}) });
    pruneAllowlist(now);
    ci = { ...ci, allowedNonces: { ...ci.allowedNonces, [token.claims.nonce]: { hostname, expiresAt } } };
    changed();
    return token;
  }

  async function enroll(req: EnrollRequest): Promise<Verdict<IssuedCert>> {
    const now = deps.now();
    const checked = await checkEnroll(
      {
        now,
        nonceUsed: (n) => Object.prototype.hasOwnProperty.call(db.usedNonces, n),
        allowlisted: (n) => (Object.prototype.hasOwnProperty.call(ci.allowedNonces, n) ? ci.allowedNonces[n] : undefined),
        requireAllowlist: deps.requireNonceAllowlist,
        orgRootKeys: deps.trust.orgRootKey === undefined ? [] : activeKeys(deps.trust.orgRootKey),
        host,
      },
      req,
    );
    if (!checked.ok) return checked;
    // Burn the nonce before the (async) issuance: a concurrent enroll with the same token gets 409.
    const nonce = req.token.claims.nonce;
    if (Object.prototype.hasOwnProperty.call(db.usedNonces, nonce)) return { ok: false, status: 409, reason: 'token nonce used concurrently' };
    const kept = Object.entries(db.usedNonces);
    const usedNonces = Object.fromEntries([...kept.slice(Math.max(0, kept.length - deps.maxUsedNonces + 1)), [nonce, { hostname: checked.value.machineId, at: now }]]);
    db = { ...db, usedNonces };
    changed();
    return issue(req.csrPem, checked.value.machineId, now, `enroll/nonce:${nonce}`);
  }

  async function renew(machineId: string, csrPem: string): Promise<Verdict<IssuedCert>> {
    const checked = await checkRenew(host, machineId, csrPem);
    if (!checked.ok) return checked;
    return issue(csrPem, machineId, deps.now(), 'renew');
  }

  async function issue(csrPem: string, machineId: string, now: Timestamp, context: string): Promise<Verdict<IssuedCert>> {
    try {
      const cert = await issueFromCsr(deps.ca, csrPem, {
        nowMs: toEpochMillis(now),
        machineId,
        ...(deps.cnSuffix !== undefined ? { cnSuffix: deps.cnSuffix } : {}),
        validitySecs: deps.certValiditySecs,
      });
      deps.logger.info('dev-cp: certificate issued', { cn: cert.cn, notAfter: cert.notAfter.toISOString(), serial: cert.serial, context });
      // Certificate times are whole seconds: chrono's spelling has no fraction.
      return { ok: true, value: { certPem: cert.certPem, notAfter: fromEpochMillis(cert.notAfter.getTime()) } };
    } catch (e) {
      return { ok: false, status: 400, reason: `issue certificate: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  function heartbeat(hostname: string, hb: HeartbeatInput): HeartbeatResult {
    // A heartbeat without current_closure (unreadable on the host) keeps the last one seen.
    const currentClosure = hb.currentClosure ?? db.hosts[hostname]?.currentClosure;
    db = { ...db, hosts: { ...db.hosts, [hostname]: { lastHeartbeatAt: hb.at, ...(currentClosure !== undefined ? { currentClosure } : {}) } } };
    if (hb.currentClosure !== undefined) {
      const active = activeIds();
      const cc = hb.currentClosure;
      withMirror((m) => {
        const inactive = Object.fromEntries(Object.entries(m.records).filter(([, r]) => !active.has(r.rolloutId)));
        const live = Object.fromEntries(Object.entries(m.records).filter(([, r]) => active.has(r.rolloutId)));
        const after = heartbeatRecovery({ ...m, records: live }, hostname, cc, hb.at);
        return { ...after, records: { ...inactive, ...after.records } };
      });
    }
    let replayFrom: number | undefined;
    if (hb.rolloutId !== undefined && hb.currentClosure !== undefined) {
      const r = mirrorRecord(mirrorOf(db), hb.rolloutId, hostname);
      if (r !== undefined && r.currentClosure !== hb.currentClosure) replayFrom = r.lastEventSeq;
    }
    const active = activeIds();
    const bootstrapRollouts = hb.rolloutId === undefined ? snapshots(mirrorOf(db), hostname).filter((s) => active.has(s.rolloutId)) : [];
    changed();
    return { receivedAt: hb.at, bootstrapRollouts, ...(replayFrom !== undefined ? { replayFrom } : {}) };
  }

  function ingest(envelope: AgentEventEnvelope): EventRow | undefined {
    const now = deps.now();
    const before = db.eventSeq;
    withMirror((m) => ingestEvent(m, envelope, now));
    changed();
    return db.eventSeq > before ? db.eventLog[db.eventLog.length - 1] : undefined;
  }

  /** Oldest queued dispatch for the host that is still owed (a stale entry is dropped, never delivered). */
  function takeDispatch(hostname: string): Dispatch | undefined {
    const forHost = queue.get(hostname);
    if (forHost === undefined) return undefined;
    const stillOwed = new Set(owed(hostname, deps.now()).map((d) => d.rolloutId));
    for (const [id, d] of forHost) {
      forHost.delete(id);
      if (stillOwed.has(id)) {
        if (forHost.size === 0) queue.delete(hostname);
        return d;
      }
    }
    queue.delete(hostname);
    return undefined;
  }

  /** Upstream's planner tick: re-queue every owed dispatch (at-least-once until DispatchAck). */
  function replan(): number {
    const now = deps.now();
    const all = Object.keys(ci.fleet.hosts).flatMap((h) => owed(h, now));
    enqueue(all);
    return all.length;
  }

  /** Forget the database (records, rollouts, burnt nonces, event log); re-open each channel's current rollout as Pending. */
  function wipeDatabase(): void {
    db = emptyDb();
    queue.clear();
    const now = deps.now();
    for (const [channel, current] of Object.entries(ci.current)) openCurrent(channel, current, now);
    deps.logger.warn('dev-cp: database wiped; current rollouts re-opened as Pending', { rollouts: Object.values(ci.current).map((c) => c.rolloutId) });
    changed();
  }

  function manifest(rolloutId: string): SignedBytes | undefined {
    if (Object.prototype.hasOwnProperty.call(signed.manifests, rolloutId)) return signed.manifests[rolloutId];
    if (Object.prototype.hasOwnProperty.call(ci.archive, rolloutId)) return ci.archive[rolloutId];
    return undefined;
  }

  const recordsOf = (hostname: string): HostRolloutState[] =>
    Object.values(db.records)
      .filter((r) => r.hostname === hostname)
      .sort((a, b) => compareTimestamps(a.dispatchedAt, b.dispatchedAt) || (a.rolloutId < b.rolloutId ? -1 : 1));

  function hosts(): HostView[] {
    return Object.keys(ci.fleet.hosts)
      .sort()
      .map((hostname): HostView => {
        const decl = ci.fleet.hosts[hostname] as FleetHost;
        const current = ci.current[decl.channel];
        const r = current === undefined ? undefined : db.records[key(current.rolloutId, hostname)];
        const seen = db.hosts[hostname];
        const q = db.quarantine.filter((x) => x.channel === decl.channel).at(-1);
        return {
          hostname,
          channel: decl.channel,
          declaredClosureHash: decl.closureHash,
          currentClosureHash: seen?.currentClosure ?? null,
          lastCheckinAt: seen?.lastHeartbeatAt ?? null,
          lastRolloutId: current?.rolloutId ?? null,
          rolloutState: r?.state ?? null,
          converged: r?.state === 'Converged',
          quarantinedClosure: q?.closure ?? null,
          verifiedEventCount: db.eventLog.filter((e) => e.host === hostname && (e.outcome === 'applied' || e.outcome === 'synthesized')).length,
          records: recordsOf(hostname),
        };
      });
  }

  function rollouts(): RolloutView[] {
    return db.rollouts.map((r) => ({
      rolloutId: r.rolloutId,
      channel: r.channel,
      currentWave: 0,
      createdAt: r.openedAt,
      supersededAt: r.supersededAt ?? null,
      hostStates: Object.fromEntries(
        Object.values(db.records)
          .filter((x) => x.rolloutId === r.rolloutId)
          .map((x) => [x.hostname, x.state]),
      ),
    }));
  }

  /** The event log (oldest first), optionally for one rollout, at most `limit` entries (the first ones, as upstream's query). */
  function events(rolloutId?: string, limit = Number.MAX_SAFE_INTEGER): EventRow[] {
    const rows = rolloutId === undefined ? db.eventLog : db.eventLog.filter((e) => e.rolloutId === rolloutId);
    return rows.slice(0, Math.max(1, limit));
  }

  return {
    release,
    declareHosts,
    resign,
    mintToken: mintTokenFor,
    enroll,
    renew,
    heartbeat,
    ingest,
    takeDispatch,
    replan,
    wipeDatabase,
    manifest,
    hosts,
    rollouts,
    events,
    record: (rolloutId: string, hostname: string): HostRolloutState | undefined => mirrorRecord(mirrorOf(db), rolloutId, hostname),
    host,
    get fleetArtifact(): SignedBytes {
      return signed.fleet;
    },
    get signed(): SignedRelease {
      return signed;
    },
    get ci(): CiState {
      return ci;
    },
    get db(): DbState {
      return db;
    },
    stats(): CoreStats {
      let queued = 0;
      for (const m of queue.values()) queued += m.size;
      return { queuedDispatches: queued, eventLogLength: db.eventLog.length, eventLogDropped: db.eventLogDropped, records: Object.keys(db.records).length };
    },
  };
}

export type DevCpCore = ReturnType<typeof createCore>;
