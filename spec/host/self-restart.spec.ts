// The switch restarts the agent itself: the new generation changes the
// agent's own unit, so switch-to-configuration (running in the detached
// nixfleet-switch unit) stops nixfleet-agent.service before it activates and
// starts it after, lock held a while longer. The CP is down across the
// restart, so nothing but the agent's own record can tell it what happened:
// the stopping agent must not hold up the switch, and the restarted one must
// resume the record — report the switch's result, not fire it again, no
// false failure, every event once when the CP is back.
import { AGENT, HostBed } from './bed/host';

describe('a switch that restarts the agent', () => {
  let bed: HostBed;
  let rollout: string;
  let firstPid: number;
  let stopTookMs: number;
  beforeAll(async () => {
    bed = await HostBed.running();
    firstPid = bed.unit(AGENT).MainPID;
    rollout = bed.release('gen2-agent');
    await bed.waitFor('the activation to start', () => (bed.cpEvents(rollout).some((e) => e.event.kind === 'ActivationStarted') ? true : undefined));
    bed.stopCp();
    await bed.waitFor('the switch to restart the agent', () => {
      const u = bed.unit(AGENT);
      return u.ActiveState === 'active' && u.MainPID !== firstPid ? true : undefined;
    });
    const log = bed.switchLog('nixfleet-switch.service');
    stopTookMs = Number(/took (\d+) ms/.exec(log.find((l) => l.startsWith('stopped nixfleet-agent.service')) ?? '')?.[1] ?? NaN);
    await bed.waitFor('the switch to finish', () => (bed.switchLog('nixfleet-switch.service').some((l) => l.startsWith('switched to')) ? true : undefined));
    await bed.startCp();
    await bed.waitState(rollout, 'Converged', 180_000);
  });
  afterAll(async () => {
    await bed?.destroy();
  });

  it('did not hold up the switch while stopping, and came back in the new unit', () => {
    expect(stopTookMs).toBeLessThan(10_000); // the agent used to wait 25 s for the switch that was stopping it
    expect(bed.agentLines().some((l) => /the switch goes on in its own unit/.test(l.message))).toBe(true);
    expect(bed.c.run(['systemctl', 'show', '--property=Environment', AGENT])).toContain('NIXFLEET_TAGS=gen2');
    expect(bed.agentLines().filter((l) => /agent running/.test(l.message))).toHaveLength(2);
    expect(bed.agentLines().filter((l) => /enrolled/.test(l.message))).toHaveLength(1);
  });

  it('resumed the switch it had fired: reported once, never fired again, no failure', () => {
    const target = bed.systems.closures['gen2-agent'];
    expect(bed.switchLog('nixfleet-switch.service').filter((m) => m === `switch-to-configuration switch ${target}`)).toHaveLength(1);
    expect(bed.agentLines().some((l) => /resumed switch had already finished|a switch is still running after the restart/.test(l.message))).toBe(true);
    const kinds = bed.received(rollout).map((k) => k.split('#')[0]);
    expect(kinds.filter((k) => k === 'ActivationStarted')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'ActivationCompleted')).toHaveLength(1);
    expect(kinds).not.toContain('ActivationFailed');
    expect(kinds).not.toContain('Failed');
    expect(kinds[kinds.length - 1]).toBe('Converged');
    // The agent's own report reached the CP (applied, or a duplicate of what
    // the CP synthesized from a heartbeat that got there first).
    expect(bed.cpEvents(rollout).some((e) => e.event.kind === 'ActivationCompleted' && (e.outcome === 'applied' || e.outcome === 'duplicate'))).toBe(true);
  });

  it('left the host on the new generation', () => {
    const target = bed.systems.closures['gen2-agent'];
    expect(bed.profile()).toEqual({ generation: 2, closure: target });
    expect(bed.currentSystem()).toBe(target);
  });
});
