// A rollout that converges on a real host: the closure is substituted from
// the signed binary cache by the host's nix-daemon (require-sigs), the
// profile gains a real generation, the switch runs in the detached
// `nixfleet-switch` unit, and the probe checks a real service through the soak.
import { AGENT, HostBed } from './bed/host';

const nixJson = (bed: HostBed, args: string[]): unknown => JSON.parse(bed.c.run(['nix', '--extra-experimental-features', 'nix-command', ...args]));

describe('converge on a real host', () => {
  let bed: HostBed;
  let rollout: string;
  beforeAll(async () => {
    bed = await HostBed.running();
    rollout = bed.release('gen2');
    await bed.waitState(rollout, 'Converged');
  });
  afterAll(async () => {
    await bed?.destroy();
  });

  it('reports every transition to the CP once, seqs contiguous', () => {
    const kinds = bed.received(rollout).map((k) => k.split('#')[0]);
    expect(kinds.slice(0, 3)).toEqual(['DispatchAck', 'ActivationStarted', 'ActivationCompleted']);
    expect(kinds).toContain('ProbeResult');
    expect(kinds[kinds.length - 1]).toBe('Converged');
  });

  it('substituted the closure from the signed cache and made it generation 2 and the running system', () => {
    const gen2 = bed.systems.closures.gen2;
    const [info] = nixJson(bed, ['path-info', '--json', gen2]) as { signatures?: string[] }[];
    expect(info?.signatures?.some((s) => s.startsWith('nixfleet-bed-1:'))).toBe(true);
    expect(bed.profile()).toEqual({ generation: 2, closure: gen2 });
    expect(bed.currentSystem()).toBe(gen2);
  });

  it('ran the switch in the nixfleet-switch transient unit, and the probed service is up', () => {
    const sw = bed.switchLog('nixfleet-switch.service');
    expect(sw).toContain(`switched to ${bed.systems.closures.gen2}`);
    expect(bed.unit('bed-web.service').ActiveState).toBe('active');
    expect(bed.unit(AGENT)).toMatchObject({ ActiveState: 'active', NRestarts: 0, StatusText: 'running' });
  });

  it('logs to journald at the right priorities, without colours or its own timestamps', () => {
    const lines = bed.agentLines();
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.filter((l) => l.priority < 5)).toEqual([]); // an ordinary start and rollout: no WARN, no ERROR
    expect(lines.some((l) => l.priority === 6 && /rollout state changed/.test(l.message))).toBe(true);
    for (const l of lines) {
      expect(l.message.includes('\u001b[')).toBe(false);
      expect(l.message).not.toMatch(/^\d{4}-\d\d-\d\dT/);
    }
  });
});
