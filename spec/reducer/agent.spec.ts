// The agent reducer around step(): seq assignment, held dispatches, and the
// snapshot rules (reference agent-runtime.md §5), table by table.
import type { HostRolloutSnapshot } from '../../src/codecs/host-state';
import { agentStep, HELD_EVENT_CAPACITY, initialAgentState, type AgentEffect, type AgentState } from '../../src/reducer';
import { manifestSet } from '../fakes/ports';
import { at, t0, verifiedDispatch } from '../support/fixtures';

const kinds = (effects: readonly AgentEffect[]) => effects.filter((e) => e.kind !== 'Log').map((e) => e.kind);
const snapshot = (over: Partial<HostRolloutSnapshot> = {}): HostRolloutSnapshot => ({
  rolloutId: 'stable@r1',
  hostname: 'web-01',
  channel: 'stable',
  state: 'Soaking',
  targetClosure: 't',
  currentClosure: 't',
  dispatchedAt: t0,
  soakDueAt: at(300),
  lastEventSeq: 4,
  ...over,
});
const withPolicy = (s: AgentState = initialAgentState()): AgentState => ({ ...s, manifests: manifestSet() });
const activate = verifiedDispatch('stable@r1', 't', 'p');
const boot = (...snapshots: HostRolloutSnapshot[]) => ({ kind: 'BootstrapHosts', snapshots }) as const;

describe('agentStep: snapshots', () => {
  const cold = agentStep(withPolicy(), boot(snapshot()), at(10));

  it('cold: rebuilds the record and re-primes the probes', () => {
    expect(cold.state.hosts['stable@r1']).toMatchObject({ state: 'Soaking', lastEventSeq: 4, probes: {} });
    expect(kinds(cold.effects)).toEqual(['LocalResetProbeCache']);
  });
  it('a snapshot that repeats what we know changes nothing (no probe restart)', () => {
    const again = agentStep(cold.state, boot(snapshot()), at(20));
    expect(again.state).toBe(cold.state);
    expect(kinds(again.effects)).toEqual([]);
  });
  it('a snapshot behind the local record is ignored: the record never moves back', () => {
    const local = { ...cold.state, hosts: { 'stable@r1': { ...cold.state.hosts['stable@r1']!, state: 'Converged' as const, lastEventSeq: 6 } } };
    const r = agentStep(local, boot(snapshot({ lastEventSeq: 5 })), at(20));
    expect(r.state).toBe(local);
  });
  it('a snapshot ahead of us is merged, keeping agent-local fields; a state move re-primes probes', () => {
    const activating = { ...cold.state, hosts: { 'stable@r1': { ...cold.state.hosts['stable@r1']!, state: 'Activating' as const, lastEventSeq: 2, probeFailureFirstAt: at(5) } } };
    const r = agentStep(activating, boot(snapshot({ lastEventSeq: 3 })), at(20));
    expect(r.state.hosts['stable@r1']).toMatchObject({ state: 'Soaking', lastEventSeq: 3, probeFailureFirstAt: at(5) });
    expect(kinds(r.effects)).toEqual(['LocalResetProbeCache']);
  });
  it('raises the seq floor, never lowers it', () => {
    const r = agentStep({ ...withPolicy(), seqFloors: { 'stable@r1': 9 } }, boot(snapshot()), at(10));
    expect(r.state.seqFloors['stable@r1']).toBe(9);
  });
});

describe('agentStep: host events', () => {
  it('stamps Local events with max(record, floor) + 1', () => {
    const r = agentStep(withPolicy(initialAgentState({ 'stable@r1': 41 })), activate, at(1));
    expect(r.state.hosts['stable@r1']?.lastEventSeq).toBe(42);
    expect(r.effects.find((e) => e.kind === 'LocalEmitEvent')).toMatchObject({ payload: { kind: 'DispatchAck', seq: 42 } });
  });
  it('drops events for unknown rollouts other than LocalActivate', () => {
    const r = agentStep(withPolicy(), { kind: 'HostEvent', rolloutId: 'x@1', event: { kind: 'LocalProbeTopologyDeclared', probes: [], declaredAt: at(1), seq: 0 } }, at(1));
    expect(r.state.hosts).toEqual({});
  });
  it('holds a dispatch without a policy and applies it when manifests arrive', () => {
    const held = agentStep(initialAgentState(), activate, at(1));
    expect(held.state.held).toHaveLength(1);
    const r = agentStep(held.state, { kind: 'ManifestSetUpdated', manifests: manifestSet() }, at(2));
    expect(r.state.hosts['stable@r1']?.state).toBe('Activating');
    expect(r.state.held).toEqual([]);
  });
});

