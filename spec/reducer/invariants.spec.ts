// Port of upstream crates/nixfleet-state-machine/tests/invariants.rs
// (reference §13.1), one spec per upstream test, named after it.
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import type { EventKind } from '../../src/codecs/events';
import type { HostRolloutState } from '../../src/codecs/host-state';
import type { HostState } from '../../src/codecs/scalars';
import { invariant, INVARIANT_BEFORE_SOAK_DUE, INVARIANT_ENFORCE_NOT_PASS, INVARIANT_WRONG_CLOSURE, step } from '../../src/reducer';
import { at, CATALOGUE_KINDS, CATALOGUE_STATES, eventWithSeq, policyHalt, policyRollback, stateIn } from '../support/fixtures';

const LEGAL: Record<string, readonly EventKind[]> = {
  Pending: ['LocalActivate', 'RemoteDispatchAck'],
  Activating: [
    'LocalActivationStarted',
    'RemoteActivationStarted',
    'LocalActivationCompleted',
    'RemoteActivationCompleted',
    'LocalActivationFailed',
    'RemoteActivationFailed',
  ],
  Soaking: [
    'LocalProbeObservedFirst',
    'RemoteProbeObservedFirst',
    'LocalProbeResult',
    'RemoteProbeResult',
    'LocalProbeFailureFirst',
    'RemoteProbeFailureFirst',
    'LocalSustainedFailureCrossed',
    'RemoteFailed',
    'LocalConvergedReached',
    'RemoteConverged',
  ],
  Failed: ['LocalRollbackCompleted', 'RemoteRollbackComplete'],
};
const isLegal = (s: HostState, k: EventKind) => (LEGAL[s] ?? []).includes(k);
const errKind = (r: ReturnType<typeof step>) => (E.isLeft(r) ? r.left.kind : undefined);

const soakingWith = (probes: HostRolloutState['probes']): HostRolloutState => ({ ...stateIn('Soaking'), probes });

describe('tests/invariants.rs', () => {
  test('every_illegal_state_event_pair_returns_transition_error', () => {
    let legal = 0;
    for (const s of CATALOGUE_STATES) {
      for (const k of CATALOGUE_KINDS) {
        const r = step(stateIn(s), eventWithSeq(k, 1), policyHalt, at(10));
        if (isLegal(s, k)) {
          legal += 1;
          expect([s, k, errKind(r)]).not.toEqual([s, k, 'IllegalForState']);
        } else {
          expect([s, k, errKind(r)]).toEqual([s, k, 'IllegalForState']);
        }
      }
    }
    expect(legal).toBe(20);
  });

  test('seq_regression_rejected_on_any_state', () => {
    for (const s of ['Pending', 'Activating', 'Soaking', 'Failed'] as const) {
      const state = { ...stateIn(s), lastEventSeq: 10 };
      for (const k of LEGAL[s] ?? []) {
        for (const seq of [10, 5]) {
          const r = step(state, eventWithSeq(k, seq), policyHalt, at(10));
          expect([s, k, seq, errKind(r)]).toEqual([s, k, seq, 'SeqRegression']);
        }
      }
    }
  });

  test('converged_with_wrong_current_closure_rejected', () => {
    const r = step(stateIn('Soaking'), { kind: 'LocalConvergedReached', convergedAt: at(360), currentClosure: 'different-from-target', seq: 1 }, policyHalt, at(360));
    expect(r).toEqual(E.left(invariant(INVARIANT_WRONG_CLOSURE)));
  });

  test('converged_before_soak_due_at_rejected', () => {
    const r = step(stateIn('Soaking'), { kind: 'LocalConvergedReached', convergedAt: at(60), currentClosure: 'target-abc', seq: 1 }, policyHalt, at(60));
    expect(r).toEqual(E.left(invariant(INVARIANT_BEFORE_SOAK_DUE)));
  });

  test('converged_with_failing_observe_probe_accepted', () => {
    const state = soakingWith({
      'nginx-version': { status: 'pass', mode: 'enforce', lastObservedAt: at(60), lastPassAt: at(60) },
      'evidence-nis2': { status: 'fail', mode: 'observe', lastObservedAt: at(60), failureReason: 'x' },
    });
    const r = step(state, { kind: 'LocalConvergedReached', convergedAt: at(360), currentClosure: 'target-abc', seq: 1 }, policyHalt, at(360));
    expect(E.isRight(r) && r.right.state.state).toBe('Converged');
  });

  test('converged_with_failing_enforce_probe_rejected', () => {
    const state = soakingWith({ 'nginx-version': { status: 'fail', mode: 'enforce', lastObservedAt: at(60) } });
    const r = step(state, { kind: 'LocalConvergedReached', convergedAt: at(360), currentClosure: 'target-abc', seq: 1 }, policyHalt, at(360));
    expect(r).toEqual(E.left(invariant(INVARIANT_ENFORCE_NOT_PASS)));
  });

  test('step_is_deterministic', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 999 }), (seq) => {
        const e = eventWithSeq('LocalActivate', seq);
        const a = step(stateIn('Pending'), e, policyHalt, at(10));
        const b = step(stateIn('Pending'), e, policyHalt, at(10));
        expect(a).toEqual(b);
      }),
      { numRuns: 1000 },
    );
  });

  test('converged_implies_current_eq_target', () => {
    fc.assert(
      fc.property(fc.constantFrom('target-abc', 'wrong', 'also-wrong'), (closure) => {
        const r = step(stateIn('Soaking'), { kind: 'LocalConvergedReached', convergedAt: at(360), currentClosure: closure, seq: 1 }, policyHalt, at(360));
        if (E.isRight(r) && r.right.state.state === 'Converged') expect(r.right.state.currentClosure).toBe('target-abc');
      }),
      { numRuns: 1000 },
    );
  });

  test('terminal_states_reject_all_events', () => {
    fc.assert(
      fc.property(fc.constantFrom<HostState>('Converged', 'Reverted'), fc.constantFrom(...CATALOGUE_KINDS), fc.integer({ min: 1, max: 1_000_000 }), (s, k, seq) => {
        expect(errKind(step(stateIn(s), eventWithSeq(k, seq), policyHalt, at(10)))).toBe('IllegalForState');
      }),
      { numRuns: 1000 },
    );
  });

  test('last_event_seq_advances_on_success', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (seq) => {
        const r = step(stateIn('Pending'), eventWithSeq('LocalActivate', seq), policyHalt, at(10));
        expect(E.isRight(r) && r.right.state.lastEventSeq).toBe(seq);
      }),
      { numRuns: 1000 },
    );
  });

  test('activation_completed_emits_reset_probe_cache_effect', () => {
    const r = step(stateIn('Activating'), eventWithSeq('LocalActivationCompleted', 1), policyHalt, at(10));
    expect(E.isRight(r) && r.right.effects).toContainEqual({ kind: 'LocalResetProbeCache', rolloutId: 'r1' });
  });

  test('rollback_complete_emits_quarantine_on_remote_side', () => {
    const r = step(stateIn('Failed'), eventWithSeq('RemoteRollbackComplete', 1), policyRollback, at(10));
    expect(E.isRight(r) && r.right.effects).toContainEqual({ kind: 'RemoteInsertQuarantine', channel: 'stable', closure: 'target-abc' });
  });
});
