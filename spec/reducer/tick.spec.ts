// The advance-tick gates (reference §9.3) as pure functions of (record, now).
import type { HostRolloutState } from '../../src/codecs/host-state';
import { addSeconds } from '../../src/codecs/timestamp';
import { advanceTick, checkConvergence, checkSustainedFailure, SUSTAINED_FAILURE_THRESHOLD_SECS } from '../../src/reducer';
import { at, stateIn } from '../support/fixtures';
import { ts } from '../support/decode';

const failing = { status: 'fail', mode: 'enforce', lastObservedAt: at(3) } as const;
const passing = { status: 'pass', mode: 'enforce', lastObservedAt: at(3), lastPassAt: at(3) } as const;

// Worked example of the reference: completed at T0, nginx fails first at T0+3 s.
const soakingFailing = (anchor = at(3)): HostRolloutState => ({ ...stateIn('Soaking'), probeFailureFirstAt: anchor, probes: { nginx: failing } });

describe('fail gate (LocalSustainedFailureCrossed)', () => {
  it('defaults to upstream agent threshold of 120 s', () => {
    expect(SUSTAINED_FAILURE_THRESHOLD_SECS).toBe(120);
  });

  it.each([
    [122, undefined],
    [123, 120],
    [128, 125],
  ])('at T0+%i s fires with duration %p', (secs, duration) => {
    const e = checkSustainedFailure(soakingFailing(), at(secs), 'rollback-and-halt');
    if (duration === undefined) expect(e).toBeUndefined();
    else expect(e).toEqual({ kind: 'LocalSustainedFailureCrossed', failedAt: at(secs), sustainedDurationSecs: duration, failingProbes: ['nginx'], policyApplied: 'rollback-and-halt', seq: 0 });
  });

  it('truncates elapsed time toward zero at nanosecond precision', () => {
    const anchor = ts('2026-05-16T01:00:03.000000001Z');
    expect(checkSustainedFailure(soakingFailing(anchor), at(123), 'halt')).toBeUndefined();
    expect(checkSustainedFailure(soakingFailing(anchor), ts('2026-05-16T01:02:03.000000001Z'), 'halt')?.sustainedDurationSecs).toBe(120);
  });

  it('never fires for an anchor in the future (clock stepped back)', () => {
    expect(checkSustainedFailure(soakingFailing(at(500)), at(100), 'halt', 0)).toBeUndefined();
  });

  it('needs a failing enforce probe now, whatever mode set the anchor', () => {
    const observeOnly = { ...soakingFailing(), probes: { ev: { ...failing, mode: 'observe' as const } } };
    expect(checkSustainedFailure(observeOnly, at(600), 'halt')).toBeUndefined();
    const recovered = { ...soakingFailing(), probes: { nginx: passing } };
    expect(checkSustainedFailure(recovered, at(600), 'halt')).toBeUndefined();
  });

  it('fires at once when a probe fails again long after the first anchor (anchor is never cleared)', () => {
    expect(checkSustainedFailure(soakingFailing(), at(603), 'halt')?.sustainedDurationSecs).toBe(600);
  });

  it('only in Soaking', () => {
    for (const s of ['Pending', 'Activating', 'Deferred', 'Converged', 'Failed', 'Reverted'] as const) {
      expect(checkSustainedFailure({ ...soakingFailing(), state: s }, at(600), 'halt')).toBeUndefined();
    }
  });

  it('takes the threshold as a parameter', () => {
    expect(checkSustainedFailure(soakingFailing(), at(63), 'halt', 60)?.sustainedDurationSecs).toBe(60);
    expect(checkSustainedFailure(soakingFailing(), at(62), 'halt', 60)).toBeUndefined();
  });

  it('is not suppressed by a passed soak deadline', () => {
    expect(checkSustainedFailure(soakingFailing(), at(3600), 'halt')).toBeDefined();
  });
});

describe('pass gate (LocalConvergedReached)', () => {
  const soaking = stateIn('Soaking'); // soakDueAt = T0+300 s, current = target

  it('fires at soakDueAt exactly, not a nanosecond before', () => {
    expect(checkConvergence(soaking, addSeconds(at(300), -1e-9))).toBeUndefined();
    expect(checkConvergence(soaking, at(300))).toEqual({ kind: 'LocalConvergedReached', convergedAt: at(300), currentClosure: 'target-abc', seq: 0 });
  });
  it('needs current == target', () => {
    expect(checkConvergence({ ...soaking, currentClosure: 'other' }, at(400))).toBeUndefined();
    const { currentClosure: _c, ...noCurrent } = soaking;
    expect(checkConvergence(noCurrent, at(400))).toBeUndefined();
  });
  it('needs every enforce probe passing; observe failures do not block', () => {
    expect(checkConvergence({ ...soaking, probes: { a: failing } }, at(400))).toBeUndefined();
    expect(checkConvergence({ ...soaking, probes: { a: { ...failing, mode: 'observe' }, b: passing } }, at(400))).toBeDefined();
  });
  it('needs a soak deadline and the Soaking state', () => {
    const { soakDueAt: _d, ...noDue } = soaking;
    expect(checkConvergence(noDue, at(400))).toBeUndefined();
    expect(checkConvergence({ ...soaking, state: 'Deferred' }, at(400))).toBeUndefined();
  });
});

describe('advanceTick', () => {
  it('emits every fail-gate event before every pass-gate event, from one snapshot', () => {
    const converging = { ...stateIn('Soaking'), rolloutId: 'a' };
    const failingRec = { ...soakingFailing(), rolloutId: 'b' };
    const events = advanceTick([converging, failingRec], at(400), () => 'rollback-and-halt');
    expect(events.map((e) => [e.rolloutId, e.event.kind])).toEqual([
      ['b', 'LocalSustainedFailureCrossed'],
      ['a', 'LocalConvergedReached'],
    ]);
  });
  it('falls back to halt when the policy cannot be resolved', () => {
    const [e] = advanceTick([soakingFailing()], at(400), () => undefined);
    expect(e?.event.kind === 'LocalSustainedFailureCrossed' && e.event.policyApplied).toBe('halt');
  });
});
