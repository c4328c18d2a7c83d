// The signed-intent guard and the snapshot rules, attack by attack
// (security review C1, C2, H1, M1): whatever a CP snapshot says, the agent
// reducer fires a switch only for the closure a verified dispatch named, and
// resumes only what it dispatched itself.
import type { HostRolloutSnapshot } from '../../src/codecs/host-state';
import {
  agentStep,
  initialAgentState,
  LIVE_RECORD_CAPACITY,
  SNAPSHOTS_PER_ANSWER_CAPACITY,
  type AgentEffect,
  type AgentReducerConfig,
  type AgentState,
  type ReducerInput,
} from '../../src/reducer';
import { SUSTAINED_FAILURE_THRESHOLD_SECS } from '../../src/reducer/tick';
import { manifestSet } from '../fakes/ports';
import { at, t0, verifiedDispatch } from '../support/fixtures';

const config: AgentReducerConfig = { sustainedFailureThresholdSecs: SUSTAINED_FAILURE_THRESHOLD_SECS, machineId: 'web-01' };
const SIGNED = 'signed-target';
const EVIL = 'evil-unsigned';
const PRIOR = 'prior-closure';

const snapshot = (over: Partial<HostRolloutSnapshot> = {}): HostRolloutSnapshot => ({
  rolloutId: 'stable@r1',
  hostname: 'web-01',
  channel: 'stable',
  state: 'Pending',
  targetClosure: EVIL,
  dispatchedAt: t0,
  soakDueAt: at(300),
  lastEventSeq: 0,
  ...over,
});
const boot = (...snapshots: HostRolloutSnapshot[]): ReducerInput => ({ kind: 'BootstrapHosts', snapshots });
const withPolicy = (s: AgentState = initialAgentState(), onHealthFailure: 'halt' | 'rollback-and-halt' = 'halt'): AgentState => ({ ...s, manifests: manifestSet(onHealthFailure) });

/** Runs inputs in order; returns the final state and every effect. */
function run(state: AgentState, inputs: readonly ReducerInput[]): { state: AgentState; effects: AgentEffect[] } {
  const effects: AgentEffect[] = [];
  let s = state;
  inputs.forEach((input, i) => {
    const t = agentStep(s, input, at(10 + i), config);
    s = t.state;
    effects.push(...t.effects);
  });
  return { state: s, effects };
}
const fired = (effects: readonly AgentEffect[]) =>
  effects.flatMap((e) => (e.kind === 'LocalFireSwitch' ? [`switch:${e.target}`] : e.kind === 'LocalFireRollbackTo' ? [`rollback:${e.closure}:${e.proof}`] : []));
const messages = (effects: readonly AgentEffect[], level: string) => effects.flatMap((e) => (e.kind === 'Log' && e.level === level ? [e.message] : []));

describe('C1: a snapshot cannot choose the closure a signed dispatch fires', () => {
  it('a Pending snapshot for the rollout, then the signed dispatch: the signed target is fired, the snapshot’s never', () => {
    const r = run(withPolicy(), [boot(snapshot({ soakDueAt: at(9_999), lastEventSeq: 4 })), verifiedDispatch('stable@r1', SIGNED, PRIOR)]);
    expect(fired(r.effects)).toEqual([`switch:${SIGNED}`]);
    // Rebuilt from the dispatch (the CP's soak deadline is not kept), its seq continued.
    expect(r.state.hosts['stable@r1']).toMatchObject({ state: 'Activating', targetClosure: SIGNED, soakDueAt: at(300), lastEventSeq: 5 });
    expect(messages(r.effects, 'error')).toContain('the control plane named another target than the signed manifest; the signed target wins');
  });

  it('held until the first policy: the snapshot in between changes nothing either', () => {
    const r = run(initialAgentState(), [verifiedDispatch('stable@r1', SIGNED, PRIOR), boot(snapshot()), { kind: 'ManifestSetUpdated', manifests: manifestSet() }]);
    expect(fired(r.effects)).toEqual([`switch:${SIGNED}`]);
  });

  it('a fire effect carries the intent it was verified against', () => {
    const d = verifiedDispatch('stable@r1', SIGNED, PRIOR);
    const r = run(withPolicy(), [d]);
    expect(r.effects.find((e) => e.kind === 'LocalFireSwitch')).toEqual({ kind: 'LocalFireSwitch', rolloutId: 'stable@r1', target: SIGNED, intent: d.intent });
    expect(r.state.intents['stable@r1']).toEqual(d.intent);
  });

  it('a dispatch whose event and intent disagree is refused whole', () => {
    const d = verifiedDispatch('stable@r1', SIGNED, PRIOR);
    const r = run(withPolicy(), [{ ...d, event: { ...d.event, targetClosure: EVIL } }]);
    expect(fired(r.effects)).toEqual([]);
    expect(r.state.hosts).toEqual({});
  });

  it('a LocalActivate that did not come through verification is refused', () => {
    const d = verifiedDispatch('stable@r1', SIGNED, PRIOR);
    const r = run(withPolicy(), [{ kind: 'HostEvent', rolloutId: 'stable@r1', event: d.event }]);
    expect(fired(r.effects)).toEqual([]);
    expect(r.state.hosts).toEqual({});
  });

  it('a later snapshot ahead of the record cannot change the closures of a record the agent dispatched', () => {
    const bound = run(withPolicy(), [verifiedDispatch('stable@r1', SIGNED, PRIOR)]);
    const r = run(bound.state, [boot(snapshot({ state: 'Activating', lastEventSeq: 9, targetClosure: EVIL, currentClosureAtDispatch: EVIL }))]);
    expect(r.state.hosts['stable@r1']).toMatchObject({ targetClosure: SIGNED, currentClosureAtDispatch: PRIOR, lastEventSeq: 9 });
    expect(messages(r.effects, 'error')).toEqual(['snapshot disagrees with the signed dispatch on closures; kept the agent’s']);
  });
});

