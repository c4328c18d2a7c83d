// The full 7×24 (state, event) table of reference §7.1: the 28 legal pairs give
// the documented state and effects in order; the other 140 give
// IllegalForState with upstream's message and leave the state untouched.
import * as E from 'fp-ts/Either';
import type { Effect } from '../../src/codecs/effects';
import { EVENT_KINDS, type AgentEvent, type Event, type EventKind } from '../../src/codecs/events';
import type { HostRolloutState } from '../../src/codecs/host-state';
import { HOST_STATES, type HostState } from '../../src/codecs/scalars';
import { step } from '../../src/reducer';
import { at, eventWithSeq, policyRollback, stateIn } from '../support/fixtures';

// stateIn(S), plus a known pre-dispatch closure so rollback intents are visible.
function matrixState(s: HostState): HostRolloutState {
  const base = stateIn(s);
  return s === 'Pending' ? base : { ...base, currentClosureAtDispatch: 'prior-closure' };
}

function matrixEvent(kind: EventKind): Event {
  const e = eventWithSeq(kind, 1);
  if (e.kind === 'LocalConvergedReached' || e.kind === 'RemoteConverged') return { ...e, convergedAt: at(360) };
  if (e.kind === 'LocalSustainedFailureCrossed' || e.kind === 'RemoteFailed') return { ...e, policyApplied: 'rollback-and-halt' };
  return e;
}

const wire = (e: Event): AgentEvent => {
  const { kind, ...rest } = e as Event & Record<string, unknown>;
  const map: Record<string, string> = { LocalActivate: 'DispatchAck', RemoteDispatchAck: 'DispatchAck', LocalSustainedFailureCrossed: 'Failed', RemoteFailed: 'Failed', LocalRollbackCompleted: 'RollbackComplete', RemoteRollbackComplete: 'RollbackComplete', LocalConvergedReached: 'Converged', RemoteConverged: 'Converged' };
  const wireKind = map[kind] ?? kind.replace(/^(Local|Remote)/, '');
  if (kind === 'LocalActivate') {
    const { targetClosure: _t, soakDueAt: _s, ...ack } = rest;
    return { kind: wireKind, ...ack } as AgentEvent;
  }
  return { kind: wireKind, ...rest } as AgentEvent;
};
const EMIT = (e: Event, durable: boolean): Effect => ({ kind: 'LocalEmitEvent', rolloutId: 'r1', payload: wire(e), durable });
const LOG = (e: Event): Effect => ({ kind: 'RemoteAppendEventLog', host: 'h1', rolloutId: 'r1', payload: wire(e) });
const RT = (from: HostState, to: HostState, secs: number): Effect => ({ kind: 'RecordTransition', host: 'h1', rolloutId: 'r1', from, to, at: at(secs) });
const RESET: Effect = { kind: 'LocalResetProbeCache', rolloutId: 'r1' };
const ROLLBACK: Effect = { kind: 'LocalFireRollbackTo', rolloutId: 'r1', closure: 'prior-closure' };

interface Expected {
  readonly patch: Partial<HostRolloutState>;
  readonly effects: (e: Event) => Effect[];
}
const pair = (local: Expected, remote: Expected) => [local, remote] as const;

