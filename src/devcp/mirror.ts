// The development control plane's mirror of every host's rollout state: the
// same step() the agent runs, fed with Remote* events (design §2 invariant 2;
// reference wire-protocol.md §4.3–§4.5, §12). Pure: callers pass `now` and
// keep the returned state.
import * as E from 'fp-ts/Either';
import type { AgentEvent, AgentEventEnvelope, Event } from '../codecs/events';
import { toRemoteEvent } from '../codecs/events';
import type { HostRolloutSnapshot, HostRolloutState } from '../codecs/host-state';
import type { RolloutPolicy } from '../codecs/policy';
import { LIVE_STATES as ACTIVE } from '../codecs/protocol';
import { addSeconds, compareTimestamps, type Timestamp } from '../codecs/timestamp';
import type { Dispatch } from '../ports/control-plane';
import { newPending } from '../reducer/state';
import { step } from '../reducer/step';

export interface QuarantineEntry {
  readonly channel: string;
  readonly closure: string;
  /** Why, for the operator who tries to release it again (absent in state saved before it was kept). */
  readonly reason?: string;
}

export interface EventLogEntry {
  readonly host: string;
  readonly rolloutId: string;
  readonly event: AgentEvent;
  /** What the mirror did with it. */
  readonly outcome: 'applied' | 'duplicate' | 'rejected' | 'unknown-record' | 'synthesized';
  readonly reason?: string;
}

export interface MirrorState {
  /** `${rolloutId}\u0000${hostname}` → record. */
  readonly records: Readonly<Record<string, HostRolloutState>>;
  readonly policies: Readonly<Record<string, RolloutPolicy>>;
  readonly quarantine: readonly QuarantineEntry[];
  readonly log: readonly EventLogEntry[];
}

export const emptyMirror = (): MirrorState => ({ records: {}, policies: {}, quarantine: [], log: [] });

const key = (rolloutId: string, host: string) => `${rolloutId}\u0000${host}`;

export function record(state: MirrorState, rolloutId: string, host: string): HostRolloutState | undefined {
  const k = key(rolloutId, host);
  return Object.prototype.hasOwnProperty.call(state.records, k) ? state.records[k] : undefined;
}

// A computed key defines an own property; a spread copy costs far less than
// rebuilding the map from its entries on every event.
const put = (state: MirrorState, r: HostRolloutState): MirrorState => ({
  ...state,
  records: { ...state.records, [key(r.rolloutId, r.hostname)]: r },
});

export interface RolloutHost {
  readonly hostname: string;
  readonly targetClosure: string;
  readonly soakMinutes: number;
}

/** Open a rollout: one Pending record per host, soak deadline = now + the wave's soak. */
export function openRollout(state: MirrorState, rolloutId: string, channel: string, policy: RolloutPolicy, hosts: readonly RolloutHost[], now: Timestamp): MirrorState {
  let s: MirrorState = { ...state, policies: { ...state.policies, [rolloutId]: policy } };
  for (const h of hosts) s = put(s, newPending(rolloutId, h.hostname, channel, h.targetClosure, now, addSeconds(now, h.soakMinutes * 60)));
  return s;
}

/** Dispatches owed: every Pending record (re-offered until acknowledged, as upstream's planner does). */
export function pendingDispatches(state: MirrorState, host: string, now: Timestamp): Dispatch[] {
  return Object.values(state.records)
    .filter((r) => r.hostname === host && r.state === 'Pending' && !state.quarantine.some((q) => q.channel === r.channel && q.closure === r.targetClosure))
    .map((r) => ({ hostname: host, rolloutId: r.rolloutId, targetClosure: r.targetClosure, soakDueAt: r.soakDueAt ?? now, enqueuedAt: now }));
}

/** What made `failed` fail and roll back, in one line. */
function whyQuarantined(failed: HostRolloutState, reverted: HostRolloutState): string {
  const probes = Object.entries(failed.probes)
    .filter(([, p]) => p.status === 'fail' && p.mode === 'enforce')
    .map(([name, p]) => (p.failureReason === undefined ? name : `${name} (${p.failureReason})`));
  const cause =
    failed.activationFailedAt !== undefined
      ? `its activation failed at ${failed.activationFailedAt}`
      : probes.length > 0
        ? `enforce probe ${probes.join(', ')} failing, sustained until ${failed.failedAt ?? 'the fail gate'}`
        : `it failed at ${failed.failedAt ?? 'an unknown time'}`;
  return `host ${failed.hostname} failed rollout ${failed.rolloutId}: ${cause}; rolled back to ${reverted.revertedTo ?? 'its previous closure'} at ${reverted.revertedAt ?? 'an unknown time'}`;
}

