// The agent reducer around step() (reference agent-runtime.md §5): one pure
// function from (agent state, input, now) to (agent state, effects). The
// graph's single `scan` is its only caller (design §2 invariant 1).
//
// Differences from upstream, all invisible to the CP except that events are
// no longer lost and a hostile CP can no longer pick what runs (docs/compatibility.md):
// - seq = max(record's lastEventSeq, highest seq ever queued) + 1 for every
//   Local event, Deferred included, so a CP snapshot can never make a seq repeat;
// - a dispatch enters only as a VerifiedDispatch input and binds its record to the
//   signed intent; step()'s fire effects pass the guard (src/reducer/guard.ts);
// - snapshots inform and never command (src/reducer/snapshots.ts);
// - a dispatch that arrives before any policy is known is held, not dropped;
// - probes of a rollout that left Soaking are stopped (their events would be rejected);
// - terminal records beyond a bound are forgotten, live records are bounded.
import * as E from 'fp-ts/Either';
import type { Event } from '../codecs/events';
import type { HostRolloutState } from '../codecs/host-state';
import type { SignedIntent } from '../codecs/intent';
import type { RolloutPolicy } from '../codecs/policy';
import { rolloutChannel } from '../codecs/scalars';
import type { Timestamp } from '../codecs/timestamp';
import type { ManifestSet } from './manifest-set';
import {
  admitLive,
  HELD_DISPATCH_CAPACITY,
  HELD_EVENT_CAPACITY,
  log,
  own,
  pruneTerminal,
  TERMINAL,
  withEntry,
  type AgentEffect,
  type AgentState,
  type AgentTransition,
  type ReducerInput,
  type DispatchInput,
} from './agent-state';
import { guardRollback, guardSwitch, resume } from './guard';
import { bootstrap } from './snapshots';
import { AGENT_SELF_HOSTNAME, newPending } from './state';
import { step } from './step';
import { advanceTick, SUSTAINED_FAILURE_THRESHOLD_SECS } from './tick';

export * from './agent-state';

export interface AgentReducerConfig {
  readonly sustainedFailureThresholdSecs: number;
  /** This host's machine id: snapshots for any other host are dropped. Undefined only in reducer unit specs. */
  readonly machineId?: string;
}

export const DEFAULT_AGENT_REDUCER_CONFIG: AgentReducerConfig = {
  sustainedFailureThresholdSecs: SUSTAINED_FAILURE_THRESHOLD_SECS,
};

/** fleet.rolloutPolicies[fleet.channels[channel].rolloutPolicy] (reference §5.4). */
export function channelPolicy(manifests: ManifestSet | undefined, channel: string): RolloutPolicy | undefined {
  const fleet = manifests?.fleet;
  if (fleet === undefined || !Object.prototype.hasOwnProperty.call(fleet.channels, channel)) return undefined;
  const name = fleet.channels[channel]?.rolloutPolicy;
  return name !== undefined && Object.prototype.hasOwnProperty.call(fleet.rolloutPolicies, name) ? fleet.rolloutPolicies[name] : undefined;
}

function hold(state: AgentState, input: DispatchInput): AgentTransition {
  const others = state.held.filter((h) => h.rolloutId !== input.rolloutId);
  const kept = others.slice(Math.max(0, others.length - (HELD_DISPATCH_CAPACITY - 1)));
  const effects: AgentEffect[] = [log('warn', 'rollout policy not cached yet; holding dispatch until the next manifest refresh', { rolloutId: input.rolloutId })];
  if (kept.length < others.length) effects.push(log('error', 'held dispatch dropped: too many dispatches without a policy', { rolloutId: others[0]?.rolloutId }));
  return { state: { ...state, held: [...kept, input] }, effects };
}

/**
 * step() on one record, then the guard on its fire effects. `intent` binds the
 * record when step() accepts (a verified dispatch). A refused switch fails the
 * activation at once, so the CP sees why and the host is left as it was.
 */