describe('C2: resume after a restart acts only on what the agent dispatched itself', () => {
  it.each<[string, HostRolloutSnapshot]>([
    ['Activating', snapshot({ rolloutId: 'stable@bad', state: 'Activating', lastEventSeq: 2 })],
    ['Failed (a rollback owed)', snapshot({ rolloutId: 'stable@bad', state: 'Failed', currentClosureAtDispatch: EVIL, lastEventSeq: 3 })],
  ])('a %s record that only a snapshot describes fires nothing', (_name, snap) => {
    const own = run(withPolicy(), [verifiedDispatch('stable@r1', SIGNED, PRIOR)]).state;
    const restarted = initialAgentState(own.seqFloors, own.hosts, own.intents);
    const r = run(withPolicy(restarted, 'rollback-and-halt'), [boot(snap), { kind: 'ResumeInterrupted' }]);
    expect(fired(r.effects)).toEqual([`switch:${SIGNED}`]);
  });

  it('says why it does not resume a record it did not dispatch', () => {
    const r = run(withPolicy(), [boot(snapshot({ state: 'Activating', lastEventSeq: 2 })), { kind: 'ResumeInterrupted' }]);
    expect(fired(r.effects)).toEqual([]);
    expect(messages(r.effects, 'warn')).toEqual(['not resuming: this agent accepted no signed dispatch for the rollout (the record comes from the control plane)']);
  });

  it('its own interrupted switch is resumed with its intent; its own owed rollback as an own-record rollback', () => {
    const own = run(withPolicy(undefined, 'rollback-and-halt'), [verifiedDispatch('stable@r1', SIGNED, PRIOR)]).state;
    const failed = { ...own.hosts['stable@r1']!, rolloutId: 'stable@r2', state: 'Failed' as const, policyApplied: 'rollback-and-halt' as const };
    const state = { ...own, hosts: { ...own.hosts, 'stable@r2': failed }, intents: { ...own.intents, 'stable@r2': own.intents['stable@r1']! } };
    expect(fired(run(state, [{ kind: 'ResumeInterrupted' }]).effects)).toEqual([`switch:${SIGNED}`, `rollback:${PRIOR}:own-record`]);
  });
});

describe('rollbacks: how the target is known to have run', () => {
  it('to the closure the agent read at dispatch: own-record', () => {
    const s = run(withPolicy(undefined, 'rollback-and-halt'), [verifiedDispatch('stable@r1', SIGNED, PRIOR)]).state;
    const r = run(s, [{ kind: 'HostEvent', rolloutId: 'stable@r1', event: { kind: 'LocalActivationFailed', exitCode: 1, stderrTail: 'x', failedAt: at(6), seq: 0 } }]);
    expect(fired(r.effects)).toEqual([`rollback:${PRIOR}:own-record`]);
  });

  it('never to the failed target itself (the running system was unreadable at dispatch): previous-generation', () => {
    const d = verifiedDispatch('stable@r1', SIGNED, SIGNED);
    const { previousClosure, ...unread } = d.intent;
    void previousClosure;
    const s = run(withPolicy(undefined, 'rollback-and-halt'), [{ ...d, intent: unread }]).state;
    const r = run(s, [{ kind: 'HostEvent', rolloutId: 'stable@r1', event: { kind: 'LocalActivationFailed', exitCode: 1, stderrTail: 'x', failedAt: at(6), seq: 0 } }]);
    expect(fired(r.effects)).toEqual([`rollback:${SIGNED}:previous-generation`]);
  });

  it('to a closure only a snapshot named (a record the agent never dispatched): profile-history', () => {
    const s = run(withPolicy(undefined, 'rollback-and-halt'), [boot(snapshot({ state: 'Activating', currentClosureAtDispatch: 'old-vulnerable', lastEventSeq: 1 }))]).state;
    const r = run(s, [{ kind: 'HostEvent', rolloutId: 'stable@r1', event: { kind: 'LocalActivationFailed', exitCode: 1, stderrTail: 'x', failedAt: at(6), seq: 0 } }]);
    expect(r.effects.find((e) => e.kind === 'LocalFireRollbackTo')).toEqual({ kind: 'LocalFireRollbackTo', rolloutId: 'stable@r1', closure: 'old-vulnerable', failedTarget: EVIL, proof: 'profile-history' });
  });
});

