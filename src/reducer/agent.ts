// The agent reducer around step() (reference agent-runtime.md §5): one pure
// function from (agent state, input, now) to (agent state, effects). The
// graph's single `scan` is its only caller (design §2 invariant 1).
//
// Differences from upstream, all invisible to the CP except that events are
// no longer lost (docs/compatibility.md):
// - seq = max(record's lastEventSeq, highest seq ever queued) + 1 for every
//   Local event, Deferred included, so a CP snapshot can never make a seq repeat;
// - a dispatch that arrives before any policy is known is held, not dropped;
// - probes of a rollout that left Soaking are stopped (their events would be rejected);
// - terminal records beyond a bound are forgotten.
import * as E from 'fp-ts/Either';
import type { Effect } from '../codecs/effects';
import type { Event, EventOf } from '../codecs/events';
import type { HostRolloutSnapshot, HostRolloutState } from '../codecs/host-state';
import type { RolloutPolicy } from '../codecs/policy';
import { rolloutChannel } from '../codecs/scalars';
import type { Timestamp } from '../codecs/timestamp';
import type { ManifestSet } from './manifest-set';
import { mergeSnapshot, rehydrationEffects } from './rehydration';
import { AGENT_SELF_HOSTNAME, newPending } from './state';
import { step } from './step';
import { advanceTick, SUSTAINED_FAILURE_THRESHOLD_SECS } from './tick';

export type ReducerInput =
  | { readonly kind: 'HostEvent'; readonly rolloutId: string; readonly event: Event }
  | { readonly kind: 'AgentAdvanceTick' }
  | { readonly kind: 'ManifestSetUpdated'; readonly manifests: ManifestSet }
  | { readonly kind: 'BootstrapHost'; readonly snapshot: HostRolloutSnapshot }
  /** After a restart, once the boot snapshots are in: finish what a killed agent left half done. */
  | { readonly kind: 'ResumeInterrupted' };

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

/** Effects of the agent reducer: step()'s, plus the agent's own. */
export type AgentEffect =
  | Effect
  | { readonly kind: 'Log'; readonly level: LogLevelName; readonly message: string; readonly fields: Readonly<Record<string, unknown>> }
  | { readonly kind: 'StopProbes'; readonly rolloutId: string };

export interface AgentState {
  /** rollout id → this host's record. */
  readonly hosts: Readonly<Record<string, HostRolloutState>>;
  readonly manifests?: ManifestSet;
  /** rollout id → highest seq ever assigned (seeded from the durable queue at start). */
  readonly seqFloors: Readonly<Record<string, number>>;
  /** Dispatches waiting for the first policy, by rollout id, oldest first. */
  readonly held: readonly { readonly rolloutId: string; readonly event: EventOf<'LocalActivate'> }[];
}

export interface AgentReducerConfig {
  readonly sustainedFailureThresholdSecs: number;
}

export const DEFAULT_AGENT_REDUCER_CONFIG: AgentReducerConfig = {
  sustainedFailureThresholdSecs: SUSTAINED_FAILURE_THRESHOLD_SECS,
};

// A dispatch normally waits seconds for the first manifest poll; more than a
// handful held at once means the fleet has no usable policy. Oldest go first.
export const HELD_DISPATCH_CAPACITY = 8;

// Terminal records accept no events; keeping the newest few serves `status`
// and late duplicates. One rollout per release per channel, so 64 is months.
export const TERMINAL_RECORD_CAPACITY = 64;

/** The state before any input: empty, or restored from the durable store after a restart. */
export function initialAgentState(seqFloors: Readonly<Record<string, number>> = {}, hosts: Readonly<Record<string, HostRolloutState>> = {}): AgentState {
  return { hosts, seqFloors, held: [] };
}

export interface AgentTransition {
  readonly state: AgentState;
  readonly effects: readonly AgentEffect[];
}

const log = (level: LogLevelName, message: string, fields: Readonly<Record<string, unknown>> = {}): AgentEffect => ({
  kind: 'Log',
  level,
  message,
  fields,
});

const TERMINAL: ReadonlySet<string> = new Set(['Converged', 'Failed', 'Reverted']);

