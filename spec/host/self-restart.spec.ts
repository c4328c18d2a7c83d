// The switch restarts the agent itself: the new generation changes the
// agent's own unit, so switch-to-configuration (running in the detached
// nixfleet-switch unit) restarts nixfleet-agent.service mid-activation and
// keeps running a little longer, lock held. The restarted agent must find the
// switch still running, wait for it, and report what it produced — no false
// failure, no event twice.
import { AGENT, HostBed } from './bed/host';

describe('a switch that restarts the agent', () => {
  let bed: HostBed;
  let rollout: string;
  let firstPid: number;
  beforeAll(async () => {
    bed = await HostBed.start();
    await bed.waitFor('the agent to be active', () => (bed.unit(AGENT).ActiveState === 'active' ? true : undefined));
    firstPid = bed.unit(AGENT).MainPID;
    rollout = bed.release('gen2-agent');
    await bed.waitState(rollout, 'Converged', 180_000);
  });
  afterAll(async () => {
    await bed?.destroy();
  });

  it('was restarted by the switch, into the new unit', () => {
    const unit = bed.unit(AGENT);
    expect(unit.ActiveState).toBe('active');
    expect(unit.MainPID).not.toBe(firstPid);
    expect(bed.c.run(['systemctl', 'show', '--property=Environment', AGENT])).toContain('NIXFLEET_TAGS=gen2');
    const sw = bed.switchLog('nixfleet-switch.service');
    expect(sw).toContain('stopping nixfleet-agent.service');
    expect(sw).toContain(`switched to ${bed.systems.closures['gen2-agent']}`);
    expect(bed.agentLines().filter((l) => /agent running/.test(l.message))).toHaveLength(2);
  });

  it('reported the activation it survived as completed, once, with no failure', () => {
    const kinds = bed.received(rollout).map((k) => k.split('#')[0]);
    expect(kinds.filter((k) => k === 'ActivationStarted')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'ActivationCompleted')).toHaveLength(1);
    expect(kinds).not.toContain('ActivationFailed');
    expect(kinds).not.toContain('Failed');
    expect(kinds[kinds.length - 1]).toBe('Converged');
    expect(bed.agentLines().filter((l) => l.priority <= 3)).toEqual([]);
    // The restarted agent resumed the switch it had fired instead of firing it again.
    const target = bed.systems.closures['gen2-agent'];
    expect(bed.switchLog('nixfleet-switch.service').filter((m) => m === `switch-to-configuration switch ${target}`)).toHaveLength(1);
    expect(bed.agentLines().some((l) => /resumed switch had already finished|a switch is still running after the restart/.test(l.message))).toBe(true);
  });

  it('left the host on the new generation', () => {
    const target = bed.systems.closures['gen2-agent'];
    expect(bed.profile()).toEqual({ generation: 2, closure: target });
    expect(bed.currentSystem()).toBe(target);
    expect(bed.agentLines().filter((l) => /enrolled/.test(l.message))).toHaveLength(1);
  });
});