function applyStep(
  state: AgentState,
  host: HostRolloutState,
  event: Event,
  policy: RolloutPolicy,
  now: Timestamp,
  config: AgentReducerConfig,
  intent?: SignedIntent,
): AgentTransition {
  const id = host.rolloutId;
  const floor = Math.max(host.lastEventSeq, state.seqFloors[id] ?? 0);
  const stamped: Event = event.kind.startsWith('Local') ? { ...event, seq: floor + 1 } : event;
  const r = step(host, stamped, policy, now);
  if (E.isLeft(r)) {
    return { state, effects: [log('warn', 'step() rejected event', { rolloutId: id, event: event.kind, error: r.left.kind, reason: r.left.message })] };
  }
  const next = r.right.state;
  const updated: AgentState = {
    ...state,
    hosts: withEntry(state.hosts, id, next),
    intents: intent !== undefined ? withEntry(state.intents, id, intent) : state.intents,
    seqFloors: withEntry(state.seqFloors, id, Math.max(state.seqFloors[id] ?? 0, next.lastEventSeq)),
    held: state.held.filter((h) => h.rolloutId !== id),
  };
  const bound = own(updated.intents, id);
  const effects: AgentEffect[] = [];
  let refused: string | undefined;
  for (const e of r.right.effects) {
    if (e.kind === 'LocalFireSwitch') {
      const g = guardSwitch(bound, e);
      if ('ok' in g) effects.push(g.ok);
      else {
        refused = g.refused;
        effects.push(log('error', 'switch refused: not bound to a verified manifest', { rolloutId: id, target: e.target, reason: g.refused }));
      }
    } else if (e.kind === 'LocalFireRollbackTo') effects.push(guardRollback(next, bound, e));
    else effects.push(e);
  }
  if (host.state === 'Soaking' && next.state !== 'Soaking') effects.push({ kind: 'StopProbes', rolloutId: id });
  // Only a closure the agent verified and switched to itself is confirmed: a
  // Converged record that a CP snapshot made says nothing about this host.
  if (host.state !== 'Converged' && next.state === 'Converged' && bound?.targetClosure === next.targetClosure) {
    effects.push({ kind: 'ConfirmClosure', rolloutId: id, closure: next.targetClosure, confirmedAt: next.convergedAt ?? now });
  }
  const after = TERMINAL.has(next.state) ? pruneTerminal(updated) : updated;
  if (refused === undefined) return { state: after, effects };
  const failed = hostEvent(after, id, { kind: 'LocalActivationFailed', exitCode: -1, stderrTail: refused, failedAt: now, seq: 0 }, now, config);
  return { state: failed.state, effects: [...effects, ...failed.effects] };
}

function hostEvent(state: AgentState, rolloutId: string, event: Event, now: Timestamp, config: AgentReducerConfig): AgentTransition {
  if (event.kind === 'LocalActivate') {
    return { state, effects: [log('error', 'LocalActivate refused: a dispatch must arrive as a VerifiedDispatch input', { rolloutId })] };
  }
  const existing = own(state.hosts, rolloutId);
  if (existing === undefined) return { state, effects: [log('warn', 'HostEvent for unknown rollout; dropped', { rolloutId, event: event.kind })] };
  const policy = channelPolicy(state.manifests, existing.channel);
  if (policy === undefined) return withoutPolicy(state, rolloutId, event);
  return applyStep(state, existing, event, policy, now, config);
}

// Probe events are made again: the probes are primed anew when the first policy arrives.
const REPRODUCIBLE = new Set<Event['kind']>(['LocalProbeTopologyDeclared', 'LocalProbeObservedFirst', 'LocalProbeResult', 'LocalProbeFailureFirst', 'LocalSustainedFailureCrossed', 'LocalConvergedReached']);

/**
 * An event for a record whose policy is not known yet (after a restart,
 * before the first manifest poll). Probe and soak events are dropped (they
 * are made again); an activation or rollback outcome is held until a policy
 * arrives — its switch will not run again, so nothing else would report it.
 */
function withoutPolicy(state: AgentState, rolloutId: string, event: Event): AgentTransition {
  if (REPRODUCIBLE.has(event.kind)) return { state, effects: [log('debug', 'rollout policy not cached yet; event dropped (made again once it is)', { rolloutId, event: event.kind })] };
  const kept = state.heldEvents.slice(Math.max(0, state.heldEvents.length - (HELD_EVENT_CAPACITY - 1)));
  const effects: AgentEffect[] = [log('info', 'rollout policy not cached yet; event held until the next manifest refresh', { rolloutId, event: event.kind })];
  const lost = state.heldEvents[0];
  if (kept.length < state.heldEvents.length && lost !== undefined) effects.push(log('error', 'held event dropped: too many events without a policy', { rolloutId: lost.rolloutId, event: lost.event.kind }));
  return { state: { ...state, heldEvents: [...kept, { rolloutId, event }] }, effects };
}

/**
 * A dispatch the longpoll verified: the signed target wins over whatever a
 * CP snapshot put in the record, and the record is bound to the intent.
 */