/** fleet.rolloutPolicies[fleet.channels[channel].rolloutPolicy] (reference §5.4). */
export function resolvePolicy(manifests: ManifestSet | undefined, channel: string): RolloutPolicy | undefined {
  const fleet = manifests?.fleet;
  if (fleet === undefined || !Object.prototype.hasOwnProperty.call(fleet.channels, channel)) return undefined;
  const name = fleet.channels[channel]?.rolloutPolicy;
  return name !== undefined && Object.prototype.hasOwnProperty.call(fleet.rolloutPolicies, name) ? fleet.rolloutPolicies[name] : undefined;
}

// A computed key defines an own property: "__proto__" as a rollout id stays data.
const withEntry = <V>(record: Readonly<Record<string, V>>, key: string, value: V): Record<string, V> => ({ ...record, [key]: value });

function hold(state: AgentState, rolloutId: string, event: EventOf<'LocalActivate'>): AgentTransition {
  const others = state.held.filter((h) => h.rolloutId !== rolloutId);
  const kept = others.slice(Math.max(0, others.length - (HELD_DISPATCH_CAPACITY - 1)));
  const effects: AgentEffect[] = [log('warn', 'rollout policy not cached yet; holding dispatch until the next manifest refresh', { rolloutId })];
  if (kept.length < others.length) effects.push(log('error', 'held dispatch dropped: too many dispatches without a policy', { rolloutId: others[0]?.rolloutId }));
  return { state: { ...state, held: [...kept, { rolloutId, event }] }, effects };
}

function pruneTerminal(hosts: Record<string, HostRolloutState>): Record<string, HostRolloutState> {
  const terminal = Object.keys(hosts).filter((id) => TERMINAL.has(hosts[id]?.state ?? ''));
  if (terminal.length <= TERMINAL_RECORD_CAPACITY) return hosts;
  const drop = new Set(terminal.slice(0, terminal.length - TERMINAL_RECORD_CAPACITY));
  return Object.fromEntries(Object.entries(hosts).filter(([id]) => !drop.has(id)));
}

function hostEvent(state: AgentState, rolloutId: string, event: Event, now: Timestamp): AgentTransition {
  const existing = Object.prototype.hasOwnProperty.call(state.hosts, rolloutId) ? state.hosts[rolloutId] : undefined;
  if (existing === undefined && event.kind !== 'LocalActivate') {
    return { state, effects: [log('warn', 'HostEvent for unknown rollout; dropped', { rolloutId, event: event.kind })] };
  }
  const channel = existing?.channel ?? rolloutChannel(rolloutId);
  const policy = resolvePolicy(state.manifests, channel);
  if (policy === undefined) {
    // Also when a boot snapshot already created the Pending record.
    if (event.kind === 'LocalActivate') return hold(state, rolloutId, event);
    return { state, effects: [log('warn', 'rollout policy not cached yet; event dropped', { rolloutId, event: event.kind })] };
  }
  const host =
    existing ??
    (event.kind === 'LocalActivate'
      ? newPending(rolloutId, AGENT_SELF_HOSTNAME, channel, event.targetClosure, now, event.soakDueAt)
      : undefined);
  if (host === undefined) return { state, effects: [] };
  const floor = Math.max(host.lastEventSeq, state.seqFloors[rolloutId] ?? 0);
  const stamped: Event = event.kind.startsWith('Local') ? { ...event, seq: floor + 1 } : event;
  const r = step(host, stamped, policy, now);
  if (E.isLeft(r)) {
    return { state, effects: [log('warn', 'step() rejected event', { rolloutId, event: event.kind, error: r.left.kind, reason: r.left.message })] };
  }
  const next = r.right.state;
  const effects: AgentEffect[] = [...r.right.effects];
  if (host.state === 'Soaking' && next.state !== 'Soaking') effects.push({ kind: 'StopProbes', rolloutId });
  return {
    state: {
      ...state,
      hosts: TERMINAL.has(next.state) ? pruneTerminal(withEntry(state.hosts, rolloutId, next)) : withEntry(state.hosts, rolloutId, next),
      seqFloors: withEntry(state.seqFloors, rolloutId, Math.max(state.seqFloors[rolloutId] ?? 0, next.lastEventSeq)),
      held: state.held.filter((h) => h.rolloutId !== rolloutId),
    },
    effects,
  };
}

