// CP snapshots (boot recovery, and every heartbeat upstream). They inform,
// they do not command (docs/compatibility.md, "Signed intent"): a snapshot
// for another host is dropped; one answer gives at most
// SNAPSHOTS_PER_ANSWER_CAPACITY; a record it creates can fire nothing until a
// signed dispatch binds it (src/reducer/guard.ts); and it never changes the
// closures of a record the agent dispatched itself.
import type { HostRolloutSnapshot } from '../codecs/host-state';
import { mergeSnapshot, rehydrationEffects } from './rehydration';
import {
  admitLive,
  log,
  own,
  pruneTerminal,
  SNAPSHOTS_PER_ANSWER_CAPACITY,
  TERMINAL,
  withEntry,
  type AgentEffect,
  type AgentState,
  type AgentTransition,
} from './agent-state';

/**
 * Cold (unknown rollout): rebuild it and re-prime the probes. Warm: the side
 * with the higher seq knows more — a snapshot behind the local record (our
 * events are still on their way) is ignored, so a record never moves back;
 * one that only repeats what we know changes nothing (upstream restarts the
 * probes on every heartbeat); one ahead (the CP synthesised recovery events)
 * is merged, keeping the agent-local fields, and re-primes the probes if the
 * state moved.
 */
function bootstrapOne(state: AgentState, snapshot: HostRolloutSnapshot): AgentTransition {
  const id = snapshot.rolloutId;
  const existing = own(state.hosts, id);
  if (existing !== undefined && snapshot.lastEventSeq <= existing.lastEventSeq) {
    const behind = snapshot.lastEventSeq < existing.lastEventSeq || snapshot.state !== existing.state;
    return { state, effects: [log('debug', behind ? 'snapshot behind the local record; kept local' : 'snapshot matches the local record', { rolloutId: id, cpSeq: snapshot.lastEventSeq, localSeq: existing.lastEventSeq })] };
  }
  const effects: AgentEffect[] = [];
  let base = state;
  if (existing === undefined && !TERMINAL.has(snapshot.state)) {
    const room = admitLive(state);
    if (room === undefined) return { state, effects: [log('error', 'snapshot dropped: live rollout records at capacity', { rolloutId: id })] };
    effects.push(...room.effects);
    base = room.state;
  }
  const signed = existing !== undefined && own(state.intents, id) !== undefined;
  if (signed && (snapshot.targetClosure !== existing.targetClosure || snapshot.currentClosureAtDispatch !== existing.currentClosureAtDispatch)) {
    effects.push(log('error', 'snapshot disagrees with the signed dispatch on closures; kept the agent’s', { rolloutId: id, snapshotTarget: snapshot.targetClosure, signedTarget: existing.targetClosure }));
  }
  const merged = mergeSnapshot(snapshot, existing, signed);
  const moved = existing === undefined || existing.state !== merged.state;
  const next: AgentState = {
    ...base,
    hosts: withEntry(base.hosts, id, merged),
    // The CP may raise the counter, never lower it (a queued event may hold a higher seq).
    seqFloors: withEntry(base.seqFloors, id, Math.max(base.seqFloors[id] ?? 0, merged.lastEventSeq)),
  };
  return {
    state: TERMINAL.has(merged.state) ? pruneTerminal(next) : next,
    effects: [
      ...effects,
      log('info', existing === undefined ? 'rollout rehydrated (cold)' : 'rollout rehydrated (warm)', { rolloutId: id, state: merged.state, lastEventSeq: merged.lastEventSeq }),
      ...(moved ? rehydrationEffects(merged) : []),
    ],
  };
}

/** One CP answer's snapshots in one turn. `machineId` undefined only in unit specs of the reducer. */
export function bootstrap(state: AgentState, snapshots: readonly HostRolloutSnapshot[], machineId: string | undefined): AgentTransition {
  const effects: AgentEffect[] = [];
  const mine = machineId === undefined ? snapshots : snapshots.filter((s) => s.hostname === machineId);
  if (mine.length < snapshots.length) effects.push(log('warn', 'dropped snapshots addressed to another host', { count: snapshots.length - mine.length, machineId }));
  const taken = mine.length > SNAPSHOTS_PER_ANSWER_CAPACITY ? mine.slice(0, SNAPSHOTS_PER_ANSWER_CAPACITY) : mine;
  if (taken.length < mine.length) effects.push(log('error', 'too many snapshots in one answer; the rest were dropped', { count: mine.length, capacity: SNAPSHOTS_PER_ANSWER_CAPACITY }));
  let s = state;
  for (const snapshot of taken) {
    const t = bootstrapOne(s, snapshot);
    s = t.state;
    effects.push(...t.effects);
  }
  return { state: s, effects };
}