describe('H1: snapshots addressed to another host', () => {
  it('are dropped, whatever their state, and logged', () => {
    const r = run(withPolicy(), [boot(snapshot({ hostname: 'web-02' }), snapshot({ rolloutId: 'stable@r2', hostname: 'web-02', state: 'Activating', lastEventSeq: 1 }))]);
    expect(r.state.hosts).toEqual({});
    expect(messages(r.effects, 'warn')).toEqual(['dropped snapshots addressed to another host']);
  });
});

describe('M1: a snapshot flood is bounded', () => {
  const flood = (n: number, prefix = 'f') => Array.from({ length: n }, (_, i) => snapshot({ rolloutId: `stable@${prefix}${i}` }));

  it(`takes at most ${SNAPSHOTS_PER_ANSWER_CAPACITY} snapshots from one answer and keeps at most ${LIVE_RECORD_CAPACITY} live records`, () => {
    const r = run(withPolicy(), [boot(...flood(10_000))]);
    expect(Object.keys(r.state.hosts)).toHaveLength(LIVE_RECORD_CAPACITY);
    expect(messages(r.effects, 'error')).toContain('too many snapshots in one answer; the rest were dropped');
  });

  it('never evicts a record the agent dispatched itself; a dispatch evicts CP-made records to make room', () => {
    const own = run(withPolicy(), [verifiedDispatch('stable@mine', SIGNED, PRIOR)]);
    const flooded = run(own.state, [boot(...flood(SNAPSHOTS_PER_ANSWER_CAPACITY, 'a')), boot(...flood(SNAPSHOTS_PER_ANSWER_CAPACITY, 'b'))]);
    expect(Object.keys(flooded.state.hosts)).toHaveLength(LIVE_RECORD_CAPACITY);
    expect(flooded.state.hosts['stable@mine']).toMatchObject({ targetClosure: SIGNED });
    const next = run(flooded.state, [verifiedDispatch('stable@next', SIGNED, PRIOR)]);
    expect(fired(next.effects)).toEqual([`switch:${SIGNED}`]);
    expect(Object.keys(next.state.hosts)).toHaveLength(LIVE_RECORD_CAPACITY);
    expect(next.state.hosts['stable@mine']).toBeDefined();
  });

  it('with only its own live records left, a snapshot for a new rollout is dropped', () => {
    let s = withPolicy();
    for (let i = 0; i < LIVE_RECORD_CAPACITY; i += 1) s = run(s, [verifiedDispatch(`stable@own${i}`, SIGNED, PRIOR)]).state;
    const r = run(s, [boot(snapshot({ rolloutId: 'stable@new' }))]);
    expect(r.state.hosts['stable@new']).toBeUndefined();
    expect(messages(r.effects, 'error')).toEqual(['snapshot dropped: live rollout records at capacity']);
  });
});

describe('confirming a closure is the reducer’s decision', () => {
  const hostEvent = (event: Extract<ReducerInput, { kind: 'HostEvent' }>['event']): ReducerInput => ({ kind: 'HostEvent', rolloutId: 'stable@r1', event });
  const completed = hostEvent({ kind: 'LocalActivationCompleted', observedCurrentClosure: SIGNED, exitCode: 0, completedAt: at(20), seq: 0 });
  const converged = (closure: string) => hostEvent({ kind: 'LocalConvergedReached', convergedAt: at(400), currentClosure: closure, seq: 0 });
  const confirmed = (effects: readonly AgentEffect[]) => effects.filter((e) => e.kind === 'ConfirmClosure');

  it('a record bound to its signed intent that converges confirms the signed closure, once', () => {
    const r = run(withPolicy(), [verifiedDispatch('stable@r1', SIGNED, PRIOR), completed, converged(SIGNED)]);
    expect(r.state.hosts['stable@r1']?.state).toBe('Converged');
    expect(confirmed(r.effects)).toEqual([{ kind: 'ConfirmClosure', rolloutId: 'stable@r1', closure: SIGNED, confirmedAt: at(400) }]);
    // a second convergence report changes nothing and confirms nothing
    expect(confirmed(run(r.state, [converged(SIGNED)]).effects)).toEqual([]);
  });

  it('a Converged record a CP snapshot made confirms nothing', () => {
    const r = run(withPolicy(), [boot(snapshot({ state: 'Soaking', targetClosure: EVIL, currentClosure: EVIL, lastEventSeq: 3 })), converged(EVIL)]);
    expect(confirmed(r.effects)).toEqual([]);
    expect(confirmed(run(withPolicy(), [boot(snapshot({ state: 'Converged', targetClosure: EVIL, lastEventSeq: 3 }))]).effects)).toEqual([]);
  });
});
