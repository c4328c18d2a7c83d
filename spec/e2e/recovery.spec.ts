// End to end under trouble: the CP restarts mid-rollout, the agent is
// SIGKILLed mid-soak and restarted, the CP answers garbage for a while. Each
// time the CP must end with a contiguous event stream (no gaps, nothing
// counted twice, no seq reused) and the right final state.
import * as path from 'path';
import type { DemoFleet } from '../../src/demo/fleet';
import { E2E_TIMEOUT_MS, fleetOf, received, shape, waitState } from './support';

jest.setTimeout(E2E_TIMEOUT_MS);

describe('end to end, recovery', () => {
  let fleet: DemoFleet;
  afterEach(async () => fleet?.close());

  it('the CP restarts mid-soak (same state dir): the rollout still converges', async () => {
    fleet = await fleetOf(['web-01']);
    const agent = fleet.agent('web-01');
    agent.start();
    const target = agent.tree.closure('nixos-system-web-01-v2');
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': target }, policy: 'halt', soakMinutes: 0.3 });
    await waitState(fleet, rolloutId, 'web-01', 'Soaking');
    await fleet.restartCp();
    expect(fleet.cp.record(rolloutId, 'web-01')?.state).toBe('Soaking');
    await waitState(fleet, rolloutId, 'web-01', 'Converged');
    expect(shape(received(fleet, rolloutId, 'web-01'))).toEqual(['DispatchAck', 'ActivationStarted', 'ActivationCompleted', 'ProbeTopologyDeclared', 'ProbeObservedFirst', 'ProbeResult', 'Converged']);
  });

  it('the CP restarts with an empty database: heartbeat recovery rebuilds the record', async () => {
    fleet = await fleetOf(['web-01']);
    const agent = fleet.agent('web-01');
    agent.start();
    const target = agent.tree.closure('nixos-system-web-01-v2');
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': target }, policy: 'halt', soakMinutes: 0.2 });
    await waitState(fleet, rolloutId, 'web-01', 'Soaking');
    await fleet.restartCp({ emptyDatabase: true });
    await waitState(fleet, rolloutId, 'web-01', 'Converged');
    expect(fleet.cp.record(rolloutId, 'web-01')).toMatchObject({ state: 'Converged', currentClosure: target });
  });

  it('the agent is SIGKILLed mid-soak and restarted: it resumes and converges, no seq reused', async () => {
    fleet = await fleetOf(['web-01']);
    const agent = fleet.agent('web-01');
    agent.start();
    const target = agent.tree.closure('nixos-system-web-01-v2');
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': target }, policy: 'halt', soakMinutes: 0.35 });
    await waitState(fleet, rolloutId, 'web-01', 'Soaking');
    await fleet.waitFor('a probe result', () => (fleet.cp.record(rolloutId, 'web-01')?.probes['system-health'] !== undefined ? true : undefined));
    expect(await agent.stop('SIGKILL')).toBe(-1);
    agent.start();
    await waitState(fleet, rolloutId, 'web-01', 'Converged');
    const kinds = received(fleet, rolloutId, 'web-01'); // throws on a gap or a seq counted twice
    expect(kinds[kinds.length - 1]).toMatch(/^Converged#/);
    expect(fleet.cp.events(rolloutId).filter((e) => e.outcome === 'rejected')).toEqual([]);
    expect(agent.lines.some((l) => l.message === 'agent running' && Number(l['restoredRollouts']) === 1)).toBe(true);
    expect(path.basename(agent.tree.current() ?? '')).toBe(target);
  });

  it('the CP answers garbage for a while: nothing crashes, and the rollout completes once it recovers', async () => {
    fleet = await fleetOf(['web-01']);
    const agent = fleet.agent('web-01');
    const garbage = [
      { status: 200, headers: { 'content-type': 'application/json' }, body: '{"hostname": 42, "rollout_id": [' },
      { status: 200, headers: { 'content-type': 'application/json' }, body: 'null null' },
      { status: 418, headers: {}, body: '\u0000\u0001binary' },
      { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hostname: 'web-01', rollout_id: 'x', target_closure: '../../etc', soak_due_at: 'yesterday', enqueued_at: 1 }) },
    ];
    let n = 0;
    fleet.cp.setInterceptor((req) => (req.path.startsWith('/v1/') && req.path !== '/v1/enroll' ? garbage[n++ % garbage.length] : undefined));
    agent.start();
    const target = agent.tree.closure('nixos-system-web-01-v2');
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': target }, policy: 'halt', soakMinutes: 0.1 });
    await fleet.waitFor('garbage answered', () => (n > 30 ? true : undefined));
    expect(agent.child?.exitCode).toBeNull();
    fleet.cp.setInterceptor(undefined);
    await waitState(fleet, rolloutId, 'web-01', 'Converged', 90_000);
    expect(shape(received(fleet, rolloutId, 'web-01'))[0]).toBe('DispatchAck');
    expect(agent.lines.some((l) => l.level === 'warn')).toBe(true);
  });
});
