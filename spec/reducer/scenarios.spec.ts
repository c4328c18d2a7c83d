// Port of upstream crates/nixfleet-state-machine/tests/scenarios.rs
// (reference §13.2), one spec per upstream test, named after it.
import * as E from 'fp-ts/Either';
import type { Effect } from '../../src/codecs/effects';
import type { Event } from '../../src/codecs/events';
import type { HostRolloutState } from '../../src/codecs/host-state';
import type { RolloutPolicy } from '../../src/codecs/policy';
import { newPending, step, type Transition } from '../../src/reducer';
import { at, policyHalt, policyRollback, t0 } from '../support/fixtures';

const pending = () => newPending('r1', 'web-01', 'stable', 'target-closure-abc', t0, at(300));
const activate = (ccad: string): Event => ({ kind: 'LocalActivate', currentClosureAtDispatch: ccad, targetClosure: 'target', receivedAt: at(1), soakDueAt: at(300), seq: 1 });
const complete: Event = { kind: 'LocalActivationCompleted', observedCurrentClosure: 'target-closure-abc', exitCode: 0, completedAt: at(5), seq: 2 };

/** Run events in order; every step must succeed. Returns each step's transition. */
function run(policy: RolloutPolicy, events: Event[], from: HostRolloutState = pending()): Transition[] {
  const out: Transition[] = [];
  let s = from;
  for (const e of events) {
    const r = step(s, e, policy, at(0));
    if (E.isLeft(r)) throw new Error(r.left.message);
    out.push(r.right);
    s = r.right.state;
  }
  return out;
}
const last = <T>(xs: T[]): T => xs[xs.length - 1] as T;
const kinds = (effects: readonly Effect[]) => effects.map((e) => e.kind);

