// nix-darwin hosts end to end: the built daemon as a process on a darwin host
// tree (no systemd tools; closures with `activate` and `activate-user`, the
// darwin activation backend named in its environment as macOS would pick
// it), against the development CP over real mTLS. The CP must see exactly
// the events it sees from a NixOS host (spec/e2e/rollouts.spec.ts).
import * as fs from 'fs';
import * as path from 'path';
import type { DemoFleet } from '../../src/demo/fleet';
import { E2E_TIMEOUT_MS, explained, fleetOf, received, shape, waitState } from './support';

jest.setTimeout(E2E_TIMEOUT_MS);

const callsOf = (fleet: DemoFleet, host: string): string[] => fs.readFileSync(path.join(fleet.agent(host).tree.root, 'calls.log'), 'utf8').split('\n').filter((l) => l !== '');
const activateLog = (fleet: DemoFleet, host: string): string => fs.readFileSync(path.join(fleet.agent(host).tree.root, 'var/log/nixfleet-activate.log'), 'utf8');

describe('end to end, nix-darwin hosts', () => {
  let fleet: DemoFleet;
  afterEach(async () => fleet?.close());

  it('a mixed fleet converges: the darwin host reports the NixOS host’s events, through activate instead of systemd', async () => {
    fleet = await fleetOf(['web-01', 'mac-01'], { darwinHosts: ['mac-01'] });
    fleet.startAgents();
    const closures = { 'web-01': fleet.agent('web-01').tree.closure('nixos-system-web-01-v2'), 'mac-01': fleet.agent('mac-01').tree.closure('darwin-system-mac-01-v2') };
    const { rolloutId } = fleet.cp.release({ closures, policy: 'halt', soakMinutes: 0.15 });
    await explained(waitState(fleet, rolloutId, 'mac-01', 'Converged', 90_000), fleet, rolloutId, 'mac-01');
    await explained(waitState(fleet, rolloutId, 'web-01', 'Converged', 90_000), fleet, rolloutId, 'web-01');
    const happy = ['DispatchAck', 'ActivationStarted', 'ActivationCompleted', 'ProbeTopologyDeclared', 'ProbeObservedFirst', 'ProbeResult', 'Converged'];
    expect(shape(received(fleet, rolloutId, 'mac-01'))).toEqual(happy);
    expect(shape(received(fleet, rolloutId, 'web-01'))).toEqual(happy);
    expect(fleet.cp.record(rolloutId, 'mac-01')).toMatchObject({ state: 'Converged', currentClosure: closures['mac-01'], currentClosureAtDispatch: fleet.good.get('mac-01') });
    expect(fleet.agent('mac-01').tree.current()).toBe(closures['mac-01']);

    const mac = callsOf(fleet, 'mac-01');
    expect(mac.some((c) => c.startsWith('systemd-run') || c.startsWith('systemctl') || c.startsWith('switch-to-configuration'))).toBe(false);
    expect(mac).toContain(`activate ${fleet.agent('mac-01').tree.store}/${closures['mac-01']}`);
    expect(mac).toContain(`activate-user ${fleet.agent('mac-01').tree.store}/${closures['mac-01']}`);
    expect(activateLog(fleet, 'mac-01')).toContain(`stand-in activate: activating ${fleet.agent('mac-01').tree.store}/${closures['mac-01']}`);
    expect(callsOf(fleet, 'web-01').some((c) => c.startsWith('systemd-run'))).toBe(true);
  });

  it('probe failure under rollback-and-halt: Failed, rollback through the last-good closure’s activate, Reverted', async () => {
    fleet = await fleetOf(['mac-01'], { darwinHosts: ['mac-01'] });
    const agent = fleet.agent('mac-01');
    agent.start();
    const bad = agent.tree.closure('darwin-system-mac-01-broken', 'broken');
    const { rolloutId } = fleet.cp.release({ closures: { 'mac-01': bad }, policy: 'rollback-and-halt', soakMinutes: 5 });
    await explained(waitState(fleet, rolloutId, 'mac-01', 'Reverted', 90_000), fleet, rolloutId, 'mac-01');
    expect(shape(received(fleet, rolloutId, 'mac-01'))).toEqual([
      'DispatchAck', 'ActivationStarted', 'ActivationCompleted', 'ProbeTopologyDeclared', 'ProbeObservedFirst', 'ProbeFailureFirst', 'ProbeResult', 'Failed', 'RollbackComplete',
    ]);
    const good = fleet.good.get('mac-01') ?? '';
    expect(fleet.cp.record(rolloutId, 'mac-01')).toMatchObject({ state: 'Reverted', revertedTo: good, policyApplied: 'rollback-and-halt' });
    expect(agent.tree.current()).toBe(good);
    expect(callsOf(fleet, 'mac-01').filter((c) => c.startsWith('activate '))).toEqual([`activate ${agent.tree.store}/${bad}`, `activate ${agent.tree.store}/${good}`]);
  });
});
