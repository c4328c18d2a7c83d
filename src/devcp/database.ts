// The database side of the dev CP's state (db.json): the mirror's records,
// policies and quarantine, the rollouts table, burnt token nonces, each
// host's last heartbeat and the bounded event log. Pure, as ci.ts: every
// operation takes the state and returns the next one.
import type { AgentEventEnvelope } from '../codecs/events';
import type { HostRolloutSnapshot, HostRolloutState } from '../codecs/host-state';
import type { RolloutPolicy } from '../codecs/policy';
import type { Timestamp } from '../codecs/timestamp';
import type { Dispatch } from '../ports/control-plane';
import { heartbeatRecovery, ingestEvent, openRollout, pendingDispatches, record, snapshots, type MirrorState } from './mirror';
import type { CurrentRollout, DbState, EventRow, RolloutRow } from './persist';

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

const mirrorOf = (db: DbState): MirrorState => ({ records: db.records, policies: db.policies, quarantine: db.quarantine, log: [] });

/** Apply a mirror operation; its log entries join the event log, stamped `now`, the oldest dropped beyond `maxEventLog`. */
export function applyToMirror(db: DbState, op: (m: MirrorState) => MirrorState, now: Timestamp, maxEventLog: number): DbState {
  const m = op(mirrorOf(db));
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
  if (eventLog.length > maxEventLog) {
    dropped += eventLog.length - maxEventLog;
    eventLog = eventLog.slice(eventLog.length - maxEventLog);
  }
  return { ...db, records: m.records, policies: m.policies, quarantine: [...m.quarantine], eventLog, eventSeq: seq, eventLogDropped: dropped };
}

export const recordOf = (db: DbState, rolloutId: string, hostname: string): HostRolloutState | undefined => record(mirrorOf(db), rolloutId, hostname);

/** What the planner owes `hostname` now: Pending records of current rollouts, not quarantined. */
export const owedDispatches = (db: DbState, hostname: string, current: ReadonlySet<string>, now: Timestamp): Dispatch[] =>
  pendingDispatches(mirrorOf(db), hostname, now).filter((d) => current.has(d.rolloutId));

/** The rollouts table is `rows`; beyond `maxRollouts` the oldest superseded rollouts leave it with their records and policies. */
function withRollouts(db: DbState, rows: readonly RolloutRow[], maxRollouts: number): DbState {
  let excess = rows.length - maxRollouts;
  const drop = new Set<string>();
  for (const r of rows) {
    if (excess <= 0) break;
    if (r.supersededAt === undefined) continue;
    drop.add(r.rolloutId);
    excess -= 1;
  }
  if (drop.size === 0) return { ...db, rollouts: [...rows] };
  return {
    ...db,
    records: Object.fromEntries(Object.entries(db.records).filter(([, rec]) => !drop.has(rec.rolloutId))),
    policies: Object.fromEntries(Object.entries(db.policies).filter(([id]) => !drop.has(id))),
    rollouts: rows.filter((r) => !drop.has(r.rolloutId)),
  };
}

/** Open `current` on `channel`: the channel's open rollout is superseded, a Pending record per host. */
export function openCurrentRollout(db: DbState, channel: string, policy: RolloutPolicy, current: CurrentRollout, now: Timestamp, limits: { readonly maxRollouts: number; readonly maxEventLog: number }): DbState {
  const rows = [...db.rollouts.map((r): RolloutRow => (r.channel === channel && r.supersededAt === undefined ? { ...r, supersededAt: now } : r)), { rolloutId: current.rolloutId, channel, openedAt: now }];
  const hosts = current.hosts.map((h) => ({ ...h, soakMinutes: current.soakMinutes }));
  return applyToMirror(withRollouts(db, rows, limits.maxRollouts), (m) => openRollout(m, current.rolloutId, channel, policy, hosts, now), now, limits.maxEventLog);
}

/**
 * A heartbeat: remember when and on what closure the host was seen, run
 * recovery synthesis over current rollouts' records, and answer with
 * Replay-From (the host's closure disagrees with the record it names) or,
 * when it names none, snapshots of its live current records.
 */
export function recordHeartbeat(db: DbState, hostname: string, hb: HeartbeatInput, current: ReadonlySet<string>, now: Timestamp, maxEventLog: number): { readonly db: DbState; readonly result: HeartbeatResult } {
  // A heartbeat without current_closure (unreadable on the host) keeps the last one seen.
  const currentClosure = hb.currentClosure ?? db.hosts[hostname]?.currentClosure;
  let next: DbState = { ...db, hosts: { ...db.hosts, [hostname]: { lastHeartbeatAt: hb.at, ...(currentClosure !== undefined ? { currentClosure } : {}) } } };
  if (hb.currentClosure !== undefined) {
    const cc = hb.currentClosure;
    next = applyToMirror(
      next,
      (m) => {
        const inactive = Object.fromEntries(Object.entries(m.records).filter(([, r]) => !current.has(r.rolloutId)));
        const live = Object.fromEntries(Object.entries(m.records).filter(([, r]) => current.has(r.rolloutId)));
        const after = heartbeatRecovery({ ...m, records: live }, hostname, cc, hb.at);
        return { ...after, records: { ...inactive, ...after.records } };
      },
      now,
      maxEventLog,
    );
  }
  let replayFrom: number | undefined;
  if (hb.rolloutId !== undefined && hb.currentClosure !== undefined) {
    const r = recordOf(next, hb.rolloutId, hostname);
    if (r !== undefined && r.currentClosure !== hb.currentClosure) replayFrom = r.lastEventSeq;
  }
  const bootstrapRollouts = hb.rolloutId === undefined ? snapshots(mirrorOf(next), hostname).filter((s) => current.has(s.rolloutId)) : [];
  return { db: next, result: { receivedAt: hb.at, bootstrapRollouts, ...(replayFrom !== undefined ? { replayFrom } : {}) } };
}

/** An agent's event through the mirror; `row` is its event log entry (undefined when the log did not grow). */
export function ingestEnvelope(db: DbState, envelope: AgentEventEnvelope, now: Timestamp, maxEventLog: number): { readonly db: DbState; readonly row: EventRow | undefined } {
  const next = applyToMirror(db, (m) => ingestEvent(m, envelope, now), now, maxEventLog);
  return { db: next, row: next.eventSeq > db.eventSeq ? next.eventLog[next.eventLog.length - 1] : undefined };
}

export const nonceBurnt = (db: DbState, nonce: string): boolean => Object.prototype.hasOwnProperty.call(db.usedNonces, nonce);

/** An accepted token's nonce is burnt; the oldest are forgotten beyond `max` (their tokens are long expired by then). */
export function burnNonce(db: DbState, nonce: string, hostname: string, now: Timestamp, max: number): DbState {
  const kept = Object.entries(db.usedNonces);
  return { ...db, usedNonces: Object.fromEntries([...kept.slice(Math.max(0, kept.length - max + 1)), [nonce, { hostname, at: now }]]) };
}