function dispatch(state: AgentState, input: DispatchInput, now: Timestamp, config: AgentReducerConfig): AgentTransition {
  const { rolloutId, event, intent } = input;
  if (intent.targetClosure !== event.targetClosure) {
    return { state, effects: [log('error', 'dispatch refused: its target is not the verified one', { rolloutId, target: event.targetClosure, signedTarget: intent.targetClosure })] };
  }
  const existing = own(state.hosts, rolloutId);
  const channel = existing?.channel ?? rolloutChannel(rolloutId);
  const policy = channelPolicy(state.manifests, channel);
  // Also when a boot snapshot already created the Pending record.
  if (policy === undefined) return hold(state, input);
  if (existing === undefined) {
    const room = admitLive(state);
    if (room === undefined) return { state, effects: [log('error', 'dispatch refused: live rollout records at capacity', { rolloutId })] };
    const t = applyStep(room.state, newPending(rolloutId, AGENT_SELF_HOSTNAME, channel, event.targetClosure, now, event.soakDueAt), event, policy, now, config, intent);
    return { state: t.state, effects: [...room.effects, ...t.effects] };
  }
  // A Pending record the CP created is rebuilt from the verified dispatch (its
  // seq kept): nothing in it, target or soak deadline, is the CP's word alone.
  const rebuilt =
    existing.state === 'Pending' && own(state.intents, rolloutId) === undefined
      ? { ...newPending(rolloutId, existing.hostname, channel, intent.targetClosure, now, event.soakDueAt), lastEventSeq: existing.lastEventSeq }
      : { ...existing, targetClosure: intent.targetClosure };
  const t = applyStep(state, rebuilt, event, policy, now, config, intent);
  if (existing.targetClosure === intent.targetClosure) return t;
  return {
    state: t.state,
    effects: [log('error', 'the control plane named another target than the signed manifest; the signed target wins', { rolloutId, snapshotTarget: existing.targetClosure, signedTarget: intent.targetClosure }), ...t.effects],
  };
}

/** Apply inputs one after another, threading state and concatenating effects. */
function chain(state: AgentState, effects: readonly AgentEffect[], steps: readonly ((s: AgentState) => AgentTransition)[]): AgentTransition {
  let s = state;
  const out = [...effects];
  for (const f of steps) {
    const t = f(s);
    s = t.state;
    out.push(...t.effects);
  }
  return { state: s, effects: out };
}

/**
 * One reducer turn. Pure: `now` is the scheduler's reading, passed in.
 * Synthesised tick events are applied inline, each with its own seq.
 */
export function agentStep(
  state: AgentState,
  input: ReducerInput,
  now: Timestamp,
  config: AgentReducerConfig = DEFAULT_AGENT_REDUCER_CONFIG,
): AgentTransition {
  switch (input.kind) {
    case 'HostEvent':
      return hostEvent(state, input.rolloutId, input.event, now, config);
    case 'VerifiedDispatch':
      return dispatch(state, input, now, config);
    case 'AgentAdvanceTick': {
      const events = advanceTick(
        Object.values(state.hosts),
        now,
        (s) => channelPolicy(state.manifests, s.channel)?.onHealthFailure,
        config.sustainedFailureThresholdSecs,
      );
      return chain(
        state,
        [],
        events.map((t) => (s: AgentState) => {
          const applied = hostEvent(s, t.rolloutId, t.event, now, config);
          if (t.event.kind !== 'LocalSustainedFailureCrossed') return applied;
          // Why the soak failed, in the operator's words: each failing probe and its last reason.
          const probes = s.hosts[t.rolloutId]?.probes ?? {};
          const reasons = Object.fromEntries(t.event.failingProbes.map((name) => [name, probes[name]?.failureReason ?? 'failing']));
          const why = log('error', 'enforce probes failed for longer than the threshold; the soak fails', {
            rolloutId: t.rolloutId,
            failingProbes: reasons,
            forSecs: t.event.sustainedDurationSecs,
            policy: t.event.policyApplied,
          });
          return { state: applied.state, effects: [why, ...applied.effects] };
        }),
      );
    }
    case 'ManifestSetUpdated': {
      const refreshed: AgentState = { ...state, manifests: input.manifests, held: [], heldEvents: [] };
      const retry = [
        ...state.held.map((h) => (s: AgentState) => dispatch(s, h, now, config)),
        ...state.heldEvents.map((h) => (s: AgentState) => hostEvent(s, h.rolloutId, h.event, now, config)),
      ];
      // Every poll (30 s) refreshes the set; only a change is news for an operator.
      const changed = state.manifests === undefined || JSON.stringify(state.manifests) !== JSON.stringify(input.manifests);
      const effects: AgentEffect[] = [
        changed
          ? log('info', 'verified manifest set changed', { rollouts: input.manifests.rollouts })
          : log('debug', 'verified manifest set unchanged', { channels: Object.keys(input.manifests.rollouts).length }),
      ];
      // Until the first policy is known probe events are dropped, so probes
      // re-primed at boot (rehydration) lost their topology: prime them again.
      if (state.manifests === undefined) {
        for (const h of Object.values(state.hosts)) if (h.state === 'Soaking') effects.push({ kind: 'LocalResetProbeCache', rolloutId: h.rolloutId });
      }
      return chain(refreshed, effects, retry);
    }
    case 'BootstrapHosts':
      return bootstrap(state, input.snapshots, config.machineId);
    case 'ResumeInterrupted':
      return resume(state);
  }
}
