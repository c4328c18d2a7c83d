// Shapes shared by the transition handlers.
import type * as E from 'fp-ts/Either';
import type { Effect } from '../codecs/effects';
import type { AgentEvent, Event } from '../codecs/events';
import { WIRE_KIND_OF } from '../codecs/events';
import type { HostRolloutState } from '../codecs/host-state';
import type { RolloutPolicy } from '../codecs/policy';
import type { HostState } from '../codecs/scalars';
import type { Timestamp } from '../codecs/timestamp';
import type { TransitionError } from './errors';

export interface Transition {
  readonly state: HostRolloutState;
  readonly effects: readonly Effect[];
}
export type StepResult = E.Either<TransitionError, Transition>;

/** A per-state handler; `step` has already checked seq and stamps `lastEventSeq` after success. */
export type StateHandler = (state: HostRolloutState, event: Event, policy: RolloutPolicy) => StepResult;

/** The outbound/wire payload of an event: same fields, the wire kind, LocalActivate's extras dropped. */
export function outbound(event: Event): AgentEvent {
  if (event.kind === 'LocalActivate' || event.kind === 'RemoteDispatchAck') {
    return {
      kind: 'DispatchAck',
      currentClosureAtDispatch: event.currentClosureAtDispatch,
      receivedAt: event.receivedAt,
      seq: event.seq,
    };
  }
  const { kind, ...fields } = event;
  return { kind: WIRE_KIND_OF[kind], ...fields } as AgentEvent;
}

export const emit = (s: HostRolloutState, event: Event, durable: boolean): Effect => ({
  kind: 'LocalEmitEvent',
  rolloutId: s.rolloutId,
  payload: outbound(event),
  durable,
});

export const appendLog = (s: HostRolloutState, event: Event): Effect => ({
  kind: 'RemoteAppendEventLog',
  host: s.hostname,
  rolloutId: s.rolloutId,
  payload: outbound(event),
});

export const recordTransition = (s: HostRolloutState, to: HostState, at: Timestamp): Effect => ({
  kind: 'RecordTransition',
  host: s.hostname,
  rolloutId: s.rolloutId,
  from: s.state,
  to,
  at,
});

export const resetProbeCache = (s: HostRolloutState): Effect => ({ kind: 'LocalResetProbeCache', rolloutId: s.rolloutId });

/** The agent's rollback intent, only under rollback-and-halt and only when the pre-dispatch closure is known. */
export function rollbackIfPolicy(s: HostRolloutState, policy: RolloutPolicy['onHealthFailure']): Effect[] {
  return policy === 'rollback-and-halt' && s.currentClosureAtDispatch !== undefined
    ? [{ kind: 'LocalFireRollbackTo', rolloutId: s.rolloutId, closure: s.currentClosureAtDispatch }]
    : [];
}