/**
 * A CP snapshot of one rollout (boot recovery, and every heartbeat upstream).
 * Cold (unknown rollout): rebuild it and re-prime the probes. Warm: the side
 * with the higher seq knows more — a snapshot behind the local record (our
 * events are still on their way) is ignored, so a record never moves back;
 * one that only repeats what we know changes nothing (upstream restarts the
 * probes on every heartbeat); one ahead (the CP synthesised recovery events)
 * is merged, keeping the agent-local fields, and re-primes the probes if the
 * state moved.
 */
function bootstrap(state: AgentState, snapshot: HostRolloutSnapshot): AgentTransition {
  const id = snapshot.rolloutId;
  const existing = Object.prototype.hasOwnProperty.call(state.hosts, id) ? state.hosts[id] : undefined;
  if (existing !== undefined && snapshot.lastEventSeq <= existing.lastEventSeq) {
    const behind = snapshot.lastEventSeq < existing.lastEventSeq || snapshot.state !== existing.state;
    return { state, effects: [log('debug', behind ? 'snapshot behind the local record; kept local' : 'snapshot matches the local record', { rolloutId: id, cpSeq: snapshot.lastEventSeq, localSeq: existing.lastEventSeq })] };
  }
  const merged = mergeSnapshot(snapshot, existing);
  const moved = existing === undefined || existing.state !== merged.state;
  return {
    state: {
      ...state,
      hosts: withEntry(state.hosts, id, merged),
      // The CP may raise the counter, never lower it (a queued event may hold a higher seq).
      seqFloors: withEntry(state.seqFloors, id, Math.max(state.seqFloors[id] ?? 0, merged.lastEventSeq)),
    },
    effects: [
      log('info', existing === undefined ? 'rollout rehydrated (cold)' : 'rollout rehydrated (warm)', { rolloutId: id, state: merged.state, lastEventSeq: merged.lastEventSeq }),
      ...(moved ? rehydrationEffects(merged) : []),
    ],
  };
}

/**
 * An agent killed between firing a switch (or a rollback) and recording its
 * outcome comes back with the record still Activating (or Failed with the
 * rollback owed). Upstream fires nothing then and the host waits forever
 * unless the CP sees the target in a heartbeat. The pipelines are idempotent
 * (realise, set the profile, switch, poll), so they are fired again.
 */
function resume(state: AgentState): AgentTransition {
  const effects: AgentEffect[] = [];
  for (const h of Object.values(state.hosts)) {
    if (h.state === 'Activating') {
      effects.push(log('warn', 'resuming an interrupted activation', { rolloutId: h.rolloutId, target: h.targetClosure }));
      effects.push({ kind: 'LocalFireSwitch', rolloutId: h.rolloutId, target: h.targetClosure });
    } else if (h.state === 'Failed' && h.policyApplied === 'rollback-and-halt' && h.currentClosureAtDispatch !== undefined) {
      effects.push(log('warn', 'resuming an interrupted rollback', { rolloutId: h.rolloutId, to: h.currentClosureAtDispatch }));
      effects.push({ kind: 'LocalFireRollbackTo', rolloutId: h.rolloutId, closure: h.currentClosureAtDispatch });
    }
  }
  return { state, effects };
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
      return hostEvent(state, input.rolloutId, input.event, now);
    case 'AgentAdvanceTick': {
      const events = advanceTick(
        Object.values(state.hosts),
        now,
        (s) => resolvePolicy(state.manifests, s.channel)?.onHealthFailure,
        config.sustainedFailureThresholdSecs,
      );
      return chain(state, [], events.map((t) => (s: AgentState) => hostEvent(s, t.rolloutId, t.event, now)));
    }
    case 'ManifestSetUpdated': {
      const refreshed: AgentState = { ...state, manifests: input.manifests, held: [] };
      const retry = state.held.map((h) => (s: AgentState) => hostEvent(s, h.rolloutId, h.event, now));
      const effects: AgentEffect[] = [log('info', 'manifest cache refreshed', { channels: Object.keys(input.manifests.rollouts).length })];
      // Until the first policy is known every event is dropped, so probes
      // re-primed at boot (rehydration) lost their topology: prime them again.
      if (state.manifests === undefined) {
        for (const h of Object.values(state.hosts)) if (h.state === 'Soaking') effects.push({ kind: 'LocalResetProbeCache', rolloutId: h.rolloutId });
      }
      return chain(refreshed, effects, retry);
    }
    case 'BootstrapHost':
      return bootstrap(state, input.snapshot);
    case 'ResumeInterrupted':
      return resume(state);
  }
}