const LEGAL: Partial<Record<HostState, Partial<Record<EventKind, Expected>>>> = {
  Pending: (() => {
    const patch = { state: 'Activating', currentClosureAtDispatch: 'prior', dispatchAckedAt: at(10) } as const;
    return {
      LocalActivate: { patch, effects: (e) => [RT('Pending', 'Activating', 10), EMIT(e, true), { kind: 'LocalFireSwitch', rolloutId: 'r1', target: 'target-abc' }] },
      RemoteDispatchAck: { patch, effects: (e) => [LOG(e), RT('Pending', 'Activating', 10)] },
    };
  })(),
  Activating: (() => {
    const started = { activationStartedAt: at(10) };
    const completed = { state: 'Soaking', activationCompletedAt: at(10), currentClosure: 'target-abc', probes: {} } as const;
    const failed = { state: 'Failed', activationFailedAt: at(10), failedAt: at(10), policyApplied: 'rollback-and-halt' } as const;
    const [ls, rs] = pair({ patch: started, effects: (e) => [EMIT(e, true)] }, { patch: started, effects: (e) => [LOG(e)] });
    return {
      LocalActivationStarted: ls,
      RemoteActivationStarted: rs,
      LocalActivationCompleted: { patch: completed, effects: (e) => [RESET, EMIT(e, true), RT('Activating', 'Soaking', 10)] },
      RemoteActivationCompleted: { patch: completed, effects: (e) => [LOG(e), RT('Activating', 'Soaking', 10)] },
      LocalActivationDeferred: { patch: { state: 'Deferred' }, effects: (e) => [EMIT(e, true), RT('Activating', 'Deferred', 10)] },
      RemoteActivationDeferred: { patch: { state: 'Deferred' }, effects: (e) => [LOG(e), RT('Activating', 'Deferred', 10)] },
      LocalActivationFailed: { patch: failed, effects: (e) => [EMIT(e, true), RT('Activating', 'Failed', 10), ROLLBACK] },
      RemoteActivationFailed: { patch: failed, effects: (e) => [LOG(e), RT('Activating', 'Failed', 10)] },
    };
  })(),
  Deferred: (() => {
    const completed = { state: 'Soaking', activationCompletedAt: at(10), currentClosure: 'target-abc', probes: {} } as const;
    const failed = { state: 'Failed', activationFailedAt: at(10), failedAt: at(10) } as const;
    return {
      LocalActivationCompleted: { patch: completed, effects: (e) => [RESET, EMIT(e, true), RT('Deferred', 'Soaking', 10)] },
      RemoteActivationCompleted: { patch: completed, effects: (e) => [LOG(e), RT('Deferred', 'Soaking', 10)] },
      LocalActivationFailed: { patch: failed, effects: (e) => [EMIT(e, true), RT('Deferred', 'Failed', 10)] },
      RemoteActivationFailed: { patch: failed, effects: (e) => [LOG(e), RT('Deferred', 'Failed', 10)] },
    };
  })(),
  Soaking: (() => {
    const probe = { probes: { p: { status: 'pass', mode: 'enforce', lastObservedAt: at(10), lastPassAt: at(10) } } } as const;
    const failed = { state: 'Failed', failedAt: at(10), policyApplied: 'rollback-and-halt' } as const;
    const converged = { state: 'Converged', convergedAt: at(360), currentClosure: 'target-abc' } as const;
    return {
      LocalProbeTopologyDeclared: { patch: {}, effects: (e) => [EMIT(e, true)] },
      RemoteProbeTopologyDeclared: { patch: {}, effects: (e) => [LOG(e)] },
      LocalProbeObservedFirst: { patch: { probeObservedFirstAt: at(10) }, effects: (e) => [EMIT(e, false)] },
      RemoteProbeObservedFirst: { patch: { probeObservedFirstAt: at(10) }, effects: (e) => [LOG(e)] },
      LocalProbeResult: { patch: probe, effects: (e) => [EMIT(e, false)] },
      RemoteProbeResult: { patch: probe, effects: (e) => [LOG(e)] },
      LocalProbeFailureFirst: { patch: { probeFailureFirstAt: at(10) }, effects: (e) => [EMIT(e, false)] },
      RemoteProbeFailureFirst: { patch: { probeFailureFirstAt: at(10) }, effects: (e) => [LOG(e)] },
      LocalSustainedFailureCrossed: { patch: failed, effects: (e) => [EMIT(e, true), RT('Soaking', 'Failed', 10), ROLLBACK] },
      RemoteFailed: { patch: failed, effects: (e) => [LOG(e), RT('Soaking', 'Failed', 10)] },
      LocalConvergedReached: { patch: converged, effects: (e) => [EMIT(e, true), RT('Soaking', 'Converged', 360)] },
      RemoteConverged: { patch: converged, effects: (e) => [LOG(e), RT('Soaking', 'Converged', 360)] },
    };
  })(),
  Failed: (() => {
    const reverted = { state: 'Reverted', revertedAt: at(10), revertedTo: 'prior', currentClosure: 'prior' } as const;
    return {
      LocalRollbackCompleted: { patch: reverted, effects: (e) => [EMIT(e, true), RT('Failed', 'Reverted', 10)] },
      RemoteRollbackComplete: {
        patch: reverted,
        effects: (e) => [LOG(e), { kind: 'RemoteInsertQuarantine', channel: 'stable', closure: 'target-abc' }, RT('Failed', 'Reverted', 10)],
      },
    };
  })(),
};

const rows = HOST_STATES.flatMap((s) => EVENT_KINDS.map((k) => [s, k] as const));

describe('legality matrix, 7 states × 24 events', () => {
  it('has 168 cells of which 28 are legal', () => {
    expect(rows).toHaveLength(168);
    expect(Object.values(LEGAL).reduce((n, r) => n + Object.keys(r).length, 0)).toBe(28);
  });

  it.each(rows)('%s + %s', (s, k) => {
    const state = matrixState(s);
    const before = JSON.stringify(state);
    const event = matrixEvent(k);
    const r = step(state, event, policyRollback, at(10));
    const expected = LEGAL[s]?.[k];
    if (expected === undefined) {
      expect(r).toEqual(
        E.left({
          kind: 'IllegalForState',
          from: s,
          event: k,
          rolloutId: 'r1',
          hostname: 'h1',
          message: `event ${k} not legal from state ${s} (rollout r1, host h1)`,
        }),
      );
    } else {
      expect(r).toEqual(E.right({ state: { ...state, ...expected.patch, lastEventSeq: 1 }, effects: expected.effects(event) }));
    }
    expect(JSON.stringify(state)).toBe(before);
  });
});