describe('tests/scenarios.rs', () => {
  test('happy_path_pending_to_converged', () => {
    const steps = run(policyHalt, [activate('prior')]);
    expect(last(steps).state.state).toBe('Activating');
    const soaking = run(policyHalt, [complete], last(steps).state);
    expect(last(soaking).state).toMatchObject({ state: 'Soaking', currentClosure: 'target-closure-abc' });
    const done = run(policyHalt, [{ kind: 'LocalConvergedReached', convergedAt: at(360), currentClosure: 'target-closure-abc', seq: 3 }], last(soaking).state);
    expect(last(done).state.state).toBe('Converged');
    expect(last(done).effects).toContainEqual(expect.objectContaining({ kind: 'RecordTransition', to: 'Converged' }));
  });

  test('sustained_failure_rollback_path', () => {
    const steps = run(policyRollback, [
      activate('prior-closure'),
      complete,
      { kind: 'LocalSustainedFailureCrossed', failedAt: at(125), sustainedDurationSecs: 60, failingProbes: ['nginx-version'], policyApplied: 'rollback-and-halt', seq: 3 },
      { kind: 'LocalRollbackCompleted', revertedToClosure: 'prior-closure', exitCode: 0, completedAt: at(135), seq: 4 },
    ]);
    const failed = steps[2] as Transition;
    expect(failed.state).toMatchObject({ state: 'Failed', policyApplied: 'rollback-and-halt' });
    expect(failed.effects).toContainEqual({ kind: 'LocalFireRollbackTo', rolloutId: 'r1', closure: 'prior-closure' });
    expect(last(steps).state).toMatchObject({ state: 'Reverted', revertedTo: 'prior-closure' });
  });

  test('sustained_failure_halt_only_does_not_fire_rollback', () => {
    const steps = run(policyHalt, [
      activate('prior'),
      complete,
      { kind: 'LocalSustainedFailureCrossed', failedAt: at(125), sustainedDurationSecs: 60, failingProbes: ['nginx-version'], policyApplied: 'halt', seq: 3 },
    ]);
    expect(last(steps).state.state).toBe('Failed');
    expect(kinds(last(steps).effects)).not.toContain('LocalFireRollbackTo');
  });

  test('converged_invariant_violation_rejected', () => {
    const s = last(run(policyHalt, [activate('prior'), complete])).state;
    const r = step(s, { kind: 'LocalConvergedReached', convergedAt: at(360), currentClosure: 'wrong-closure', seq: 3 }, policyHalt, at(360));
    expect(E.isLeft(r) && r.left.kind).toBe('Invariant');
  });

  test('activation_failure_rollback_and_halt_fires_rollback_immediately', () => {
    const steps = run(policyRollback, [activate('prior-closure'), { kind: 'LocalActivationFailed', exitCode: 1, stderrTail: 'switch failed', failedAt: at(5), seq: 2 }]);
    expect(last(steps).state.state).toBe('Failed');
    expect(last(steps).effects).toContainEqual({ kind: 'LocalFireRollbackTo', rolloutId: 'r1', closure: 'prior-closure' });
  });

  test('probe_result_updates_map_without_state_change', () => {
    const steps = run(policyHalt, [activate('prior'), complete]);
    expect(last(steps).state.probes).toEqual({});
    const r = run(policyHalt, [{ kind: 'LocalProbeResult', probeName: 'nginx', mode: 'enforce', status: 'pass', observedAt: at(10), seq: 3 }], last(steps).state);
    expect(last(r).state.state).toBe('Soaking');
    expect(Object.keys(last(r).state.probes)).toHaveLength(1);
    expect(last(r).effects).toContainEqual(expect.objectContaining({ kind: 'LocalEmitEvent', payload: expect.objectContaining({ kind: 'ProbeResult' }) }));
  });

  test('local_activation_deferred_transitions_to_deferred_and_emits_outbound', () => {
    const steps = run(policyHalt, [activate('prior'), { kind: 'LocalActivationDeferred', component: 'systemd', deferredAt: at(2), seq: 2 }]);
    const { state, effects } = last(steps);
    expect(state.state).toBe('Deferred');
    expect(state.lastEventSeq).toBe(2);
    expect(state.currentClosure).toBeUndefined();
    expect(state.activationCompletedAt).toBeUndefined();
    expect(effects).toContainEqual({ kind: 'LocalEmitEvent', rolloutId: 'r1', payload: { kind: 'ActivationDeferred', component: 'systemd', deferredAt: at(2), seq: 2 }, durable: true });
    expect(effects).toContainEqual(expect.objectContaining({ kind: 'RecordTransition', to: 'Deferred' }));
  });

  test('remote_activation_deferred_transitions_to_deferred_and_appends_event_log', () => {
    const steps = run(policyHalt, [
      { kind: 'RemoteDispatchAck', currentClosureAtDispatch: 'prior', receivedAt: at(1), seq: 1 },
      { kind: 'RemoteActivationDeferred', component: 'dbus', deferredAt: at(2), seq: 2 },
    ]);
    const { state, effects } = last(steps);
    expect(state).toMatchObject({ state: 'Deferred', lastEventSeq: 2 });
    expect(state.currentClosure).toBeUndefined();
    expect(state.activationCompletedAt).toBeUndefined();
    expect(effects).toContainEqual({ kind: 'RemoteAppendEventLog', host: 'web-01', rolloutId: 'r1', payload: { kind: 'ActivationDeferred', component: 'dbus', deferredAt: at(2), seq: 2 } });
  });

  test('deferred_then_synthesized_completion_advances_to_soaking', () => {
    const steps = run(policyHalt, [
      { kind: 'RemoteDispatchAck', currentClosureAtDispatch: 'prior', receivedAt: at(1), seq: 1 },
      { kind: 'RemoteActivationDeferred', component: 'kernel', deferredAt: at(2), seq: 2 },
      { kind: 'RemoteActivationCompleted', observedCurrentClosure: 'target-closure-abc', exitCode: 0, completedAt: at(120), seq: 3 },
    ]);
    expect(last(steps).state).toMatchObject({ state: 'Soaking', currentClosure: 'target-closure-abc', activationCompletedAt: at(120) });
  });

  test('local_probe_result_threads_sub_results_to_outbound_event', () => {
    const subs = [
      { controlId: 'encryption-at-rest', status: 'fail', framework: 'nis2-essential', article: '21(h)', effectiveMode: 'observe', overrideReason: 'Q2 audit window: observe-mode default' },
      { controlId: 'access-control', status: 'pass', framework: 'nis2-essential', article: '21(i)', effectiveMode: 'enforce' },
    ] as const;
    const s = last(run(policyHalt, [activate('prior'), complete])).state;
    const r = run(
      policyHalt,
      [{ kind: 'LocalProbeResult', probeName: 'evidence-nis2-essential', mode: 'enforce', status: 'fail', observedAt: at(10), failureReason: 'encryption-at-rest failed', subResults: [...subs], seq: 3 }],
      s,
    );
    const emitted = last(r).effects.find((e) => e.kind === 'LocalEmitEvent');
    expect(emitted?.kind === 'LocalEmitEvent' && emitted.payload.kind === 'ProbeResult' && emitted.payload.subResults).toEqual(subs);
  });
});
