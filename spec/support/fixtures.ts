// Fixtures shared by the reducer specs, after upstream's tests/invariants.rs
// (`state_in`, the event catalogue) and tests/scenarios.rs (reference §13).
import type { Event, EventKind } from '../../src/codecs/events';
import type { HostRolloutState } from '../../src/codecs/host-state';
import type { RolloutPolicy } from '../../src/codecs/policy';
import type { HostState } from '../../src/codecs/scalars';
import { addSeconds, type Timestamp } from '../../src/codecs/timestamp';
import { newPending, type DispatchInput } from '../../src/reducer';
import { ts } from './decode';

export const t0 = ts('2026-05-16T01:00:00Z');
export const at = (secs: number) => addSeconds(t0, secs);

export const policy = (onHealthFailure: RolloutPolicy['onHealthFailure']): RolloutPolicy => ({
  strategy: 'all-at-once',
  waves: [],
  healthGate: {},
  onHealthFailure,
});
export const policyHalt = policy('halt');
export const policyRollback = policy('rollback-and-halt');

/** upstream `state_in(S)`: a new_pending record patched to look like state S. */
export function stateIn(s: HostState): HostRolloutState {
  const base = newPending('r1', 'h1', 'stable', 'target-abc', t0, at(300));
  switch (s) {
    case 'Pending':
    case 'Activating':
    case 'Deferred':
      return { ...base, state: s };
    case 'Soaking':
      return { ...base, state: s, currentClosure: 'target-abc', activationCompletedAt: at(5) };
    case 'Converged':
      return { ...base, state: s, currentClosure: 'target-abc', activationCompletedAt: at(5), convergedAt: at(360) };
    case 'Failed':
      return { ...base, state: s, failedAt: at(125), currentClosureAtDispatch: 'prior-closure' };
    case 'Reverted':
      return {
        ...base,
        state: s,
        failedAt: at(125),
        currentClosureAtDispatch: 'prior-closure',
        revertedAt: at(135),
        revertedTo: 'prior-closure',
        currentClosure: 'prior-closure',
      };
  }
}

/** upstream `event_with_seq(name, seq)`: every event at t0+10 s. */
export function eventWithSeq(kind: EventKind, seq: number, when = at(10)): Event {
  switch (kind) {
    case 'LocalActivate':
      return { kind, currentClosureAtDispatch: 'prior', targetClosure: 'target-abc', receivedAt: when, soakDueAt: at(300), seq };
    case 'RemoteDispatchAck':
      return { kind, currentClosureAtDispatch: 'prior', receivedAt: when, seq };
    case 'LocalActivationStarted':
    case 'RemoteActivationStarted':
      return { kind, startedAt: when, switchMethod: 'switch-to-configuration', seq };
    case 'LocalActivationCompleted':
    case 'RemoteActivationCompleted':
      return { kind, observedCurrentClosure: 'target-abc', exitCode: 0, completedAt: when, seq };
    case 'LocalActivationDeferred':
    case 'RemoteActivationDeferred':
      return { kind, component: 'systemd', deferredAt: when, seq };
    case 'LocalActivationFailed':
    case 'RemoteActivationFailed':
      return { kind, exitCode: 1, stderrTail: 'boom', failedAt: when, seq };
    case 'LocalProbeTopologyDeclared':
    case 'RemoteProbeTopologyDeclared':
      return { kind, probes: [{ probeName: 'p', kind: 'http', mode: 'enforce' }], declaredAt: when, seq };
    case 'LocalProbeObservedFirst':
    case 'RemoteProbeObservedFirst':
      return { kind, probeName: 'p', mode: 'enforce', observedAt: when, seq };
    case 'LocalProbeResult':
    case 'RemoteProbeResult':
      return { kind, probeName: 'p', mode: 'enforce', status: 'pass', observedAt: when, seq };
    case 'LocalProbeFailureFirst':
    case 'RemoteProbeFailureFirst':
      return { kind, probeName: 'p', mode: 'enforce', firstFailedAt: when, seq };
    case 'LocalSustainedFailureCrossed':
    case 'RemoteFailed':
      return { kind, failedAt: when, sustainedDurationSecs: 60, failingProbes: ['p'], policyApplied: 'halt', seq };
    case 'LocalRollbackCompleted':
    case 'RemoteRollbackComplete':
      return { kind, revertedToClosure: 'prior', exitCode: 0, completedAt: when, seq };
    case 'LocalConvergedReached':
    case 'RemoteConverged':
      return { kind, convergedAt: when, currentClosure: 'target-abc', seq };
  }
}

/** The catalogue of tests/invariants.rs: 20 kinds (no ActivationDeferred, no ProbeTopologyDeclared). */
export const CATALOGUE_KINDS: readonly EventKind[] = [
  'LocalActivate',
  'RemoteDispatchAck',
  'LocalActivationStarted',
  'RemoteActivationStarted',
  'LocalActivationCompleted',
  'RemoteActivationCompleted',
  'LocalActivationFailed',
  'RemoteActivationFailed',
  'LocalProbeObservedFirst',
  'RemoteProbeObservedFirst',
  'LocalProbeResult',
  'RemoteProbeResult',
  'LocalProbeFailureFirst',
  'RemoteProbeFailureFirst',
  'LocalSustainedFailureCrossed',
  'RemoteFailed',
  'LocalRollbackCompleted',
  'RemoteRollbackComplete',
  'LocalConvergedReached',
  'RemoteConverged',
];
/** The 6 states of the upstream catalogue (no Deferred). */
export const CATALOGUE_STATES: readonly HostState[] = ['Pending', 'Activating', 'Soaking', 'Converged', 'Failed', 'Reverted'];

/** The tests/scenarios.rs `pending()` record. */
export const newPendingFixture = () => newPending('r1', 'web-01', 'stable', 'target-closure-abc', t0, at(300));

/** A dispatch as the longpoll hands it over once verified: the LocalActivate and the signed intent it binds. */
export function verifiedDispatch(rolloutId: string, target: string, prior: string, when: Timestamp = at(1), soakDueAt: Timestamp = at(300)): DispatchInput {
  return {
    kind: 'VerifiedDispatch',
    rolloutId,
    event: { kind: 'LocalActivate', currentClosureAtDispatch: prior, targetClosure: target, receivedAt: when, soakDueAt, seq: 0 },
    intent: { targetClosure: target, previousClosure: prior, signedAt: t0 },
  };
}