function apply(state: MirrorState, r: HostRolloutState, event: Event, wire: AgentEvent, now: Timestamp, outcome: EventLogEntry['outcome']): MirrorState {
  const policy = state.policies[r.rolloutId];
  if (policy === undefined) return { ...state, log: [...state.log, { host: r.hostname, rolloutId: r.rolloutId, event: wire, outcome: 'rejected', reason: 'no policy' }] };
  const result = step(r, event, policy, now);
  if (E.isLeft(result)) {
    return { ...state, log: [...state.log, { host: r.hostname, rolloutId: r.rolloutId, event: wire, outcome: 'rejected', reason: result.left.message }] };
  }
  let s = put(state, result.right.state);
  for (const effect of result.right.effects) {
    if (effect.kind === 'RemoteInsertQuarantine') s = { ...s, quarantine: [...s.quarantine, { channel: effect.channel, closure: effect.closure, reason: whyQuarantined(r, result.right.state) }] };
  }
  return { ...s, log: [...s.log, { host: r.hostname, rolloutId: r.rolloutId, event: wire, outcome }] };
}

/**
 * `POST /v1/agent/events` after the CN check: always accepted (204) — a
 * duplicate, an unknown record or an illegal event is dropped, never refused,
 * because a 4xx would block the agent's queue (reference §4.5).
 */
export function ingestEvent(state: MirrorState, envelope: AgentEventEnvelope, now: Timestamp): MirrorState {
  const r = record(state, envelope.rolloutId, envelope.hostname);
  const entry = (outcome: EventLogEntry['outcome']): EventLogEntry => ({ host: envelope.hostname, rolloutId: envelope.rolloutId, event: envelope.event, outcome });
  if (r === undefined) return { ...state, log: [...state.log, entry('unknown-record')] };
  if (envelope.event.seq <= r.lastEventSeq) return { ...state, log: [...state.log, entry('duplicate')] };
  return apply(state, r, toRemoteEvent(envelope.event), envelope.event, now, 'applied');
}

/**
 * Heartbeat recovery synthesis (reference §4.3): a record still Activating or
 * Deferred whose target is what the host runs completes; a Pending one (a CP
 * that lost its state) runs the whole chain to Converged.
 */
export function heartbeatRecovery(state: MirrorState, host: string, currentClosure: string | undefined, at: Timestamp): MirrorState {
  if (currentClosure === undefined) return state;
  let s = state;
  for (const r0 of Object.values(state.records)) {
    if (r0.hostname !== host || r0.targetClosure !== currentClosure) continue;
    const seq = r0.lastEventSeq;
    const chain: AgentEvent[] = [];
    const completed: AgentEvent = { kind: 'ActivationCompleted', observedCurrentClosure: currentClosure, exitCode: 0, completedAt: at, seq: 0 };
    if (r0.state === 'Activating' || r0.state === 'Deferred') chain.push({ ...completed, seq: seq + 1 });
    else if (r0.state === 'Pending') {
      const convergedAt = r0.soakDueAt !== undefined && compareTimestamps(r0.soakDueAt, at) > 0 ? r0.soakDueAt : at;
      chain.push(
        { kind: 'DispatchAck', currentClosureAtDispatch: '', receivedAt: at, seq: seq + 1 },
        { ...completed, seq: seq + 2 },
        { kind: 'Converged', convergedAt, currentClosure, seq: seq + 3 },
      );
    }
    for (const wire of chain) {
      const r = record(s, r0.rolloutId, host);
      if (r !== undefined) s = apply(s, r, toRemoteEvent(wire), wire, at, 'synthesized');
    }
  }
  return s;
}

/** Snapshots of the host's non-terminal records, for a boot-recovery heartbeat. */
export function snapshots(state: MirrorState, host: string): HostRolloutSnapshot[] {
  return Object.values(state.records)
    .filter((r) => r.hostname === host && ACTIVE.has(r.state))
    .map((r) => ({
      rolloutId: r.rolloutId,
      hostname: r.hostname,
      channel: r.channel,
      state: r.state,
      targetClosure: r.targetClosure,
      ...(r.currentClosureAtDispatch !== undefined ? { currentClosureAtDispatch: r.currentClosureAtDispatch } : {}),
      ...(r.currentClosure !== undefined ? { currentClosure: r.currentClosure } : {}),
      dispatchedAt: r.dispatchedAt,
      ...(r.dispatchAckedAt !== undefined ? { dispatchAckedAt: r.dispatchAckedAt } : {}),
      ...(r.activationStartedAt !== undefined ? { activationStartedAt: r.activationStartedAt } : {}),
      ...(r.activationCompletedAt !== undefined ? { activationCompletedAt: r.activationCompletedAt } : {}),
      ...(r.soakDueAt !== undefined ? { soakDueAt: r.soakDueAt } : {}),
      lastEventSeq: r.lastEventSeq,
    }));
}
