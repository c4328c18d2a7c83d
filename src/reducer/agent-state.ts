// The agent reducer's state, inputs and effects, and the bounds that keep
// them small (design §2 invariant 4). src/reducer/agent.ts is the reducer.
import type { Effect, EffectOf } from '../codecs/effects';
import type { Event, EventOf } from '../codecs/events';
import type { HostRolloutSnapshot, HostRolloutState } from '../codecs/host-state';
import { TERMINAL_STATES as TERMINAL } from '../codecs/protocol';
import type { RollbackProof, SignedIntent } from '../codecs/intent';
import type { ManifestSet } from './manifest-set';

/** A dispatch the longpoll verified against its signed rollout manifest for this machine id. */
export interface DispatchInput {
  readonly kind: 'VerifiedDispatch';
  readonly rolloutId: string;
  readonly event: EventOf<'LocalActivate'>;
  readonly intent: SignedIntent;
}

export type ReducerInput =
  /** Any event but LocalActivate, which only a VerifiedDispatch input may carry. */
  | { readonly kind: 'HostEvent'; readonly rolloutId: string; readonly event: Event }
  | DispatchInput
  | { readonly kind: 'AgentAdvanceTick' }
  | { readonly kind: 'ManifestSetUpdated'; readonly manifests: ManifestSet }
  /** One CP answer's snapshots (boot handshake or heartbeat), applied in one turn. */
  | { readonly kind: 'BootstrapHosts'; readonly snapshots: readonly HostRolloutSnapshot[] }
  /** After a restart, once the boot snapshots are in: finish what a killed agent left half done. */
  | { readonly kind: 'ResumeInterrupted' };

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

/**
 * step()'s LocalFireSwitch, let through only with the signed intent it fires;
 * `resumed` after a restart, `started` when its ActivationStarted was already reported.
 */
export type FireSwitch = EffectOf<'LocalFireSwitch'> & { readonly intent: SignedIntent; readonly resumed?: true; readonly started?: true };
/** step()'s LocalFireRollbackTo, with how the target is known to have run here. */
export type FireRollback = EffectOf<'LocalFireRollbackTo'> & { readonly failedTarget: string; readonly proof: RollbackProof };

/** Effects of the agent reducer: step()'s (its fire effects guarded), plus the agent's own. */
export type AgentEffect =
  | Exclude<Effect, { readonly kind: 'LocalFireSwitch' | 'LocalFireRollbackTo' }>
  | FireSwitch
  | FireRollback
  | { readonly kind: 'Log'; readonly level: LogLevelName; readonly message: string; readonly fields: Readonly<Record<string, unknown>> }
  | { readonly kind: 'StopProbes'; readonly rolloutId: string }
  /**
   * A record bound to its signed intent reached Converged: the closure the
   * agent verified and switched to is good on this host. The daemon records it
   * in the same transaction as the turn's events (`status`, rollback's fallback).
   */
  | { readonly kind: 'ConfirmClosure'; readonly rolloutId: string; readonly closure: string; readonly confirmedAt: string };

export interface AgentState {
  /** rollout id → this host's record. */
  readonly hosts: Readonly<Record<string, HostRolloutState>>;
  /** rollout id → the signed intent the agent accepted for it (only records it dispatched itself). */
  readonly intents: Readonly<Record<string, SignedIntent>>;
  readonly manifests?: ManifestSet;
  /** rollout id → highest seq ever assigned (seeded from the durable queue at start). */
  readonly seqFloors: Readonly<Record<string, number>>;
  /** Dispatches waiting for the first policy, oldest first. */
  readonly held: readonly DispatchInput[];
  /** Activation and rollback outcomes that arrived before the first policy, oldest first. */
  readonly heldEvents: readonly HeldEvent[];
}

export interface HeldEvent {
  readonly rolloutId: string;
  readonly event: Event;
}

export interface AgentTransition {
  readonly state: AgentState;
  readonly effects: readonly AgentEffect[];
}

