// Whole rollouts with the built daemon as a process against the development
// CP over real mTLS: the event sequence the CP received (kinds, seqs, no
// gaps, nothing counted twice) and the CP mirror's final state.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { DemoFleet } from '../../src/demo/fleet';
import { AGENT_BIN } from '../../src/demo/fleet';
import { E2E_TIMEOUT_MS, eventually, fleetOf, get, received, shape, transitionLine, waitState } from './support';

jest.setTimeout(E2E_TIMEOUT_MS);

describe('end to end', () => {
  let fleet: DemoFleet;
  afterEach(async () => fleet?.close());

  it('happy path: dispatch → activation → probes → soak → Converged; metrics and status show it', async () => {
    fleet = await fleetOf(['web-01'], { agentArgs: ['--metrics-listen', '127.0.0.1:0'] });
    const agent = fleet.agent('web-01');
    agent.start();
    const target = agent.tree.closure('nixos-system-web-01-v2');
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': target }, policy: 'halt', soakMinutes: 0.15 });
    const url = await fleet.waitFor('metrics url', () => agent.lines.find((l) => l.message === 'metrics endpoint listening')?.['url'] as string | undefined);
    await waitState(fleet, rolloutId, 'web-01', 'Soaking');
    expect((await get(url)).body).toContain(`nixfleet_agent_rollout_state{rollout_id="${rolloutId}",state="Soaking"} 1`);
    await waitState(fleet, rolloutId, 'web-01', 'Converged');
    await fleet.waitFor('agent-side Converged', () => (agent.lines.some(transitionLine('Converged', 'Soaking')) ? true : undefined));
    // The pipeline may still be in its verify poll when the CP, seeing the new
    // closure in a heartbeat, already synthesised the completion.
    const metrics = await eventually('the activation duration', async () => {
      const body = (await get(url)).body;
      return /nixfleet_agent_activation_duration_seconds_count\{outcome="completed"\} 1/.test(body) ? body : undefined;
    });
    expect(metrics).toContain(`nixfleet_agent_rollout_state{rollout_id="${rolloutId}",state="Converged"} 1`);
    expect(metrics).toContain(`nixfleet_agent_current_closure_info{closure="${target}"} 1`);
    // The daemon's own registry carries the build and the process defaults too.
    expect(metrics).toMatch(/^nixfleet_agent_build_info\{version="\d+\.\d+\.\d+[^"]*"\} 1$/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+$/m);

    expect(shape(received(fleet, rolloutId, 'web-01'))).toEqual(['DispatchAck', 'ActivationStarted', 'ActivationCompleted', 'ProbeTopologyDeclared', 'ProbeObservedFirst', 'ProbeResult', 'Converged']);
    expect(fleet.cp.record(rolloutId, 'web-01')).toMatchObject({ state: 'Converged', currentClosure: target, currentClosureAtDispatch: fleet.good.get('web-01') });
    expect(agent.tree.current()).toBe(target);

    expect(await agent.stop('SIGTERM')).toBe(0);
    const status = spawnSync(process.execPath, [AGENT_BIN, 'status', '--state-dir', agent.stateDir], { encoding: 'utf8' });
    expect(status.stdout).toContain(`Last confirmed closure: ${target}`);
    expect(status.stdout).toContain(`${rolloutId}  Converged (done)`);
    expect(status.stdout).toContain('Outbound queue:         0 event(s) waiting, 0 dead letter(s)');
  });

  it('probe failure under rollback-and-halt: Failed after the sustained threshold, rollback, Reverted', async () => {
    fleet = await fleetOf(['web-01']);
    const agent = fleet.agent('web-01');
    agent.start();
    const bad = agent.tree.closure('nixos-system-web-01-broken', 'broken');
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': bad }, policy: 'rollback-and-halt', soakMinutes: 5 });
    await waitState(fleet, rolloutId, 'web-01', 'Reverted');
    expect(shape(received(fleet, rolloutId, 'web-01'))).toEqual([
      'DispatchAck', 'ActivationStarted', 'ActivationCompleted', 'ProbeTopologyDeclared', 'ProbeObservedFirst', 'ProbeFailureFirst', 'ProbeResult', 'Failed', 'RollbackComplete',
    ]);
    expect(fleet.cp.record(rolloutId, 'web-01')).toMatchObject({ state: 'Reverted', revertedTo: fleet.good.get('web-01'), policyApplied: 'rollback-and-halt' });
    expect(agent.tree.current()).toBe(fleet.good.get('web-01'));
  });

  it('activation failure under halt: Failed, no rollback, the host keeps its closure', async () => {
    fleet = await fleetOf(['web-01']);
    const agent = fleet.agent('web-01');
    // systemd-run refuses the transient unit: SwitchFailed at phase systemd-run-fire.
    fs.writeFileSync(path.join(agent.tree.root, 'behaviour/systemd-run-fail'), '');
    agent.start();
    const target = agent.tree.closure('nixos-system-web-01-v2');
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': target }, policy: 'halt', soakMinutes: 0.1 });
    await waitState(fleet, rolloutId, 'web-01', 'Failed');
    expect(shape(received(fleet, rolloutId, 'web-01'))).toEqual(['DispatchAck', 'ActivationStarted', 'ActivationFailed']);
    expect(fleet.cp.record(rolloutId, 'web-01')).toMatchObject({ state: 'Failed', policyApplied: 'halt' });
    expect(agent.tree.current()).toBe(fleet.good.get('web-01'));
  });
});
