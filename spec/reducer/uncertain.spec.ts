// Each point reference/state-machine.md §15 marks UNCERTAIN, the reading this
// code follows, and why. Behavioural points are pinned by a test here.
import * as E from 'fp-ts/Either';
import { decodeWith } from '../../src/codecs/decode';
import { Effect } from '../../src/codecs/effects';
import { AgentEvent } from '../../src/codecs/events';
import type { HostRolloutState } from '../../src/codecs/host-state';
import { advanceTick, checkConvergence, step } from '../../src/reducer';
import { at, eventWithSeq, policyRollback, stateIn } from '../support/fixtures';

const ok = (r: ReturnType<typeof step>) => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

describe('UNCERTAIN points of the reference, decided', () => {
  // Newest revision wins: it is the one with the 7-state HostState that the traces come from.
  test('ActivationDeferred moves Activating to Deferred (newest revision), not stay-in-Activating (older)', () => {
    const r = ok(step(stateIn('Activating'), eventWithSeq('LocalActivationDeferred', 1), policyRollback, at(10)));
    expect(r.state.state).toBe('Deferred');
    expect(r.effects.map((e) => e.kind)).toEqual(['LocalEmitEvent', 'RecordTransition']);
  });

  // Upstream's code does this on purpose (Deferred rollback is an open design question there);
  // an agent that rolled back here would disagree with the CP mirror.
  test('Deferred → Failed sets no policyApplied and fires no rollback, even under rollback-and-halt', () => {
    const r = ok(step({ ...stateIn('Deferred'), currentClosureAtDispatch: 'prior' }, eventWithSeq('LocalActivationFailed', 1), policyRollback, at(10)));
    expect(r.state.state).toBe('Failed');
    expect(r.state.policyApplied).toBeUndefined();
    expect(r.effects.map((e) => e.kind)).not.toContain('LocalFireRollbackTo');
  });

  // Upstream's agent passes LocalActivationDeferred to step() with seq 0 (a defect: always
  // SeqRegression). step() itself is upstream's; the agent reducer (src/streams) assigns a
  // real seq to every Local event, Deferred included — see docs/compatibility.md.
  test('step() accepts LocalActivationDeferred with the next seq; seq 0 is a SeqRegression as upstream', () => {
    expect(E.isRight(step(stateIn('Activating'), eventWithSeq('LocalActivationDeferred', 1), policyRollback, at(10)))).toBe(true);
    const r = step(stateIn('Activating'), eventWithSeq('LocalActivationDeferred', 0), policyRollback, at(10));
    expect(E.isLeft(r) && r.left.kind).toBe('SeqRegression');
  });

  // Code over RFC: the CP mirror runs the same code, and a per-episode anchor would make the
  // agent and the CP disagree about when a host failed.
  test('probeFailureFirstAt is first-write-wins and survives the probe recovering', () => {
    let s: HostRolloutState = stateIn('Soaking');
    s = ok(step(s, { kind: 'LocalProbeFailureFirst', probeName: 'p', mode: 'enforce', firstFailedAt: at(10), seq: 1 }, policyRollback, at(10))).state;
    s = ok(step(s, { kind: 'LocalProbeResult', probeName: 'p', mode: 'enforce', status: 'pass', observedAt: at(20), seq: 2 }, policyRollback, at(20))).state;
    s = ok(step(s, { kind: 'LocalProbeFailureFirst', probeName: 'p', mode: 'enforce', firstFailedAt: at(600), seq: 3 }, policyRollback, at(600))).state;
    expect(s.probeFailureFirstAt).toBe(at(10));
    s = ok(step(s, { kind: 'LocalProbeResult', probeName: 'p', mode: 'enforce', status: 'fail', observedAt: at(600), seq: 4 }, policyRollback, at(600))).state;
    const [tick] = advanceTick([s], at(601), () => 'halt');
    expect(tick?.event).toMatchObject({ kind: 'LocalSustainedFailureCrossed', sustainedDurationSecs: 591 });
  });

  // Hash-map order upstream cannot be matched byte for byte; sorted is deterministic and the CP
  // treats the list as a set.
  test('failingProbes are sorted by code point', () => {
    const failing = (n: string) => [n, { status: 'fail', mode: 'enforce', lastObservedAt: at(3) }] as const;
    const s = { ...stateIn('Soaking'), probeFailureFirstAt: at(3), probes: Object.fromEntries(['zeta', 'Alpha', 'beta'].map(failing)) };
    const [tick] = advanceTick([s], at(200), () => 'halt');
    expect(tick?.event.kind === 'LocalSustainedFailureCrossed' && tick.event.failingProbes).toEqual(['Alpha', 'beta', 'zeta']);
  });

  // Neither the reducer nor upstream's pass gate requires a first observation.
  test('an empty probe map converges at the soak deadline (probeObservedFirstAt not required)', () => {
    expect(checkConvergence(stateIn('Soaking'), at(300))).toBeDefined();
  });

  // Older producers omit effectiveMode on sub-results; upstream defaults it to enforce.
  test('a sub-result without effectiveMode reads as enforce', () => {
    const r = decodeWith(AgentEvent, {
      kind: 'ProbeResult',
      probeName: 'e',
      status: 'fail',
      observedAt: '2026-05-16T01:00:10Z',
      subResults: [{ controlId: 'c', status: 'fail', framework: 'f' }],
      seq: 1,
    });
    expect(E.isRight(r) && r.right.kind === 'ProbeResult' && r.right.subResults?.[0]?.effectiveMode).toBe('enforce');
  });

  // The header says 5 CP-only effects; the code has 4 (quarantine clearing was removed).
  test('exactly four Remote* effects exist', () => {
    expect(Object.keys(Effect.members).filter((k) => k.startsWith('Remote'))).toEqual([
      'RemoteQueueDispatch',
      'RemoteInsertQuarantine',
      'RemoteOpenRolloutRecord',
      'RemoteAppendEventLog',
    ]);
  });
});

// Points with no behaviour to pin at this layer, and where they are decided:
// - RFC numbering differences: documentation only.
// - Sustained-failure threshold 120 s (code) vs 60 s (RFC): default 120, a parameter
//   (spec/reducer/tick.spec.ts "defaults to upstream agent threshold", "takes the threshold").
// - Legacy 9-state names: refused with a message naming them (spec/codecs/bad-input.spec.ts).
// - Deferred/topology never exercised by upstream's invariant tests: the 7×24 matrix
//   (spec/reducer/matrix.spec.ts) pins the handler code's reading, and the traces agree.
// - Snapshots on every heartbeat vs boot only: mergeSnapshot handles both; a warm merge keeps
//   the failure anchor (spec/reducer/unit.spec.ts).
// - CP event_log payload shapes: the CP's concern; the development CP (step 7) decides them.