// A dispatch normally waits seconds for the first manifest poll; more than a
// handful held at once means the fleet has no usable policy. Oldest go first.
export const HELD_DISPATCH_CAPACITY = 8;

// An activation resumed after a restart can end before the first manifest
// poll has produced a policy; its outcome must wait, not be dropped (the
// switch is not run again). A rollout makes at most 3 such events (started,
// outcome, rollback outcome) and a host has one or two live rollouts, so 16
// is ample; more means no policy is coming. Oldest go first, with an ERROR.
export const HELD_EVENT_CAPACITY = 16;

// Terminal records accept no events; keeping the newest few serves `status`
// and late duplicates. One rollout per release per channel, so 64 is months.
export const TERMINAL_RECORD_CAPACITY = 64;

// Live (non-terminal) records. A host belongs to one channel, so it has one
// live rollout, two while a new release overtakes an old one; 16 is ample.
// Overflow: a snapshot's record evicts the oldest record the agent did not
// dispatch itself; records it did dispatch are never evicted, and a dispatch
// or snapshot that finds only those is refused (logged as an error).
export const LIVE_RECORD_CAPACITY = 16;

// Snapshots taken from one CP answer: the CP sends one per active rollout of
// this host, so a handful; 32 leaves room. The rest are dropped and logged:
// a hostile answer cannot grow the state or stall a turn.
export const SNAPSHOTS_PER_ANSWER_CAPACITY = 32;

/** The state before any input: empty, or restored from the durable store after a restart. */
export function initialAgentState(
  seqFloors: Readonly<Record<string, number>> = {},
  hosts: Readonly<Record<string, HostRolloutState>> = {},
  intents: Readonly<Record<string, SignedIntent>> = {},
): AgentState {
  return { hosts, intents, seqFloors, held: [], heldEvents: [] };
}

export const log = (level: LogLevelName, message: string, fields: Readonly<Record<string, unknown>> = {}): AgentEffect => ({
  kind: 'Log',
  level,
  message,
  fields,
});

// A computed key defines an own property: "__proto__" as a rollout id stays data.
export const withEntry = <V>(record: Readonly<Record<string, V>>, key: string, value: V): Record<string, V> => ({ ...record, [key]: value });

export const own = <V>(record: Readonly<Record<string, V>>, key: string): V | undefined =>
  Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;

const without = <V>(record: Readonly<Record<string, V>>, drop: ReadonlySet<string>): Record<string, V> =>
  Object.fromEntries(Object.entries(record).filter(([id]) => !drop.has(id)));

export { TERMINAL };

/** Forget records (and their intents) beyond the terminal capacity, oldest first. */
export function pruneTerminal(state: AgentState): AgentState {
  const terminal = Object.keys(state.hosts).filter((id) => TERMINAL.has(state.hosts[id]?.state ?? ''));
  if (terminal.length <= TERMINAL_RECORD_CAPACITY) return state;
  const drop = new Set(terminal.slice(0, terminal.length - TERMINAL_RECORD_CAPACITY));
  return { ...state, hosts: without(state.hosts, drop), intents: without(state.intents, drop) };
}

/**
 * Room for one more live record: evicts the oldest live records the agent did
 * not dispatch itself until there is (saying so in `effects`). Undefined when
 * only its own are left.
 */
export function admitLive(state: AgentState): AgentTransition | undefined {
  const live = Object.keys(state.hosts).filter((id) => !TERMINAL.has(state.hosts[id]?.state ?? ''));
  const excess = live.length - (LIVE_RECORD_CAPACITY - 1);
  if (excess <= 0) return { state, effects: [] };
  const evictable = live.filter((id) => own(state.intents, id) === undefined).slice(0, excess);
  if (evictable.length < excess) return undefined;
  return {
    state: { ...state, hosts: without(state.hosts, new Set(evictable)) },
    effects: [log('warn', 'forgot rollout records the control plane created, to make room', { evicted: evictable })],
  };
}
