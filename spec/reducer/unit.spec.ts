// Ports of upstream's in-crate unit tests (reference §13.3): transitions/pending.rs,
// rehydration.rs and the agent reducer's probe filters and snapshot merge.
import * as E from 'fp-ts/Either';
import type { HostRolloutSnapshot } from '../../src/codecs/host-state';
import { HOST_STATES } from '../../src/codecs/scalars';
import { addSeconds } from '../../src/codecs/timestamp';
import { allEnforcePassing, failingEnforceProbes, mergeSnapshot, newPending, rehydrationEffects, step } from '../../src/reducer';
import { at, eventWithSeq, policyHalt, t0 } from '../support/fixtures';

const fresh = () => newPending('r1', 'h1', 'stable', 'abc123', t0, at(300));

describe('transitions/pending.rs', () => {
  test('local_activate_moves_to_activating_and_fires_switch', () => {
    const r = step(fresh(), eventWithSeq('LocalActivate', 1), policyHalt, at(10));
    if (E.isLeft(r)) throw new Error(r.left.message);
    expect(r.right.state).toMatchObject({ state: 'Activating', currentClosureAtDispatch: 'prior', dispatchAckedAt: at(10) });
    expect(r.right.effects.map((e) => e.kind)).toEqual(['RecordTransition', 'LocalEmitEvent', 'LocalFireSwitch']);
  });
  test('remote_dispatch_ack_appends_log_then_records_transition', () => {
    const r = step(fresh(), eventWithSeq('RemoteDispatchAck', 1), policyHalt, at(10));
    expect(E.isRight(r) && r.right.effects.map((e) => e.kind)).toEqual(['RemoteAppendEventLog', 'RecordTransition']);
  });
  test('activation_completed_illegal_from_pending', () => {
    const r = step(fresh(), eventWithSeq('LocalActivationCompleted', 1), policyHalt, at(10));
    expect(E.isLeft(r) && r.left.kind).toBe('IllegalForState');
  });
  test('seq_regression_rejected', () => {
    const r = step({ ...fresh(), lastEventSeq: 5 }, eventWithSeq('LocalActivate', 5), policyHalt, at(10));
    expect(r).toEqual(
      E.left({ kind: 'SeqRegression', got: 5, last: 5, rolloutId: 'r1', hostname: 'h1', message: 'event seq 5 is not > last_event_seq 5 (rollout r1, host h1)' }),
    );
  });
});

describe('rehydration.rs', () => {
  test('pending_has_no_rehydration_effects', () => {
    expect(rehydrationEffects({ ...fresh(), rolloutId: 'stable@r1' })).toEqual([]);
  });
  test.each(HOST_STATES.filter((s) => s !== 'Pending'))('%s_rehydrates_with_reset_probe_cache', (s) => {
    expect(rehydrationEffects({ ...fresh(), rolloutId: 'stable@r1', state: s })).toContainEqual({ kind: 'LocalResetProbeCache', rolloutId: 'stable@r1' });
  });
});

describe('agent runtime/reducer.rs helpers', () => {
  const rec = (status: 'pass' | 'fail', mode: 'enforce' | 'observe' | 'disabled') => ({ status, mode, lastObservedAt: at(10) });

  test('failing_enforce_filter_excludes_observe_disabled_and_passing', () => {
    expect(failingEnforceProbes({ a: rec('fail', 'observe'), b: rec('fail', 'disabled'), c: rec('pass', 'enforce'), d: rec('fail', 'enforce') })).toEqual(['d']);
  });
  test('all_enforce_pass_true_for_empty_map', () => {
    expect(allEnforcePassing({})).toBe(true);
  });
  test('all_enforce_pass_ignores_observe_and_disabled_failures', () => {
    expect(allEnforcePassing({ a: rec('fail', 'observe'), b: rec('fail', 'disabled'), c: rec('pass', 'enforce') })).toBe(true);
    expect(allEnforcePassing({ c: rec('fail', 'enforce') })).toBe(false);
  });

  const now = at(1000);
  const snapshot: HostRolloutSnapshot = {
    rolloutId: 'stable@r1',
    hostname: 'web-01',
    channel: 'stable',
    state: 'Soaking',
    targetClosure: 'target',
    currentClosureAtDispatch: 'prior',
    currentClosure: 'target',
    dispatchedAt: t0,
    dispatchAckedAt: at(1),
    activationStartedAt: at(2),
    activationCompletedAt: at(5),
    soakDueAt: at(300),
    lastEventSeq: 7,
  };

  test('cold_snapshot_merge_has_empty_probes_and_no_agent_local_timestamps', () => {
    const s = mergeSnapshot(snapshot);
    expect(s).toEqual({ ...snapshot, probes: {} });
    expect(s.probeFailureFirstAt).toBeUndefined();
    expect(s.probeObservedFirstAt).toBeUndefined();
  });
  test('warm_snapshot_merge_preserves_probe_failure_first_at_and_probes', () => {
    const existing = {
      ...newPending('stable@r1', 'self', 'stable', 'target', t0, at(300)),
      state: 'Activating' as const,
      probeFailureFirstAt: addSeconds(now, -90),
      probeObservedFirstAt: at(6),
      probes: { p: rec('fail', 'enforce') },
      lastEventSeq: 3,
    };
    const s = mergeSnapshot(snapshot, existing);
    expect(s).toMatchObject({ state: 'Soaking', lastEventSeq: 7, probeFailureFirstAt: addSeconds(now, -90), probeObservedFirstAt: at(6), hostname: 'web-01' });
    expect(s.probes).toEqual(existing.probes);
  });
});