describe('agentStep: events before the first policy (after a restart)', () => {
  // A record restored from the store, before the first manifest poll.
  const restored = (): AgentState => {
    const { manifests: _dropped, ...base } = agentStep(withPolicy(), activate, at(1)).state;
    return base;
  };
  const completed = { kind: 'LocalActivationCompleted', observedCurrentClosure: 't', exitCode: 0, completedAt: at(3), seq: 0 } as const;

  it('holds an activation outcome and applies it, in order, when the policy arrives: a resumed switch is reported', () => {
    const started = agentStep(restored(), { kind: 'HostEvent', rolloutId: 'stable@r1', event: { kind: 'LocalActivationStarted', startedAt: at(2), switchMethod: 'switch-to-configuration', seq: 0 } }, at(2));
    const held = agentStep(started.state, { kind: 'HostEvent', rolloutId: 'stable@r1', event: completed }, at(3));
    expect(held.state.heldEvents.map((h) => h.event.kind)).toEqual(['LocalActivationStarted', 'LocalActivationCompleted']);
    expect(held.state.hosts['stable@r1']?.state).toBe('Activating');
    expect(held.effects).toEqual([expect.objectContaining({ kind: 'Log', level: 'info', message: 'rollout policy not cached yet; event held until the next manifest refresh' })]);
    const r = agentStep(held.state, { kind: 'ManifestSetUpdated', manifests: manifestSet() }, at(4));
    expect(r.state.heldEvents).toEqual([]);
    expect(r.state.hosts['stable@r1']).toMatchObject({ state: 'Soaking', lastEventSeq: 3 });
    expect(r.effects.filter((e) => e.kind === 'LocalEmitEvent').map((e) => (e.kind === 'LocalEmitEvent' ? `${e.payload.kind}#${e.payload.seq}` : ''))).toEqual(['ActivationStarted#2', 'ActivationCompleted#3']);
  });
  it('drops probe events at DEBUG: the probes are primed again when the policy arrives', () => {
    const r = agentStep(restored(), { kind: 'HostEvent', rolloutId: 'stable@r1', event: { kind: 'LocalProbeTopologyDeclared', probes: [], declaredAt: at(1), seq: 0 } }, at(2));
    expect(r.state.heldEvents).toEqual([]);
    expect(r.effects).toEqual([expect.objectContaining({ kind: 'Log', level: 'debug' })]);
  });
  it('keeps at most HELD_EVENT_CAPACITY, dropping the oldest with an ERROR', () => {
    let s = restored();
    for (let i = 0; i < HELD_EVENT_CAPACITY; i++) s = agentStep(s, { kind: 'HostEvent', rolloutId: 'stable@r1', event: completed }, at(3)).state;
    const r = agentStep(s, { kind: 'HostEvent', rolloutId: 'stable@r1', event: completed }, at(3));
    expect(r.state.heldEvents).toHaveLength(HELD_EVENT_CAPACITY);
    expect(r.effects).toContainEqual(expect.objectContaining({ kind: 'Log', level: 'error', message: 'held event dropped: too many events without a policy' }));
  });
});

describe('agentStep: resuming after a restart', () => {
  it('fires the switch again for an Activating record, the rollback for a Failed one that owes it', () => {
    const base = agentStep(withPolicy(), activate, at(1)).state;
    const activating = base.hosts['stable@r1']!;
    const failed = { ...activating, rolloutId: 'stable@r2', state: 'Failed' as const, policyApplied: 'rollback-and-halt' as const };
    const halted = { ...failed, rolloutId: 'stable@r3', policyApplied: 'halt' as const };
    const converged = { ...activating, rolloutId: 'stable@r4', state: 'Converged' as const };
    const intents = { 'stable@r1': activate.intent, 'stable@r2': activate.intent, 'stable@r3': activate.intent, 'stable@r4': activate.intent };
    const r = agentStep({ ...base, hosts: { 'stable@r1': activating, 'stable@r2': failed, 'stable@r3': halted, 'stable@r4': converged }, intents }, { kind: 'ResumeInterrupted' }, at(5));
    expect(r.effects.filter((e) => e.kind !== 'Log')).toEqual([
      { kind: 'LocalFireSwitch', rolloutId: 'stable@r1', target: 't', intent: activate.intent, resumed: true },
      { kind: 'LocalFireRollbackTo', rolloutId: 'stable@r2', closure: 'p', failedTarget: 't', proof: 'own-record' },
    ]);
  });
});

describe('agentStep: a resumed switch whose start was reported', () => {
  it('is marked started, so ActivationStarted is not reported twice', () => {
    const base = agentStep(withPolicy(), activate, at(1)).state;
    const started = { ...base.hosts['stable@r1']!, activationStartedAt: at(2), lastEventSeq: 2 };
    const r = agentStep({ ...base, hosts: { 'stable@r1': started } }, { kind: 'ResumeInterrupted' }, at(5));
    expect(r.effects.filter((e) => e.kind !== 'Log')).toEqual([{ kind: 'LocalFireSwitch', rolloutId: 'stable@r1', target: 't', intent: activate.intent, resumed: true, started: true }]);
  });
});

describe('agentStep: the manifest poll logs only a change at INFO', () => {
  it('the first set and a changed one at INFO, the same one again at DEBUG', () => {
    const levels = (effects: readonly AgentEffect[]) => effects.flatMap((e) => (e.kind === 'Log' ? [`${e.level}:${e.message}`] : []));
    const first = agentStep(initialAgentState(), { kind: 'ManifestSetUpdated', manifests: manifestSet() }, at(1));
    expect(levels(first.effects)).toEqual(['info:verified manifest set changed']);
    const same = agentStep(first.state, { kind: 'ManifestSetUpdated', manifests: manifestSet() }, at(31));
    expect(levels(same.effects)).toEqual(['debug:verified manifest set unchanged']);
    const changed = agentStep(same.state, { kind: 'ManifestSetUpdated', manifests: manifestSet('rollback-and-halt') }, at(61));
    expect(levels(changed.effects)).toEqual(['info:verified manifest set changed']);
  });
});
